"""Calibrating the relevance cut-off (search/cutoff.py) on dev/train data only, through the real Searcher.

    python benchmarks/relevance.py [--keep 0.9] [--seen 50]

One in-memory collection of dev/train photos: the Flickr8k dev split (first caption of each photo as a
query, its own photo the true match), Tiny ImageNet train (the first name of each class as a query, that
class's photos the true matches) and MiniPlaces train (scene names the same way). For each bridge every
query ranks the whole set; the true matches a user would see (within the query's first `--seen` results)
give the scores; the cut-off is the score that keeps `--keep` of them. Image-to-image similarity
(`similar`) is calibrated the same way on the Tiny ImageNet photos, same class = true match.
Prints one line per bridge: cut-off, true matches kept (seen and all), share of all results dropped.
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


def calibrate(scores_true_seen: list[float], keep: float) -> float:
    return float(np.quantile(np.array(scores_true_seen), 1 - keep)) if scores_true_seen else 0.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--keep", type=float, default=0.9, help="share of seen true matches the cut-off keeps")
    ap.add_argument("--seen", type=int, default=50, help="a true match counts when within this many results")
    ap.add_argument("--per-class", type=int, default=5)
    ap.add_argument("--captions", type=int, default=600)
    ap.add_argument("--bridges", default="auto,conse,joint")
    args = ap.parse_args()
    t0 = time.perf_counter()
    files, owner, queries, n_tiny = photo_sets(args.per_class, args.captions)
    enc = load_image_encoder(DEFAULT_ENCODER)
    feats = cached_features(files, enc, CACHE / "features")
    vis = visual_vectors(Embedding(feats.features, feats.probs))
    print(f"{len(files)} photos ({n_tiny} Tiny ImageNet train, {len(files) - n_tiny - args.captions} MiniPlaces train, "
          f"{args.captions} Flickr8k dev), {len(queries)} queries; features in {time.perf_counter() - t0:.0f}s", flush=True)
    with tempfile.TemporaryDirectory() as empty:
        s = array_searcher(Path(empty), DEFAULT_ENCODER, DEFAULT_WORDS, imagenet_wnids(), vis, feats.probs)
        n = len(files)
        for bridge in args.bridges.split(","):
            seen, every, pools, refused = [], [], [], 0
            for qi, text in enumerate(queries):
                try:
                    hits = s.search(text, n, bridge=bridge).hits
                except PixseekError:
                    refused += 1
                    continue
                ids = np.array([h.id for h in hits])
                sc = np.array([h.score for h in hits])
                true = owner[ids] == qi
                seen += sc[: args.seen][true[: args.seen]].tolist()
                every.append(sc[true])
                pools.append(sc)
            t = calibrate(seen, args.keep)
            every_all = np.concatenate(every)
            pool = np.concatenate(pools)
            left = np.median([int((p >= t).sum()) for p in pools])
            print(f"bridge {bridge:6s} cut-off {t:.4f}: keeps {np.mean(np.array(seen) >= t):.3f} of {len(seen)} true "
                  f"matches within the first {args.seen}, {np.mean(every_all >= t):.3f} of all {len(every_all)}; "
                  f"drops {np.mean(pool < t):.3f} of all results; median {left:.0f} of {n} results left per query; "
                  f"{len(pools)} queries ({refused} refused)", flush=True)
        tiny = vis[:n_tiny]
        labels = owner[:n_tiny]
        sims = tiny @ tiny.T
        np.fill_diagonal(sims, -np.inf)
        order = np.argsort(-sims, axis=1)[:, : args.seen]
        top = np.take_along_axis(sims, order, 1)
        same = labels[order] == labels[:, None]
        seen_sim = top[same]
        t = calibrate(seen_sim.tolist(), args.keep)
        off = ~np.eye(n_tiny, dtype=bool)
        all_same = sims[(labels[:, None] == labels[None, :]) & off]
        print(f"similar        cut-off {t:.4f}: keeps {np.mean(seen_sim >= t):.3f} of {len(seen_sim)} same-class photos "
              f"within the first {args.seen}, {np.mean(all_same >= t):.3f} of all {len(all_same)}; drops "
              f"{np.mean(sims[off] < t):.3f} of all results; median {np.median((sims >= t).sum(1)):.0f} of "
              f"{n_tiny - 1} left per query", flush=True)
    print(f"total {time.perf_counter() - t0:.0f}s")


if __name__ == "__main__":
    main()
