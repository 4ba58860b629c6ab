"""End-to-end `pixseek index` throughput against the raw encoder on the same photos, in one run.

    python benchmarks/index_speed.py [--photos tiny|12mp] [--limit N] [--runs R] [--workers W] [--json]
    python benchmarks/index_speed.py --photos 12mp --profile      # where the time goes
    python benchmarks/index_speed.py --compare DB_A DB_B           # two collections of the same photos
    python benchmarks/index_speed.py --encoders efficientnet-lite0,efficientnet-lite0-int8 --limit 2000 --runs 2
    python benchmarks/index_speed.py --encoders A,B --baseline ../old-checkout   # B here against A there

`--encoders A,B` measures both encoders in each run (raw, then each one's `pixseek index --encoder`), keeps
the last run's two collections and compares them (`--compare`: vector cosine, nearest-10 overlap for 30
photos spread over the set, top-10 overlap of keyword searches).

Raw encoder: every photo decoded and preprocessed into memory first, then only the ONNX model is
timed (batch 64, passes over the batches repeated until 5 s have passed). End-to-end: a fresh collection
indexed by the real CLI in a subprocess (process start, model load, scanning, hashing, decoding in
workers, embedding, writing and committing, deriving the search vectors); also the pipeline alone (the
CLI's own `seconds`: scan to last commit).

`--photos tiny`: the 10,000 Tiny ImageNet val photos (64x64). `--photos 12mp`: 12-megapixel JPEGs made
once from the real photos in the shared data (the 17 full-size photos, then Flickr8k-500): each is
cut to 4:3, enlarged to 4000x3000 (bicubic) and saved as JPEG quality 90 in benchmarks/cache/12mp/.

`--profile` runs the same indexing in this process instead and says where the time went: the CPU cost of
each decoding step per photo (serially, one core), then the run's wall and CPU time split between start,
the pipeline, the encoder's calls, the main thread's work by function, the decoding workers and the
derive step.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pickle
import pstats
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from common import CACHE, DATA, TINY, require  # noqa: E402

from pixseek.encoders.registry import load_image_encoder  # noqa: E402

BATCH = 64
BIG = (4000, 3000)


def tiny_photos(limit: int) -> list[Path]:
    files = sorted(require(TINY / "val").glob("*/*.JPEG"))
    return files[:limit] if limit else files


def big_photos(limit: int) -> list[Path]:
    """12 MP JPEGs made from the real photos (cached): the 17 full-size ones first, then Flickr8k-500."""
    from PIL import Image, ImageOps

    sources = sorted(require(DATA / "photos").iterdir()) + sorted(require(DATA / "flickr8k-500" / "images").glob("*.jpg"))
    sources = sources[: limit or 500]
    out = CACHE / "12mp"
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for i, src in enumerate(sources):
        dst = out / f"{i:04d}_{src.stem}.jpg"
        if not dst.exists():
            im = ImageOps.fit(Image.open(src).convert("RGB"), BIG, Image.BICUBIC)
            tmp = dst.with_suffix(".part")
            im.save(tmp, "JPEG", quality=90)
            tmp.rename(dst)
            print(f"\rmaking 12 MP JPEGs: {i + 1}/{len(sources)}", end="", file=sys.stderr)
        files.append(dst)
    return files


def raw_rate(enc, files: list[Path], min_seconds: float = 5.0) -> float:
    """img/s of the ONNX model alone on the photos' preprocessed pixels, batch 64."""
    pixels = np.stack([enc.preprocess.load(str(f))[0] for f in files])
    enc.embed(pixels[:BATCH])  # warm-up
    n, t = 0, time.perf_counter()
    while n == 0 or time.perf_counter() - t < min_seconds:
        for i in range(0, len(pixels), BATCH):
            enc.embed(pixels[i : i + BATCH])
        n += len(pixels)
    return n / (time.perf_counter() - t)


def linked(files: list[Path], tmp: str) -> str:
    """A folder holding exactly these photos (symlinks), so the CLI indexes the same set."""
    src = os.path.join(tmp, "photos")
    os.makedirs(src)
    for f in files:
        os.symlink(f, os.path.join(src, f"{f.parent.name}_{f.name}"))
    return src


def end_to_end(files: list[Path], workers: int | None, encoder: str | None = None, keep: str | None = None,
               checkout: str | None = None) -> dict:
    """`pixseek index` of the photos into a fresh collection (at `keep` when given, else thrown away), by this
    checkout's pixseek or another's (`checkout`: a folder holding the pixseek package, run from there)."""
    env = {**os.environ, "PYTHONPATH": os.path.abspath(checkout)} if checkout else None
    with tempfile.TemporaryDirectory() as tmp:
        db = keep or os.path.join(tmp, "db")
        cmd = [sys.executable, "-m", "pixseek", "index", linked(files, tmp), "--db", db, "--json", "--no-progress"]
        cmd += ["--encoder", encoder] if encoder else []
        if workers is not None:
            cmd += ["--workers", str(workers)]
        cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env, cwd=checkout)
        wall = time.perf_counter() - t
        cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        report = json.loads(out.stdout)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    return {"indexed": report["indexed"], "wall": wall, "pipeline": report["seconds"], "cpu": cpu}


def one_run(enc, files: list[Path], workers: int | None, keep: str | None = None, raw: float | None = None) -> dict:
    load0 = os.getloadavg()[0]
    raw = raw or raw_rate(enc, files)
    e2e = end_to_end(files, workers, enc.name if keep else None, keep)
    rate, pipe_rate = e2e["indexed"] / e2e["wall"], e2e["indexed"] / e2e["pipeline"]
    return {"photos": len(files), "raw_encoder_img_s": round(raw, 1), "index_img_s": round(rate, 1),
            "ratio": round(rate / raw, 3), "pipeline_img_s": round(pipe_rate, 1),
            "pipeline_ratio": round(pipe_rate / raw, 3), "index_seconds_wall": round(e2e["wall"], 2),
            "pipeline_seconds": e2e["pipeline"], "index_cpu_seconds": round(e2e["cpu"], 1),
            "load_avg_at_start": round(load0, 2), "cpus": os.cpu_count()}


# -- profile ------------------------------------------------------------------------------------------
def stage_costs(enc, files: list[Path]) -> dict[str, float]:
    """CPU ms per photo of each step a decoding worker and the main process take, one after another."""
    from multiprocessing.reduction import ForkingPickler

    from pixseek.ingest.decode import Prepared
    from pixseek.media.exif import taken_ns
    from pixseek.media.formats import content_hash
    from pixseek.media.images import _open, square_crop

    size, cost = enc.input_size, dict.fromkeys(["read", "hash", "decode", "resize+crop", "EXIF date",
                                                "pipe, pickled (before)", "shared slot (now)",
                                                "stack into batch"], 0.0)
    clock = time.process_time
    items, slot = [], np.zeros((1, size, size, 3), np.uint8)
    for f in files:
        t0 = clock()
        data = Path(f).read_bytes()
        t1 = clock()
        digest = content_hash(data)
        t2 = clock()
        im, (w, h) = _open(data, short_side=round(size * 256 / 224))  # as load_for_encoder does
        t3 = clock()
        px = square_crop(im, size)
        t4 = clock()
        taken_ns(str(f), 0)
        t5 = clock()
        item = Prepared(str(f), len(data), 0, digest, px, w, h)
        msg = bytes(ForkingPickler.dumps([item]))
        items.extend(pickle.loads(msg))
        t6 = clock()
        slot[0] = px
        item.pixels = None
        pickle.loads(bytes(ForkingPickler.dumps([item])))
        item.pixels = slot[0].copy()
        t7 = clock()
        for k, d in zip(cost, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5, t7 - t6)):
            cost[k] += d
    t = clock()
    for i in range(0, len(items), BATCH):
        np.stack([p.pixels for p in items[i : i + BATCH]])
    cost["stack into batch"] = clock() - t
    return {k: 1000 * v / len(files) for k, v in cost.items()}


def profile_run(files: list[Path], workers: int | None) -> dict:
    """Index in this process, timing the phases, the encoder's calls, the main thread (by function) and
    the decoding workers (their CPU time, from the children's rusage)."""
    from pixseek import Collection
    from pixseek.ingest import pipeline

    with tempfile.TemporaryDirectory() as tmp:
        src = linked(files, tmp)
        t0, cpu0, kids0 = time.perf_counter(), time.process_time(), resource.getrusage(resource.RUSAGE_CHILDREN)
        main0 = time.thread_time()
        col = Collection.open(os.path.join(tmp, "db"))
        enc = col.encoder
        t_open = time.perf_counter() - t0
        busy = [0.0, 0]
        embed = enc.embed

        def timed(batch):
            t = time.perf_counter()
            try:
                return embed(batch)
            finally:
                busy[0] += time.perf_counter() - t
                busy[1] += len(batch)

        enc.embed = timed
        derive, derive_s = col.derive, [0.0]

        def timed_derive(stores=None):
            t = time.perf_counter()
            derive(stores)
            derive_s[0] = time.perf_counter() - t

        col.derive = timed_derive
        prof = cProfile.Profile(time.thread_time)
        prof.enable()
        report = col.index([src], progress=False, workers=workers)
        prof.disable()
        wall = time.perf_counter() - t0
        main_cpu = time.thread_time() - main0
        cpu = time.process_time() - cpu0
        kids1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        enc.embed = embed
    kids = (kids1.ru_utime - kids0.ru_utime) + (kids1.ru_stime - kids0.ru_stime)
    stats = pstats.Stats(prof, stream=io.StringIO())
    wanted = {"_plan": "plan (hash lookups, np.stack, submit)", "_write": "write (vectors, catalog, commit)",
              "taken_ns": "  of which EXIF dates", "add": "  of which vector appends (fsync)",
              "commit": "  of which SQLite commits", "scan": "scan folders", "read": "receive decoded photos (pipe)"}
    main = {}
    for (file, _, fn), (_, _, _, cum, _) in stats.stats.items():  # type: ignore[attr-defined]
        if fn in wanted and ("pixseek" in file):
            key = wanted[fn]
            if fn == "add" and "vectors" not in file or fn == "commit" and "catalog" not in file:
                continue
            if fn == "read" and "readers" not in file:
                continue
            main[key] = main.get(key, 0.0) + cum
    return {"indexed": report.indexed, "wall": wall, "open": t_open, "pipeline": report.seconds,
            "derive": derive_s[0], "encoder_busy": busy[0], "encoded": busy[1], "process_cpu": cpu,
            "main_thread_cpu": main_cpu, "main_by_function_cpu": main, "workers_cpu": kids,
            "pipeline_module": pipeline.__file__}


def print_profile(enc, files: list[Path], workers: int | None) -> dict:
    sample = files[: max(50, min(len(files), 2000 if files[0].stat().st_size < 100_000 else 60))]
    costs = stage_costs(enc, sample)
    raw = raw_rate(enc, files)
    prof = profile_run(files, workers)
    n = prof["indexed"]
    print(f"decoding steps, CPU ms per photo, one core, {len(sample)} photos:")
    for k, v in costs.items():
        print(f"  {k:30s} {v:8.3f}")
    print(f"  {'total, now':30s} {sum(costs.values()) - costs['pipe, pickled (before)']:8.3f}")
    enc_ms = 1000 / raw
    print(f"encoder alone (batch 64, both cores): {raw:.1f} img/s = {enc_ms:.3f} ms wall per photo")
    print(f"\nindexing {n} photos in this process ({prof['wall']:.2f} s wall, {n / prof['wall']:.1f} img/s, "
          f"ratio {n / prof['wall'] / raw:.3f}):")
    print(f"  open collection + load model   {prof['open']:7.2f} s wall")
    print(f"  pipeline (scan..last commit)   {prof['pipeline']:7.2f} s wall  ({n / prof['pipeline']:.1f} img/s)")
    print(f"    encoder calls                {prof['encoder_busy']:7.2f} s wall  (alone it needs "
          f"{prof['encoded'] / raw:.2f} s for {prof['encoded']} photos)")
    print(f"    encoder idle, waiting         {prof['pipeline'] - prof['encoder_busy']:7.2f} s wall")
    print(f"  derive search vectors          {prof['derive']:7.2f} s wall")
    print(f"  CPU: this process {prof['process_cpu']:.2f} s (main thread {prof['main_thread_cpu']:.2f} s), "
          f"decoding workers {prof['workers_cpu']:.2f} s")
    for k, v in sorted(prof["main_by_function_cpu"].items(), key=lambda kv: -kv[1]):
        print(f"    main thread: {k:40s} {v:7.2f} s CPU")
    return {"stage_cpu_ms_per_photo": {k: round(v, 4) for k, v in costs.items()}, "raw_encoder_img_s": round(raw, 1),
            **{k: (round(v, 3) if isinstance(v, float) else v) for k, v in prof.items() if k != "pipeline_module"}}


QUERIES = ("dog", "cat", "beach", "snow", "bicycle", "water", "ball", "grass", "street", "coffee", "rocket",
           "motorcycle", "flower", "a dog running on the beach", "two children playing in the snow")


def compare(db_a: str, db_b: str, k: int = 10, queries: int = 30) -> dict:
    """How far two collections of the same photos (indexed by two versions of the code, or two encoders)
    differ: cosine of each photo's stored visual vector, overlap of the k nearest photos (exact, by the
    stored vectors) of every photo and of `queries` photos spread evenly over the set, and of word searches."""
    from pixseek import Collection

    cols = [Collection.open(db) for db in (db_a, db_b)]
    # photos matched by file name: two runs of this script index the same photos through two link folders
    named = [{os.path.basename(r[0]): r[0] for r in col.catalog.db.execute("SELECT path FROM files WHERE status = 'ok'")}
             for col in cols]
    paths = sorted(set(named[0]) & set(named[1]))
    vecs = []
    for col, where in zip(cols, named):
        ids = np.array([col.catalog.file(where[p]).content_id for p in paths])
        vecs.append(np.asarray(col.visual.get(ids), np.float32))
    cos = (vecs[0] * vecs[1]).sum(1) / (np.linalg.norm(vecs[0], axis=1) * np.linalg.norm(vecs[1], axis=1))
    tops = [np.argsort(-(v @ v.T), axis=1)[:, 1 : k + 1] for v in vecs]
    same_nn = [len(set(a) & set(b)) / k for a, b in zip(*tops)]
    sample = np.linspace(0, len(paths) - 1, min(queries, len(paths))).round().astype(int)
    same_q = []
    for q in QUERIES:
        got = [[os.path.basename(h.path) for h in col.search(q, k=k, min_score=0)] for col in cols]
        same_q.append(len(set(got[0]) & set(got[1])) / k)
    changed = [(paths[i], round(float(cos[i]), 5)) for i in np.argsort(cos)[:5] if cos[i] < 0.999999]
    return {"photos": len(paths), "cosine_mean": round(float(cos.mean()), 6), "cosine_min": round(float(cos.min()), 6),
            "vectors_changed": int((cos < 0.999999).sum()), "least_alike": changed,
            f"nearest_{k}_overlap_mean": round(float(np.mean(same_nn)), 4),
            f"nearest_{k}_overlap_{len(sample)}_photos": round(float(np.mean([same_nn[i] for i in sample])), 4),
            f"photos_with_other_nearest_{k}": int(sum(x < 1 for x in same_nn)),
            f"search_top_{k}_overlap_mean": round(float(np.mean(same_q)), 4),
            "searches_changed": [q for q, x in zip(QUERIES, same_q) if x < 1]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", choices=("tiny", "12mp"), default="tiny",
                    help="tiny: Tiny ImageNet val, 64x64; 12mp: 4000x3000 JPEGs made from the real photos")
    ap.add_argument("--limit", type=int, default=0, help="use only the first N photos (0 = all 10,000 / 500)")
    ap.add_argument("--runs", type=int, default=1, help="raw encoder then end-to-end, this many times")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--profile", action="store_true", help="where the time goes (in-process run)")
    ap.add_argument("--compare", nargs=2, metavar=("DB_A", "DB_B"), help="compare two collections of the same photos")
    ap.add_argument("--encoders", metavar="A,B", help="two encoder specs measured in each run, then compared")
    ap.add_argument("--baseline", metavar="CHECKOUT", help="with --encoders: also index each run with the "
                    "first encoder by another checkout (e.g. a worktree of the commit before a change)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.compare:
        print(json.dumps(compare(*args.compare), indent=None if args.json else 1))
        return
    files = tiny_photos(args.limit) if args.photos == "tiny" else big_photos(args.limit)
    enc = load_image_encoder()
    if args.profile:
        result = print_profile(enc, files, args.workers)
        if args.json:
            print(json.dumps(result))
        return
    if args.encoders:
        two_encoders(args.encoders.split(","), files, args)
        return
    for run in range(args.runs):
        r = {"run": run + 1, "set": args.photos, **one_run(enc, files, args.workers)}
        if args.json:
            print(json.dumps(r), flush=True)
            continue
        print(f"run {run + 1}: {r['photos']} photos ({args.photos}), load average {r['load_avg_at_start']} at start")
        print(f"  raw encoder (model)    {r['raw_encoder_img_s']:7.1f} img/s  (batch 64, preprocessed tensors in memory)")
        print(f"  pixseek index (e2e)    {r['index_img_s']:7.1f} img/s  ({r['index_seconds_wall']:.1f} s wall, "
              f"process start included; {r['index_cpu_seconds']:.1f} s CPU)")
        print(f"  ratio                  {r['ratio']:7.3f}")
        print(f"  pipeline alone         {r['pipeline_img_s']:7.1f} img/s  ({r['pipeline_seconds']:.1f} s: scan to last "
              f"commit; ratio {r['pipeline_ratio']:.3f})", flush=True)


def two_encoders(specs: list[str], files: list[Path], args: argparse.Namespace) -> None:
    """Each run: both raw encoders (interleaved), then `pixseek index` with each; the last run's two
    collections compared. Ratios are B over A in the same run."""
    encs = [load_image_encoder(s) for s in specs]
    with tempfile.TemporaryDirectory() as keep:
        for run in range(args.runs):
            dbs = [os.path.join(keep, f"run{run + 1}-db{i}") for i in range(len(specs))]  # fresh folders each run
            raws = [raw_rate(e, files) for e in encs]
            rs = [one_run(e, files, args.workers, db, raw) for e, db, raw in zip(encs, dbs, raws)]
            base = end_to_end(files, args.workers, specs[0], checkout=args.baseline) if args.baseline else None
            r = {"run": run + 1, "set": args.photos, "photos": len(files), "load_avg_at_start": rs[0]["load_avg_at_start"],
                 **{spec: {k: v for k, v in x.items() if k not in ("photos", "cpus")} for spec, x in zip(specs, rs)},
                 "raw_speedup": round(rs[1]["raw_encoder_img_s"] / rs[0]["raw_encoder_img_s"], 3),
                 "index_speedup": round(rs[1]["index_img_s"] / rs[0]["index_img_s"], 3),
                 "pipeline_speedup": round(rs[1]["pipeline_img_s"] / rs[0]["pipeline_img_s"], 3)}
            if base is not None:
                rate = base["indexed"] / base["wall"]
                r["baseline"] = {"checkout": args.baseline, "index_img_s": round(rate, 1),
                                 "index_seconds_wall": round(base["wall"], 2),
                                 "pipeline_img_s": round(base["indexed"] / base["pipeline"], 1),
                                 "index_speedup_over_baseline": round(rs[1]["index_img_s"] / rate, 3)}
            print(json.dumps(r) if args.json else
                  f"run {run + 1}: {len(files)} photos ({args.photos}), load average {r['load_avg_at_start']}\n" +
                  "".join(f"  {spec:26s} raw {x['raw_encoder_img_s']:7.1f} img/s  index {x['index_img_s']:7.1f} img/s "
                          f"({x['index_seconds_wall']:.1f} s wall)  pipeline {x['pipeline_img_s']:7.1f} img/s\n"
                          for spec, x in zip(specs, rs)) +
                  f"  {specs[1]} / {specs[0]}: raw x{r['raw_speedup']}, index x{r['index_speedup']}, "
                  f"pipeline x{r['pipeline_speedup']}" +
                  ("" if base is None else f"\n  {specs[0]} by {args.baseline}: index {r['baseline']['index_img_s']} img/s "
                   f"({r['baseline']['index_seconds_wall']} s wall), pipeline {r['baseline']['pipeline_img_s']} img/s; "
                   f"{specs[1]} here / that: index x{r['baseline']['index_speedup_over_baseline']}"), flush=True)
        agreement = compare(*dbs)
    print(json.dumps({"agreement": agreement}) if args.json else
          f"agreement of the two collections:\n{json.dumps(agreement, indent=1)}")


if __name__ == "__main__":
    main()
