"""Calibrating where confident matches end (search/cutoff.py) on dev/train data only, through the real Searcher.

    python benchmarks/relevance.py [--seen 50]

One in-memory collection of dev/train photos: the Flickr8k dev split (first caption of each photo as a
query, its own photo the true match), Tiny ImageNet train (the first name of each class as a query, that
class's photos the true matches) and MiniPlaces train (scene names the same way). For each bridge every
query ranks the set; within its first `--seen` results a hit is confident when it reaches the bridge's
floor and a share (`rel`) of the query's best score. Every (floor, rel) of a grid is judged by how many
true matches it flags weak and how many other photos it calls confident (F1 of "confident" against "true
match"), and by how often a query nothing fits says so (below); the best F1 among the rules that tell at
least `TOLD` of those queries is printed for each kind of query (keywords, sentences: search/cutoff.py query_kind),
beside the flat cut-off that used to drop results. "Nothing fits" is judged too: with a query's true
matches taken out of the ranking, is its best remaining photo below the floor, so the query says "no
confident match"? Image-to-image similarity (`similar`) is calibrated the same way on the Tiny ImageNet
photos, same class = true match.

    python benchmarks/relevance.py --labels --db DIR

Everyday labels on held-out photos instead: the 500 Flickr8k test photos (flickr8k-500, indexed into DIR
through the public API), each everyday thing of `EVERYDAY` their captions name at least 5 times a query,
the photos whose captions say it the true matches; mean average precision over the first 100 results with the default
settings and with `min_score=0`, and how many true matches the divider calls weak.

    python benchmarks/relevance.py --spelling

What spelling correction changes in benchmarks/text.py's caption figures: the captions a sure correction
changes (flickr8k-500, all five; the Flickr8k dev split, first caption), and caption -> photo recall@1/5/10
on those, searched as typed (`exact`) and corrected, per bridge.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from common import CACHE, DATA, TINY, require, tiny_names  # noqa: E402

from pixseek.config import DEFAULT_ENCODER, DEFAULT_WORDS  # noqa: E402
from pixseek.encoders.base import Embedding  # noqa: E402
from pixseek.encoders.imagenet import imagenet_wnids  # noqa: E402
from pixseek.encoders.registry import load_image_encoder  # noqa: E402
from pixseek.encoders.visual import visual_vectors  # noqa: E402
from pixseek.errors import PixseekError  # noqa: E402
from pixseek.learn.datasets import cached_features  # noqa: E402
from pixseek.learn.evaluate import array_searcher  # noqa: E402
from pixseek.search.cutoff import query_kind  # noqa: E402
from pixseek.search.request import SearchRequest  # noqa: E402


def photo_sets(per_class: int, captions: int):
    """(files, labels, queries): labels[i] is the set of query indices photo i truly matches."""
    files, owner, queries = [], [], []
    names = tiny_names()
    for wnid in sorted(names)[:200]:
        got = sorted((TINY / "train" / wnid).glob("*.JPEG"))[:per_class]
        if not got:
            continue
        queries.append(f'"{names[wnid]}"')
        files += [str(p) for p in got]
        owner += [len(queries) - 1] * len(got)
    n_tiny = len(files)
    places = require(DATA / "miniplaces" / "train")
    for folder in sorted(p for p in places.iterdir() if p.is_dir()):
        got = sorted(folder.glob("*.jpg"))[:per_class]
        queries.append(f'"{folder.name.replace("_", " ")}"')
        files += [str(p) for p in got]
        owner += [len(queries) - 1] * len(got)
    flickr = require(DATA / "flickr8k-train")
    dev = [ln.split("\t")[0] for ln in (flickr / "split.tsv").read_text().splitlines()[1:] if ln.endswith("\tdev")]
    first = {}
    for ln in (flickr / "captions.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        img, idx, cap = ln.split("\t", 2)
        if idx == "0":
            first[img] = cap
    for img in dev[:captions]:
        queries.append(first[img])
        files.append(str(flickr / "images" / img))
        owner.append(len(queries) - 1)
    return files, np.array(owner), queries, n_tiny


OLD_FLOORS = {"auto": 0.1609, "conse": 0.0236, "joint": 0.3346, "similar": 0.4344}  # the flat cut-off that dropped results
FLOOR_KEEPS = tuple(np.round(np.arange(0.3, 0.96, 0.05), 2))  # floors tried: the score keeping this share of true matches
RELS = (0.0, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9)  # shares of the best score tried
TOLD = 0.4  # a query nothing fits must say so at least this often: the floor sits above most best non-matches


def judge(top: list[np.ndarray], true: list[np.ndarray], best_false: np.ndarray, floor: float, rel: float) -> dict:
    """Figures of one rule over queries: `top[q]` its first scores (best first), `true[q]` which are true
    matches, `best_false[q]` its best score with its true matches taken out."""
    tw = fc = conf = tn = 0
    for sc, tr in zip(top, true):
        confident = (sc >= floor) & (sc >= rel * sc.max())
        tw += int((tr & ~confident).sum())
        fc += int((~tr & confident).sum())
        conf += int(confident.sum())
        tn += int(tr.sum())
    precision = (conf - fc) / conf if conf else 0.0
    recall = (tn - tw) / tn if tn else 0.0
    return {"floor": floor, "rel": rel, "true_weak": tw, "true": tn, "false_confident": fc, "confident": conf,
            "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
            "nothing_fits_told": float(np.mean(best_false < floor)), "queries": len(top)}


def best_rule(top, true, best_false) -> dict:
    """The (floor, rel) with the best F1 among those that tell at least TOLD of the queries nothing fits
    (the best F1 alone puts the keyword floors so low that almost no query ever hears "no confident
    match"); floors from the seen true matches' scores."""
    scores = np.concatenate([sc[tr] for sc, tr in zip(top, true)])
    rules = [judge(top, true, best_false, float(np.quantile(scores, 1 - keep)), rel)
             for keep in FLOOR_KEEPS for rel in RELS]
    return max(rules, key=lambda r: (r["nothing_fits_told"] >= TOLD, r["f1"]))


def line(name: str, r: dict) -> str:
    return (f"{name:24s} floor {r['floor']:.4f} rel {r['rel']:.2f}: true matches flagged weak {r['true_weak']} of "
            f"{r['true']} ({r['true_weak'] / max(1, r['true']):.3f}); false flagged confident {r['false_confident']} of "
            f"{r['confident']} confident ({r['false_confident'] / max(1, r['confident']):.3f}); F1 {r['f1']:.3f}; "
            f"nothing fits -> told {r['nothing_fits_told']:.3f} of {r['queries']} queries")


def report(name: str, top, true, best_false, kinds: dict[str, np.ndarray], old: float | None) -> None:
    """The best rule for each kind of query (search/cutoff.py query_kind), and the old floor alone beside it."""
    for kind, pick in kinds.items():
        sub = [top[i] for i in pick], [true[i] for i in pick], best_false[pick]
        print(line(f"{name} {kind}", best_rule(*sub)), flush=True)
        if old is not None:
            print(line(f"  {kind}, floor alone", judge(*sub, old, 0.0)), flush=True)


def why_weak(saved: str, bridge: str = "auto") -> None:
    """Why true keyword matches are flagged weak, from the scores `--save` kept: under the floor or only under
    the share of the best; the best rule when fewer (or no) nothing-fits queries must be told; and other
    references for the share (the 2nd best, the mean of the best 3)."""
    d = np.load(saved)
    pick = np.flatnonzero(d[f"{bridge}_kind"])
    top, true, best_false = [d[f"{bridge}_top"][i] for i in pick], [d[f"{bridge}_true"][i] for i in pick], \
        d[f"{bridge}_best_false"][pick]
    rule = best_rule(top, true, best_false)
    floor, rel = rule["floor"], rule["rel"]
    under = sum(int((t & (s < floor)).sum()) for s, t in zip(top, true))
    share = sum(int((t & (s >= floor) & (s < rel * s.max())).sum()) for s, t in zip(top, true))
    print(f"{bridge} keyword, floor {floor:.4f} rel {rel}: of {rule['true']} true matches seen, {under} under the floor, "
          f"{share} above it but under {rel} x the best")
    scores = np.concatenate([s[t] for s, t in zip(top, true)])
    rules = [judge(top, true, best_false, float(np.quantile(scores, 1 - keep)), r) for keep in FLOOR_KEEPS for r in RELS]
    for told in (0.0, 0.2, 0.3):
        print(line(f"  told >= {told}", max(rules, key=lambda r: (r["nothing_fits_told"] >= told, r["f1"]))))
    for name, ref in (("2nd best", lambda s: np.sort(s)[-2]), ("mean of best 3", lambda s: np.sort(s)[-3:].mean())):
        for r in (0.75, 0.8):
            c = [(s >= floor) & (s >= r * ref(s)) for s in top]
            weak = sum(int((t & ~k).sum()) for t, k in zip(true, c))
            conf, false = sum(int(k.sum()) for k in c), sum(int((~t & k).sum()) for t, k in zip(true, c))
            print(f"  share {r} of the {name}: true weak {weak / rule['true']:.3f}, false confident {false / max(1, conf):.3f}")


EVERYDAY = """dog man woman boy girl child baby people crowd water grass snow beach ball bike bicycle car street road
field rock mountain sand ocean pool river tree building wall bench horse hat jacket shirt frisbee stick
camera table chair fence skateboard""".split()  # everyday things (COCO-like labels), as caption words


def label_map(db: str, k: int = 100) -> None:
    """Everyday-label mAP@k on flickr8k-500 with the defaults and with min_score=0 (see the docstring)."""
    from pixseek import Collection

    folder = require(DATA / "flickr8k-500")
    words_of: dict[str, set[str]] = {}
    for ln in (folder / "captions.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        img, _, cap = ln.split("\t", 2)
        words_of.setdefault(str(folder / "images" / img), set()).update(
            w for w in cap.lower().replace(".", " ").replace(",", " ").split() if w.isalpha())
    col = Collection.open(db)
    col.index([folder / "images"], progress=False)
    labels = [w for w in EVERYDAY if sum(w in ws for ws in words_of.values()) >= 5]
    for name, options in (("defaults", {}), ("min_score=0", {"min_score": 0})):
        aps, weak_true, confident_false, confident, seen = [], 0, 0, 0, 0
        for w in labels:
            truth = {p for p, ws in words_of.items() if w in ws}
            hits = col.search(w, k=k, **options)
            rel = np.array([h.path in truth for h in hits], bool)
            precision = np.cumsum(rel) / np.arange(1, len(rel) + 1)
            aps.append(float((precision * rel).sum() / len(truth)))
            weak = np.array([h.weak for h in hits], bool)
            weak_true += int((rel & weak).sum())
            seen += int(rel.sum())
            confident_false += int((~rel & ~weak).sum())
            confident += int((~weak).sum())
        print(f"{name:12s} label mAP@{k} {np.mean(aps):.3f} over {len(labels)} labels on {len(words_of)} photos; "
              f"{seen} true matches in the results, {weak_true} of them flagged weak; false flagged "
              f"confident {confident_false} of {confident}", flush=True)
    print("labels: " + ", ".join(labels))


def spelling() -> None:
    """Caption -> photo recall on the captions a correction changes, as typed and corrected (see the docstring)."""
    from pixseek.learn.joint_data import read_captions

    def block(name: str, caps, first_only: bool) -> None:
        feats = cached_features(caps.files, load_image_encoder(DEFAULT_ENCODER), CACHE / "features")
        vis = visual_vectors(Embedding(feats.features, feats.probs))
        s = array_searcher(Path(tempfile.mkdtemp()), DEFAULT_ENCODER, DEFAULT_WORDS, imagenet_wnids(), vis, feats.probs)
        seen: set[int] = set()
        rows = [i for i, own in enumerate(caps.owner) if not (first_only and (int(own) in seen or seen.add(int(own))))]
        def corrected(text: str) -> bool:
            try:
                return s.resolve(text).corrected is not None
            except PixseekError:  # nothing to search for ("A"): refused as typed and corrected alike
                return False

        changed = [i for i in rows if corrected(caps.captions[i])]
        print(f"{name}: {len(changed)} of {len(rows)} captions corrected", flush=True)
        for b in ("conse", "joint", "auto"):
            found = {}
            for exact in (True, False):
                r = {1: 0, 5: 0, 10: 0}
                for i in changed:
                    try:
                        ids = [h.id for h in s.search(SearchRequest(caps.captions[i], 10, b, exact=exact)).hits]
                    except PixseekError:
                        ids = []
                    for k in r:
                        r[k] += int(caps.owner[i]) in ids[:k]
                found["as typed" if exact else "corrected"] = r
            print(f"  {b:6s} own photo in the top 1/5/10, of {len(changed)}: as typed {found['as typed']}, "
                  f"corrected {found['corrected']}", flush=True)

    block("flickr8k-500, all five", read_captions(require(DATA / "flickr8k-500") / "captions.tsv"), False)
    train = read_captions(DATA / "flickr8k-train" / "captions.tsv", split=DATA / "flickr8k-train" / "split.tsv")
    keep = train.dev[train.owner]
    dev = type(train)([f for f, d in zip(train.files, train.dev) if d], [c for c, k in zip(train.captions, keep) if k],
                      (np.cumsum(train.dev) - 1)[train.owner[keep]], np.ones(int(train.dev.sum()), bool))
    block("flickr8k dev (1,844), first", dev, True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seen", type=int, default=50, help="the results judged per query (the first page or two)")
    ap.add_argument("--per-class", type=int, default=5)
    ap.add_argument("--captions", type=int, default=600)
    ap.add_argument("--bridges", default="auto,conse,joint")
    ap.add_argument("--save", metavar="FILE.npz", help="also keep every query's judged scores, for study")
    ap.add_argument("--labels", action="store_true", help="everyday-label mAP on flickr8k-500 instead (needs --db)")
    ap.add_argument("--db", help="the collection --labels indexes flickr8k-500 into")
    ap.add_argument("--spelling", action="store_true", help="what spelling correction changes in caption recall")
    ap.add_argument("--why", metavar="FILE.npz", help="why true keyword matches are flagged weak (scores from --save)")
    args = ap.parse_args()
    if args.why:
        return why_weak(args.why)
    if args.spelling:
        return spelling()
    if args.labels:
        return label_map(args.db or str(CACHE / "flickr8k-500-db"))
    saved: dict[str, np.ndarray] = {}
    t0 = time.perf_counter()
    files, owner, queries, n_tiny = photo_sets(args.per_class, args.captions)
    enc = load_image_encoder(DEFAULT_ENCODER)
    feats = cached_features(files, enc, CACHE / "features")
    vis = visual_vectors(Embedding(feats.features, feats.probs))
    print(f"{len(files)} photos ({n_tiny} Tiny ImageNet train, {len(files) - n_tiny - args.captions} MiniPlaces train, "
          f"{args.captions} Flickr8k dev), {len(queries)} queries; features in {time.perf_counter() - t0:.0f}s", flush=True)
    with tempfile.TemporaryDirectory() as empty:
        s = array_searcher(Path(empty), DEFAULT_ENCODER, DEFAULT_WORDS, imagenet_wnids(), vis, feats.probs)
        for bridge in args.bridges.split(","):
            top, true, best_false, kind, refused = [], [], [], [], 0
            for qi, text in enumerate(queries):
                try:
                    hits = s.search(SearchRequest(text, args.seen + args.per_class, bridge)).hits
                except PixseekError:
                    refused += 1
                    continue
                ids = np.array([h.id for h in hits])
                sc = np.array([h.score for h in hits])
                tr = owner[ids] == qi
                top.append(sc[: args.seen])
                true.append(tr[: args.seen])
                best_false.append(sc[~tr][0])
                kind.append(query_kind(text) == "keyword")
            kind_arr = np.array(kind)
            saved.update({f"{bridge}_top": np.array(top), f"{bridge}_true": np.array(true), f"{bridge}_kind": kind_arr,
                          f"{bridge}_best_false": np.array(best_false)})
            print(f"bridge {bridge}: {len(top)} queries ({refused} refused)", flush=True)
            report(bridge, top, true, np.array(best_false), {"keyword": np.flatnonzero(kind_arr),
                                                              "sentence": np.flatnonzero(~kind_arr)},
                   OLD_FLOORS.get(bridge))
        tiny = vis[:n_tiny]
        labels = owner[:n_tiny]
        sims = tiny @ tiny.T
        np.fill_diagonal(sims, -np.inf)
        order = np.argsort(-sims, axis=1)[:, : args.seen + args.per_class]
        ranked = np.take_along_axis(sims, order, 1)
        same = labels[order] == labels[:, None]
        best_false = np.array([r[~t][0] for r, t in zip(ranked, same)])
        print(f"similar: {n_tiny} query photos", flush=True)
        saved.update({"similar_top": ranked[:, : args.seen], "similar_true": same[:, : args.seen],
                      "similar_best_false": best_false})
        if args.save:
            np.savez_compressed(args.save, **saved)
        report("similar", list(ranked[:, : args.seen]), list(same[:, : args.seen]), best_false,
               {"photos": np.arange(n_tiny)}, OLD_FLOORS["similar"])
    print(f"total {time.perf_counter() - t0:.0f}s")


if __name__ == "__main__":
    main()
