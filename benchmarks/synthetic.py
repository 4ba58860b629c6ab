"""Large collections for benchmarks, written through pixseek's own stores and catalog, without decoding.

The shared data holds about 42,000 real photos (Tiny ImageNet train and val, Flickr8k train, MiniPlaces
train), far from the 100,000 to 1,000,000 a scale benchmark needs. Their real encoder outputs (cached by
`pixseek.learn.datasets.cached_features`, computed once) are reused: photo i of N is real photo i mod R,
and every reuse after the first is perturbed so it is a different photo of a similar subject: it keeps a
random half of its source's feature dimensions, each scaled by log-normal noise, and its class
probabilities get log-normal noise. Its feature cosine to its source is then 0.57 / 0.68 / 0.77 (1st,
50th, 99th percentile), mostly below the near-duplicate threshold; two reuses of unrelated photos are
less alike than two real photos (mean cosine 0.16 against 0.35), so neighbourhoods are if anything
sparser than real ones. Each catalog row points to
a symlink to its real file, so thumbnails and `pixseek similar PATH` work on the built collection.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA, require  # noqa: E402

from pixseek.encoders.base import Embedding  # noqa: E402
from pixseek.encoders.visual import visual_vectors  # noqa: E402

KEEP = 0.5  # share of a source's feature dimensions a reuse keeps
NOISE = 0.3  # log-normal sigma on each kept feature
PROB_NOISE = 0.5  # log-normal sigma on each class probability


def real_photos(progress: bool = True) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(files, features, probs) of every real photo of the shared training and test folders."""
    from pixseek.config import cache_dir
    from pixseek.encoders.registry import load_image_encoder
    from pixseek.learn.datasets import cached_features, open_dataset
    from pixseek.learn.joint_data import read_captions
    from pixseek.lexicon.wordnet import load_wordnet

    lists: list[list[str]] = []
    wordnet = load_wordnet()
    for folder, split in (("tiny-imagenet-200", "train"), ("tiny-imagenet-200", "val"), ("miniplaces", "train")):
        lists.append(list(open_dataset(require(DATA / folder), wordnet).split(split).files))
    flickr = DATA / "flickr8k-train"
    lists.append(list(read_captions(require(flickr / "captions.tsv"), split=flickr / "split.tsv").files))
    encoder = load_image_encoder()
    files, feats, probs = [], [], []
    for names in lists:
        f = cached_features(names, encoder, cache_dir() / "features", progress=progress)
        keep = np.flatnonzero(f.ok)
        files += [names[i] for i in keep]
        feats.append(f.features[keep])
        probs.append(f.probs[keep])
    return files, np.concatenate(feats), np.concatenate(probs)


def derived(files: list[str], feats: np.ndarray, probs: np.ndarray, start: int, stop: int,
            seed: int = 0) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Photos start..stop of the synthetic collection: (source file, visual vectors, probabilities)."""
    i = np.arange(start, stop)
    src = i % len(files)
    f, p = feats[src].copy(), probs[src].copy()
    reused = i >= len(files)
    if reused.any():
        rng = np.random.default_rng([seed, start])
        n = int(reused.sum())
        kept = rng.random((n, f.shape[1]), np.float32) < KEEP
        f[reused] *= kept * rng.lognormal(0.0, NOISE, (n, f.shape[1])).astype(np.float32)
        p[reused] *= rng.lognormal(0.0, PROB_NOISE, (n, p.shape[1])).astype(np.float32)
        p[reused] /= p[reused].sum(axis=1, keepdims=True)
    return [files[s] for s in src], visual_vectors(Embedding(f, p)).astype(np.float32), p


def write_rows(db: Path, links: Path, n: int, start: int = 0, chunk: int = 20_000, log=print,
               sources: tuple[list[str], np.ndarray, np.ndarray] | None = None) -> None:
    """Photos start..n-1 of the synthetic collection written into the collection at `db` (created when
    start is 0) as an index run writes them: vectors through the stores, the catalog rows committed, and
    the stores saved at the end; each row's path is a symlink under `links` to its real source photo.
    sources: real_photos(), when the caller has them already."""
    from pixseek.interfaces.collection import Collection
    from pixseek.store.catalog import FileRecord
    from pixseek.store.lock import index_lock

    t0 = time.perf_counter()
    files, feats, probs = sources or real_photos()
    links.mkdir(parents=True, exist_ok=True)
    with Collection.open(db) as col:
        layout = col.layout
        layout.dims()
        layout.class_ids()
        with index_lock(layout.folder):
            stores = layout.open_stores(writer=True)
            for lo in range(start, n, chunk):
                hi = min(n, lo + chunk)
                sources, visual, p = derived(files, feats, probs, lo, hi)
                ids = np.arange(lo, hi, dtype=np.int64)
                paths = [str(links / f"{i // 10_000:03d}" / f"{i:07d}{Path(s).suffix}") for i, s in zip(ids, sources)]
                for path, source in zip(paths, sources):
                    Path(path).parent.mkdir(exist_ok=True)
                    if not os.path.lexists(path):
                        os.symlink(os.path.abspath(source), path)
                meta = [(path, 0, 0) for path in paths]
                stores.visual.add(ids, visual, meta)
                stores.probs.add(ids, p.astype(np.float16), meta)
                cat = layout.catalog
                cat.begin()
                for cid, path in zip(ids.tolist(), paths):
                    st = os.stat(path)
                    digest = hashlib.sha256(f"synthetic-{cid}".encode()).hexdigest()
                    cat.add_content(cid, digest, 64, 64)
                    cat.put_file(FileRecord(path, st.st_size, st.st_mtime_ns, "ok", digest, None, cid, st.st_ino,
                                            st.st_ctime_ns))
                cat.commit()
                log(f"  {hi:,} photos written ({time.perf_counter() - t0:.0f} s)")
            if start:  # growing a collection: as an index run ends (the first build leaves this to its caller)
                for store in (stores.visual, stores.probs):
                    store.save()


def photo_count(db: Path) -> int:
    from pixseek.interfaces.collection import Collection

    with Collection.open(db) as col:
        return col.catalog.counts()["images"]


def finish(db: Path) -> dict:
    """Open the collection as `pixseek index` leaves it: as a writer (the image index its size calls for,
    class postings), then derived (joint vectors and their index). Seconds per stage."""
    from pixseek.interfaces.collection import Collection
    from pixseek.store.lock import index_lock

    out = {}
    with Collection.open(db) as col:
        t = time.perf_counter()
        with index_lock(col.layout.folder):
            stores = col.layout.open_stores(writer=True)
            out["image_index_s"] = round(time.perf_counter() - t, 1)
            t = time.perf_counter()
            for store in (stores.visual, stores.probs):
                store.save()
            out["postings_s"] = round(time.perf_counter() - t, 1)
        t = time.perf_counter()
        col.refresh()
        col.derive()
        out["derive_s"] = round(time.perf_counter() - t, 1)
        out["index"] = col.status().get("index")
    return out


def build(folder: Path, n: int, log=print) -> dict:
    """A collection of n photos at `folder`/db (created; `folder` must not exist), indexed as pixseek would
    index it."""
    if folder.exists():
        raise SystemExit(f"{folder} exists: give a new folder")
    start = time.perf_counter()
    write_rows(folder / "db", folder / "photos", n, log=log)
    stages = finish(folder / "db")
    size = sum(f.stat().st_size for f in (folder / "db").rglob("*") if f.is_file())
    return {"photos": n, "build_s": round(time.perf_counter() - start, 1), "disk_bytes": size, **stages}


if __name__ == "__main__":
    import argparse
    import json

    ap = argparse.ArgumentParser(description="build a synthetic collection of N photos from real photo vectors")
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--out", type=Path, required=True, help="a new folder: OUT/db is the collection")
    args = ap.parse_args()
    print(json.dumps(build(args.out, args.n), indent=1))
