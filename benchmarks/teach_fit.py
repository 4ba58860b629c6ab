"""How a taught concept is fitted, compared on stored vectors (no search in the loop, so many variants run in
seconds): R-precision of a concept's other photos with 1, 3 and 5 examples, per kind of concept.

    flock /tmp/pixseek-bench.lock python benchmarks/teach_fit.py [--skip 30] [--methods "production;l2=10,vis=none"]

The collection is the one benchmarks/teach.py builds (benchmarks/cache/teach-db: faces/, MiniPlaces val, Tiny
ImageNet val). Tune with `--skip 30` (people, scenes and classes 31-60) and report on the first 30 (the default):
MiniPlaces train and Tiny ImageNet train cannot serve as dev sets, the shipped joint space was trained on all
of both (docs/model-card-joint.md). Two protocols:
- `issue`: the protocol the issue measured its floor with: 30 concepts x 10 photos of one kind, the collection
  is those 300 photos, precision of the other photos (R-precision);
- `full`: every concept among all the collection's photos (R = its other photos), as benchmarks/teach.py.
A method is `production` (learn/taught.py as shipped) or knobs of variant().
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from common import CACHE  # noqa: E402

from pixseek import Collection  # noqa: E402
from pixseek.learn import taught as learning  # noqa: E402
from pixseek.learn.taught import Space, feature_mask  # noqa: E402
from pixseek.store.taught import Example  # noqa: E402


class Rows:
    """A store over in-memory rows, addressed by the collection's ids."""

    def __init__(self, ids: np.ndarray, rows: np.ndarray) -> None:
        self.pos = {int(i): j for j, i in enumerate(ids)}
        self.rows = rows
        self.dim = rows.shape[1]

    def get(self, ids: np.ndarray) -> np.ndarray:
        return self.rows[[self.pos[int(i)] for i in np.asarray(ids).ravel()]]


def load(db: Path):
    col = Collection.open(db)
    searcher = col._require_photos()
    live = np.asarray(col._stores.shape.live, np.int64)
    paths = col.catalog.paths_of([int(i) for i in live])
    ids = np.array(sorted(paths), np.int64)
    visual = searcher.visual.get(ids).astype(np.float32)
    joint = searcher.context.joint_store.get(ids).astype(np.float32)
    dim, _ = col.layout.dims()
    labels = []
    for i in ids:
        parts = Path(paths[int(i)]).parts
        kind = "face" if "faces" in parts else "scene" if "miniplaces" in parts else "tiny"
        labels.append(f"{kind}:{parts[-1] if kind == 'face' else parts[-2]}")
    return col, ids, visual, joint, dim, labels, searcher


def production(ids, visual, joint, dim, searcher, pos_idx, neg_idx=()):
    """Scores of every photo by the shipped fit (learn/taught.py fit_concept)."""
    spaces = {"visual": Space(Rows(ids, visual), lambda v: v, feature_mask(visual.shape[1], dim)),
              "joint": Space(Rows(ids, joint), searcher.context.joint.map_images)}
    ex = [Example("x", visual[i], True, int(ids[i])) for i in pos_idx] + \
         [Example("x", visual[i], False, int(ids[i])) for i in neg_idx]
    concept = learning.fit_concept("c", ex, spaces, ids)
    return concept.scores({"visual": visual, "joint": joint})


def variant(spec: str):
    """A fit by learn/teach.py's pieces with knobs: l2=<shrinkage relative to the background's variance>,
    vis=feat|full|none, joint=0|1, qe=<pseudo-positives from the first ranking>, qw=<their weight>, vw=<the
    visual head's weight in the mean>, sel=<keep heads whose left-out examples stand out at least sel x the
    best's>, dv=0 (one example: joint head only), cat=<one head over visual features and joint x cat>."""
    from pixseek.learn.teach import Background, _spread, background_ids, fit
    opts = dict(kv.split("=") for kv in spec.split(",") if "=" in kv)
    rel = None if opts.get("l2") == "lw" else float(opts.get("l2", "1"))
    vis, use_joint = opts.get("vis", "feat"), opts.get("joint", "1") == "1"
    qe, qw = int(opts.get("qe", "0")), float(opts.get("qw", "0.5"))
    vw = float(opts.get("vw", "1"))
    sel = float(opts.get("sel", "0"))  # keep the heads whose left-out examples score at least sel x the best's
    default_vis = opts.get("dv", "1") == "1"  # without left-out examples (one example): the visual head too
    cache: dict = {}

    def run(ids, visual, joint, dim, searcher, pos_idx):
        spaces = {}
        if vis != "none":
            spaces["visual"] = visual[:, :dim] if vis == "feat" else visual
        if use_joint:
            spaces["joint"] = joint
        if "cat" in opts:  # one head over both: the visual features beside the joint vector times cat
            spaces = {"both": np.hstack([visual[:, :dim], float(opts["cat"]) * joint])}
        bgi = background_ids(np.arange(len(ids)), set(), 2000)  # the same sample for every concept (fast)
        total = np.zeros(len(ids))
        heads, probs, quality = {}, {}, {}
        for key, x in spaces.items():
            rows = x[bgi]
            split = len(rows) >= 2000
            whiten = rows[0::2] if split else rows
            memo = (key, len(ids), int(ids[0]), int(ids[-1]))
            if memo not in cache:
                cache[memo] = Background(whiten, rel)  # l2 relative to the background's variance per dimension
            bg = cache[memo]
            heads[key] = (x, bg, rows[1::2] if split else None)
            f = fit(x[pos_idx], np.zeros((0, x.shape[1]), np.float32), bg, heads[key][2])
            probs[key] = f.scores(x)
            calib = heads[key][2] if heads[key][2] is not None else bg.rows
            loo = []
            for i in range(len(pos_idx)):
                rest = np.delete(x[pos_idx], i, 0)
                if not len(rest):
                    break
                wi = bg.solve(rest.mean(0) - bg.mean)
                mi, si = _spread(calib @ wi)
                loo.append((float(x[pos_idx[i]] @ wi) - mi) / si)
            quality[key] = float(np.median(loo)) if loo else None
        if sel and all(q is not None for q in quality.values()) and len(quality) > 1:
            best = max(quality.values())
            keep = [k for k, q in quality.items() if q >= sel * best]
        else:
            keep = [k for k in probs if k != "visual" or default_vis]
        for key in keep:
            total += probs[key] * (vw if key == "visual" else 1.0)
        if qe:
            order = [i for i in np.argsort(-total) if i not in set(pos_idx)][:qe]
            total = np.zeros(len(ids))
            for key, (x, bg, held) in heads.items():
                if key not in keep:
                    continue
                pos = np.vstack([x[pos_idx], x[order]])
                wts = np.r_[np.ones(len(pos_idx)), np.full(len(order), qw)]
                f = fit(pos * 0 + (wts[:, None] * pos).sum(0) / wts.sum(), np.zeros((0, x.shape[1]), np.float32), bg, held)
                total += f.scores(x) * (vw if key == "visual" else 1.0)
        return total
    return run


METHODS = {"production": production}


def face_labels(col: Collection) -> dict[str, str]:
    from common import DATA
    return dict(line.split("\t") for line in (DATA / "faces" / "labels.tsv").read_text().splitlines()[1:] if line)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default=str(CACHE / "teach-db"))
    ap.add_argument("--methods", default="production", help="; between methods")
    ap.add_argument("--protocol", default="issue,full")
    ap.add_argument("--concepts", type=int, default=30)
    ap.add_argument("--skip", type=int, default=0, help="leave out the first SKIP concepts of each kind (dev people)")
    ap.add_argument("--examples", default="3")
    ap.add_argument("--kinds", default="face,scene,tiny")
    args = ap.parse_args()
    col, ids, visual, joint, dim, labels, searcher = load(Path(args.db))
    people = face_labels(col)
    labels = [f"face:{people[x[5:]]}" if x.startswith("face:") else x for x in labels]
    groups = defaultdict(list)
    for j, lab in enumerate(labels):
        groups[lab].append(j)
    kinds = defaultdict(list)
    for key in groups:
        kinds[key.split(":")[0]].append(key)
    print(f"{len(ids)} photos: " + ", ".join(f"{k} {len(v)} concepts" for k, v in kinds.items()), flush=True)
    for protocol in args.protocol.split(","):
        for n in [int(x) for x in args.examples.split(",")]:
            for kind, keys in kinds.items():
                if kind not in args.kinds.split(","):
                    continue
                chosen = keys[args.skip:args.skip + args.concepts]
                for method in args.methods.split(";"):
                    rng = np.random.default_rng(0)
                    fn = METHODS.get(method) or variant(method)
                    if protocol == "issue":
                        members = {k: list(rng.choice(groups[k], min(10, len(groups[k])), replace=False)) for k in chosen}
                        pool = np.array(sorted(j for m in members.values() for j in m))
                    else:
                        members = {k: groups[k] for k in chosen}
                        pool = np.arange(len(ids))
                    t0, precision = time.perf_counter(), []
                    for k in chosen:
                        photos = members[k]
                        ex = [photos[i] for i in rng.choice(len(photos), n, replace=False)]
                        local = {j: p for p, j in enumerate(pool)}
                        s = fn(ids[pool], visual[pool], joint[pool], dim, searcher, [local[j] for j in ex])
                        order = [pool[i] for i in np.argsort(-s, kind="stable") if pool[i] not in ex]
                        others = set(photos) - set(ex)
                        precision.append(np.mean([j in others for j in order[:len(others)]]))
                    print(f"{protocol:5s} {n} ex  {kind:5s} {method:24s} precision {np.mean(precision):.3f}"
                          f"  ({len(chosen)} concepts, {time.perf_counter() - t0:.1f} s)", flush=True)


if __name__ == "__main__":
    main()
