"""Text search quality and speed, each bridge side by side, on the shared test sets.

    flock /tmp/pixseek-bench.lock python benchmarks/text.py [--json out.json] [--skip-latency] [--encoder SPEC]

Prints, for the conse, joint and auto bridges:
  caption -> photo R@1/5/10 on flickr8k-500 (first caption of each photo, and all five) and on the
  Flickr8k dev split (1,844 photos, first caption);
  scene-word P@10 on miniplaces/val (2,000 photos, the 100 class names as queries);
  keyword P@10 and tag top-1/top-5 on Tiny ImageNet val (10,000 photos, 200 class names);
and the warm latency of text queries (keywords and sentences, auto bridge, phrase encoder included) on a
real 10,000-photo collection of Tiny ImageNet val (built once into benchmarks/cache/), plus the wall time
of a cold `pixseek search` process. Every figure goes through the Searcher the CLI uses.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"
CACHE = ROOT / "benchmarks" / "cache"
BRIDGES = ("conse", "joint", "auto")

from pixseek.encoders.imagenet import imagenet_wnids  # noqa: E402
from pixseek.interfaces.collection import Collection  # noqa: E402
from pixseek.learn.datasets import file_vectors, open_dataset  # noqa: E402
from pixseek.learn.evaluate import array_searcher, caption_recall, evaluate, keyword_precision  # noqa: E402
from pixseek.learn.joint_data import read_captions  # noqa: E402
from pixseek.lexicon.wordnet import load_wordnet  # noqa: E402


class Encoder:
    """The collection encoder the feature cache is keyed by, without a collection."""

    def __init__(self, spec: str = "efficientnet-lite0") -> None:
        from pixseek.encoders.registry import load_image_encoder

        self.spec, self.encoder = spec, load_image_encoder(spec)


def searcher_for(files: list[str], enc: Encoder):
    visual, probs, ok = file_vectors(enc.encoder, files, False)
    assert ok.all(), f"{int((~ok).sum())} photos failed to decode"
    empty = Path(tempfile.mkdtemp())
    return array_searcher(empty, enc.spec, "glove-6b-50d", imagenet_wnids(), visual, probs), visual, probs


def per_bridge(label: str, measure, line) -> dict:
    """{bridge: measure(bridge)} for every bridge, printing one line each as it is measured."""
    out = {}
    for b in BRIDGES:
        out[b] = measure(b)
        print(f"{label:32s} {b:6s} {line(out[b])}", flush=True)
    return out


def captions_block(name: str, caps, enc: Encoder, first_only: bool) -> dict:
    s, _, _ = searcher_for(caps.files, enc)
    rows = range(len(caps.captions))
    if first_only:
        seen: set[int] = set()
        rows = [i for i in rows if not (int(caps.owner[i]) in seen or seen.add(int(caps.owner[i])))]
    texts, owner = [caps.captions[i] for i in rows], caps.owner[list(rows)]

    def measure(b: str) -> dict:
        t = time.perf_counter()
        r = caption_recall(s, texts, owner, b)
        return {**r, "ms_per_query": round(1000 * (time.perf_counter() - t) / len(texts), 2)}

    return per_bridge(name, measure, lambda r: f"R@1 {r['r1']:.3f}  R@5 {r['r5']:.3f}  R@10 {r['r10']:.3f}  "
                                               f"({r['captions']} captions, {r['refused']} refused)")


def scenes_block(enc: Encoder) -> dict:
    ds = open_dataset(DATA / "miniplaces", load_wordnet())
    part = ds.split("val")
    s, _, _ = searcher_for(part.files, enc)
    names = [c.name.replace("_", " ") for c in ds.classes]

    def measure(b: str) -> dict:
        hits, skipped = keyword_precision(s, names, part.labels, b)
        return {"p10": round(float(np.mean(hits)), 4), "queries": len(hits), "refused": skipped}

    return per_bridge("miniplaces/val scene words", measure,
                      lambda r: f"P@10 {r['p10']:.3f}  ({r['queries']} queries, {len(r['refused'])} refused)")


def tiny_block(enc: Encoder) -> dict:
    ds = open_dataset(DATA / "tiny-imagenet-200", load_wordnet())
    part = ds.split("val")
    s, visual, probs = searcher_for(part.files, enc)
    names = [c.name for c in ds.classes]

    def measure(b: str) -> dict:
        r = evaluate(s, visual, probs, part.labels, names, b)
        return {k: r[k] for k in ("keyword_p10", "tag_top1", "tag_top5", "queries")}

    return per_bridge("tiny-imagenet val", measure, lambda r: f"keyword P@10 {r['keyword_p10']:.3f}  "
                      f"tag top-1 {r['tag_top1']:.3f}  top-5 {r['tag_top5']:.3f}")


QUERIES = ["dog", "goldfish", "kitchen", "sunset", "dog beach", "dog -grass", "2:sunset sea",
           "two children playing in the snow", "a man riding a bike down a dirt road", "a cat sleeping on a sofa",
           "a red car parked on the street", "people walking on a beach at sunset"]


def latency_block() -> dict:
    db = CACHE / "tiny-val-db"
    col = Collection.open(db)
    if col.status()["images"] < 10000:
        print("building the 10,000-photo Tiny ImageNet val collection (once) ...", flush=True)
        col.index([DATA / "tiny-imagenet-200" / "val"], progress=False)
    col = Collection.open(db)
    col.search("dog", k=10)  # load word data, phrase encoder and derived vectors
    joint = col.searcher.bridge("joint")
    out = {}
    for kind, queries in (("keyword", QUERIES[:7]), ("sentence", QUERIES[7:])):
        for cached in (False, True):
            times = []
            for _ in range(15):
                for q in queries:
                    if not cached:
                        joint.forget()  # the sentence goes through the phrase encoder again
                    t = time.perf_counter()
                    col.search(q, k=30)
                    times.append(1000 * (time.perf_counter() - t))
            times.sort()
            key = f"{kind}{'_cached' if cached else ''}"
            out[key] = {"p50_ms": round(statistics.median(times), 2), "p99_ms": round(times[int(0.99 * len(times)) - 1], 2),
                        "queries": len(times)}
            print(f"warm text search, 10,000 photos, {kind:8s} ({'repeated query' if cached else 'phrase encoder runs'}): "
                  f"p50 {out[key]['p50_ms']:.1f} ms  p99 {out[key]['p99_ms']:.1f} ms", flush=True)
    colds = []
    for q in ("dog", "two children playing in the snow"):
        for _ in range(3):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "pixseek", "search", q, "-k", "10", "--db", str(db)], check=True,
                           capture_output=True)
            colds.append(time.perf_counter() - t)
    out["cold_process_s"] = {"median": round(statistics.median(colds), 3), "runs": [round(c, 3) for c in colds]}
    print(f"cold `pixseek search` process: median {out['cold_process_s']['median']:.2f} s over {len(colds)} runs", flush=True)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", type=Path)
    p.add_argument("--skip-latency", action="store_true")
    p.add_argument("--encoder", default="efficientnet-lite0", help="image encoder (e.g. efficientnet-lite0-int8)")
    args = p.parse_args()
    for need in ("flickr8k-500", "flickr8k-train", "miniplaces", "tiny-imagenet-200"):
        if not (DATA / need).is_dir():
            raise SystemExit(f"needs {DATA / need}")
    start = time.time()
    enc = Encoder(args.encoder)
    test = read_captions(DATA / "flickr8k-500" / "captions.tsv")
    train = read_captions(DATA / "flickr8k-train" / "captions.tsv", split=DATA / "flickr8k-train" / "split.tsv")
    dev_files = [f for f, d in zip(train.files, train.dev) if d]
    keep = train.dev[train.owner]
    remap = np.cumsum(train.dev) - 1
    dev = type(train)(dev_files, [c for c, k in zip(train.captions, keep) if k], remap[train.owner[keep]],
                      np.ones(len(dev_files), bool))
    result = {
        "flickr8k_500_first": captions_block("flickr8k-500, first caption", test, enc, True),
        "flickr8k_500_all": captions_block("flickr8k-500, all five", test, enc, False),
        "flickr8k_dev_first": captions_block("flickr8k dev (1,844), first", dev, enc, True),
        "miniplaces_val": scenes_block(enc),
        "tiny_val": tiny_block(enc),
    }
    if not args.skip_latency:
        result["latency"] = latency_block()
    result["seconds"] = round(time.time() - start, 1)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
