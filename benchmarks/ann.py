"""Benchmark pixseek's ANN indexes against exact search and against the raw libraries.

For each dataset (Tiny ImageNet image vectors, the 400k GloVe words, a synthetic 1M x 256 set) and each
index string: build time, file size, resident-memory growth, then for each value of the family's one
search knob: recall@10 against exact search, queries/s one at a time on one thread, and queries/s for
one batched call. The same faiss / annoy index object is then searched directly ("raw") with the same
knobs (IVF-PQ and LSH re-ranking through faiss's IndexRefineFlat), so the ratio measures pixseek's query
path alone; hnswlib is built separately with the same M / ef as an outside reference. Writes one
recall-vs-QPS PNG per dataset into docs/ and prints one line per setting.

Built indexes (and hnswlib graphs) are kept in benchmarks/cache/indexes with the build time and memory
measured when they were built, and reused by later runs over the same vectors (--rebuild to build
again); the synthetic set and every exact ground truth are cached too. Query timings are always fresh.

    flock /tmp/pixseek-bench.lock python benchmarks/ann.py [--json out.json] [--synth-n 1000000] [--rebuild]
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pixseek.store.ann import DEFAULT_KNOBS, AnnIndex, IndexFileError  # noqa: E402

CACHE = ROOT / "benchmarks" / "cache"
TINY = ROOT.parent / "shared" / "data" / "tiny-imagenet-200"
K = 10

# the one knob swept per family (the others stay at their defaults); each list holds the default
SWEEPS = {
    "flat": ("-", [0]),
    "hnsw": ("ef", [16, 32, 64]),
    "ivfpq": ("nprobe", [8, 32, 64, 128]),
    "polysemous": ("ht", [112, 120, 128, 256]),
    "annoy": ("search_k", [3000, 10000, 30000]),
    "lsh": ("rerank", [10, 20, 50]),
}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# -- datasets -----------------------------------------------------------------------------------------


def image_vectors(F: np.ndarray, P: np.ndarray) -> np.ndarray:
    F = F / np.linalg.norm(F, axis=1, keepdims=True)
    return (np.concatenate([F, np.sqrt(np.asarray(P, np.float32))], 1) / np.sqrt(2)).astype(np.float32)


def encode_tiny(split: str, limit: int) -> dict:
    """Run pixseek's encoder over Tiny ImageNet photos (only when the precomputed files are missing)."""
    cached = CACHE / f"{split}_emb.npz"
    if cached.exists():
        return dict(np.load(cached))
    from pixseek.encoders.registry import load_image_encoder
    from pixseek.media.images import load_for_encoder

    enc = load_image_encoder()
    files = sorted(p for p in (TINY / split).rglob("*.JPEG"))
    files = [files[i] for i in np.random.default_rng(0).permutation(len(files))[:limit]]
    F, P = [], []
    for start in range(0, len(files), 64):
        emb = enc.embed(np.stack([load_for_encoder(f, enc.input_size)[0] for f in files[start:start + 64]]))
        F.append(emb.features)
        P.append(emb.probs.astype(np.float16))
        log(f"encoded {start + 64}/{len(files)} {split} photos")
    out = {"F": np.concatenate(F), "P": np.concatenate(P)}
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(cached, **out)
    return out


def load_images(nq: int) -> tuple[np.ndarray, np.ndarray]:
    parts = []
    for split, limit in (("train", 20000), ("val", 10000)):
        path = Path(f"/tmp/{split}_emb.npz")
        d = dict(np.load(path)) if path.exists() else encode_tiny(split, limit)
        parts.append(image_vectors(d["F"], d["P"]))
    x = np.concatenate(parts)
    q_rows = np.random.default_rng(1).choice(len(x), nq, replace=False)
    db = np.delete(x, q_rows, axis=0)  # queries are held out of the database
    return np.ascontiguousarray(db), np.ascontiguousarray(x[q_rows])


def load_glove(nq: int) -> tuple[np.ndarray, np.ndarray]:
    from pixseek.lexicon.words import load_words

    x = np.ascontiguousarray(load_words().vectors, np.float32)
    return x, x[np.random.default_rng(2).choice(len(x), nq, replace=False)]  # word lookups: queries are words


def synthetic(n: int, nq: int, dim: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """The synthetic set, generated once and kept in the cache as .npy files."""
    db_file, q_file = CACHE / f"synthetic-{n}x{dim}.npy", CACHE / f"synthetic-{n}x{dim}-q{nq}.npy"
    if db_file.exists() and q_file.exists():
        return np.load(db_file), np.load(q_file)
    db, q = make_synthetic(n, nq, dim)
    np.save(db_file, db)
    np.save(q_file, q)
    return db, q


def synthetic_head(n: int, full_n: int, nq: int) -> tuple[np.ndarray, np.ndarray]:
    """The first n vectors of the synthetic set and the same queries, for indexes too slow to build on all."""
    db, q = synthetic(full_n, nq)
    return np.ascontiguousarray(db[:n]), q


def make_synthetic(n: int, nq: int, dim: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors around 4096 random centres plus a shared 16-d subspace and isotropic noise:
    x = normalise(c[a] + 0.5 * z B / 4 + 0.5 * e / 16), z ~ N(0, I_16), e ~ N(0, I_256)."""
    rng = np.random.default_rng(3)
    centres = rng.standard_normal((4096, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    basis = rng.standard_normal((16, dim)).astype(np.float32)
    out = np.empty((n + nq, dim), np.float32)
    for s in range(0, n + nq, 100_000):
        m = min(100_000, n + nq - s)
        v = centres[rng.integers(0, 4096, m)] + 0.125 * rng.standard_normal((m, 16), np.float32) @ basis
        v += rng.standard_normal((m, dim), np.float32) / 32
        out[s:s + m] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out[:n], out[n:].copy()


def fingerprint(db: np.ndarray, q: np.ndarray) -> str:
    """A short hash of the shapes and a sample of rows, naming cached truths and indexes."""
    h = hashlib.sha1(f"{db.shape} {q.shape}".encode())
    h.update(np.ascontiguousarray(db[:: max(1, len(db) // 1000)]).tobytes())
    h.update(q.tobytes())
    return h.hexdigest()[:12]


def exact_truth(db: np.ndarray, q: np.ndarray, fp: str) -> np.ndarray:
    cached = CACHE / f"truth-{fp}.npy"
    if cached.exists():
        return np.load(cached)
    index = faiss.IndexFlatIP(db.shape[1])
    index.add(db)
    truth = index.search(q, K)[1]
    np.save(cached, truth)
    return truth


# -- measuring ----------------------------------------------------------------------------------------


def rss() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS"))


def reset_peak() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def peak() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM"))


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f[f >= 0]) & set(t)) / K for f, t in zip(found, truth)]))


def time_single(search, q: np.ndarray, min_s: float, min_queries: int = 20) -> float:
    """Queries/s one query per call on one thread, cycling through q until min_s has passed and at
    least min_queries were asked."""
    faiss.omp_set_num_threads(1)
    n, t0 = 0, time.perf_counter()
    while n < min_queries or time.perf_counter() - t0 < min_s:
        search(q[n % len(q)][None])
        n += 1
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    return n / (time.perf_counter() - t0)


def time_batch(search, q: np.ndarray) -> tuple[float, np.ndarray]:
    t0 = time.perf_counter()
    ids = search(q)
    return len(q) / (time.perf_counter() - t0), ids


def raw_faiss(index_obj, backend_index, db: np.ndarray, rerank: int):
    """faiss called directly on the same index object, re-ranking via IndexRefineFlat when asked."""
    if not rerank:
        return lambda q: backend_index.search(q, K)[1]
    refine = faiss.IndexRefineFlat(backend_index, faiss.swig_ptr(db))
    refine.k_factor = rerank
    index_obj._keep_refine = (refine, db)  # keep db alive as long as the refine index
    return lambda q: refine.search(q, K)[1]


def family(spec_text: str, kind: str) -> str:
    return "polysemous" if "polysemous" in spec_text else kind


def build_or_reuse(spec: str, db: np.ndarray, q: np.ndarray, fp: str, rebuild: bool) -> tuple[AnnIndex, dict]:
    """Build (measuring time, memory growth, peak and file size) and keep the index in the cache, or
    load the one an earlier run built over the same vectors, with the figures measured then."""
    folder = CACHE / "indexes" / fp
    path = folder / (spec.replace(",", "_") + ".ann")
    if not rebuild and spec != "flat":  # flat builds in a second: never cached
        try:
            index = AnnIndex.load(path)
            if "build" in index.meta:
                return index, {**index.meta["build"], "reused": True}
        except IndexFileError:
            pass
    gc.collect()
    reset_peak()
    before = rss()
    t0 = time.perf_counter()
    index = AnnIndex.build(spec, db)
    build_s = time.perf_counter() - t0
    grew = rss() - before
    index.attach_vectors(db)
    index.search(q, K)
    figures = {"build_s": build_s, "rss_growth_bytes": grew,
               "peak_rss_bytes": peak()}  # pixseek alone: data + build + a batched search, no raw copies
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        index.save(Path(tmp) / "x.ann")
        figures["file_bytes"] = sum(f.stat().st_size for f in Path(tmp).iterdir())
    if spec != "flat":
        index.meta["build"] = figures
        index.save(path)
    return index, {**figures, "reused": False}


def bench_index(spec: str, db: np.ndarray, q: np.ndarray, truth: np.ndarray, fp: str, nq_single: int, min_s: float,
                with_raw: bool, rebuild: bool) -> dict:
    """Build or reuse, then per knob value time pixseek and the raw library back to back (single-query
    QPS best of two interleaved rounds, batched QPS best of two when a call takes under a second), so
    load from other processes hits both alike."""
    index, figures = build_or_reuse(spec, db, q, fp, rebuild)
    index.attach_vectors(db)
    fam = family(index.spec.text, index.spec.kind)
    knob, values = SWEEPS[fam]
    rows, raw_rows = [], []
    for v in values:
        knobs = {} if knob == "-" else {knob: v}
        ours = lambda x, kn=knobs: index.search(x, K, **kn)[1]  # noqa: E731
        raw = raw_search(index, db, {**DEFAULT_KNOBS[index.spec.kind], **knobs}) if with_raw else None
        best: dict[str, dict] = {}
        for _ in range(2):
            for name, fn in (("pixseek", ours), ("raw", raw)):
                if fn is None:
                    continue
                old = best.get(name)
                if old is None or old["batch_s"] < 1.0:
                    qps_b, ids = time_batch(fn, q)
                    rec = recall(ids, truth)
                else:
                    qps_b, rec = old["qps_batch"], old["recall"]
                qps_1 = time_single(fn, q[:nq_single], min_s)
                best[name] = {"knob": knob, "value": v, "recall": rec,
                              "qps_1": max(qps_1, old["qps_1"] if old else 0),
                              "qps_batch": max(qps_b, old["qps_batch"] if old else 0), "batch_s": len(q) / qps_b}
        for b in best.values():
            del b["batch_s"]
        rows.append(best["pixseek"])
        if "raw" in best:
            raw_rows.append(best["raw"])
    result = {"spec": index.spec.text, "n": len(db), "dim": db.shape[1], **figures, "settings": rows}
    if raw_rows:
        result["raw"] = raw_rows
    return result


def raw_search(index: AnnIndex, db: np.ndarray, knobs: dict):
    """The library called directly on the same index object with the same knobs."""
    backend = index.backend
    if index.spec.kind == "annoy":
        a, sk = backend.index, knobs["search_k"] or 30 * index.spec.params["trees"] * K
        return lambda x: np.array([a.get_nns_by_vector(r, K, search_k=sk, include_distances=True)[0] for r in x.tolist()])
    backend.set_knobs(knobs)  # efSearch / nprobe / polysemous_ht live on the faiss object itself
    return raw_faiss(index, backend.index, db, knobs.get("rerank", 0) if index.spec.reranks else 0)


def bench_hnswlib(db, q, truth, fp: str, nq_single: int, min_s: float, rebuild: bool, m: int = 32) -> dict:
    """hnswlib built with the same M and ef_construction as pixseek's hnsw (cached like the others)."""
    import hnswlib

    path, info = CACHE / "indexes" / fp / f"hnswlib{m}.bin", CACHE / "indexes" / fp / f"hnswlib{m}.json"
    index = hnswlib.Index(space="ip", dim=db.shape[1])
    if not rebuild and path.exists() and info.exists():
        index.load_index(str(path), max_elements=len(db))
        build_s, reused = json.loads(info.read_text())["build_s"], True
    else:
        t0 = time.perf_counter()
        index.init_index(max_elements=len(db), M=m, ef_construction=80, random_seed=0)
        index.add_items(db, num_threads=os.cpu_count() or 1)
        build_s, reused = time.perf_counter() - t0, False
        path.parent.mkdir(parents=True, exist_ok=True)
        index.save_index(str(path))
        info.write_text(json.dumps({"build_s": build_s}))
    rows = []
    for ef in SWEEPS["hnsw"][1]:
        index.set_ef(ef)
        index.set_num_threads(os.cpu_count() or 1)
        qps_b, ids = time_batch(lambda x: index.knn_query(x, K)[0], q)
        index.set_num_threads(1)
        qps_1 = time_single(lambda x: index.knn_query(x, K), q[:nq_single], min_s)
        rows.append({"knob": "ef", "value": ef, "recall": recall(ids.astype(np.int64), truth), "qps_1": qps_1,
                     "qps_batch": qps_b})
    return {"spec": f"hnswlib M={m}", "build_s": build_s, "reused": reused, "settings": rows}


# -- reporting ----------------------------------------------------------------------------------------


def print_table(name: str, results: list[dict]) -> None:
    """One line per setting; * marks an index reused from the cache (build figures from when it was built)."""
    print(f"\n## {name}")
    print(f"{'index':28} {'build s':>8} {'file MB':>8} {'+RSS MB':>8} {'knob':>14} {'recall@10':>9} "
          f"{'QPS 1thr':>9} {'QPS batch':>10} {'raw 1thr':>9} {'raw batch':>10} {'ratio1':>6} {'ratioB':>6}")
    for r in results:
        raw = r.get("raw") or [None] * len(r["settings"])
        for i, (s, w) in enumerate(zip(r["settings"], raw)):
            spec = r["spec"] + ("*" if r.get("reused") else "")
            head = (f"{spec:28} {r['build_s']:8.1f} {r.get('file_bytes', 0) / 2**20:8.1f} "
                    f"{r.get('rss_growth_bytes', 0) / 2**20:8.1f}") if i == 0 else " " * 55
            line = f"{head} {s['knob'] + '=' + str(s['value']):>14} {s['recall']:9.3f} {s['qps_1']:9.0f} {s['qps_batch']:10.0f}"
            if w:
                line += (f" {w['qps_1']:9.0f} {w['qps_batch']:10.0f} {s['qps_1'] / w['qps_1']:6.2f} "
                         f"{s['qps_batch'] / w['qps_batch']:6.2f}")
            print(line)
    sys.stdout.flush()


def plot(name: str, results: list[dict], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 5))
    for i, r in enumerate(results):
        color = f"C{i}"
        pts = sorted(r["settings"], key=lambda s: s["recall"])
        label = r["spec"] if r["spec"].startswith("hnswlib") else f"pixseek {r['spec']}"
        ax.plot([s["recall"] for s in pts], [s["qps_1"] for s in pts], "o-", color=color, label=label)
        if r.get("raw"):
            pts = sorted(r["raw"], key=lambda s: s["recall"])
            ax.plot([s["recall"] for s in pts], [s["qps_1"] for s in pts], "x--", color=color, alpha=0.6,
                    label=f"raw {r['spec']}")
    ax.set_yscale("log")
    ax.set_xlabel("recall@10 vs exact")
    ax.set_ylabel("queries/s, one query per call, 1 thread")
    ax.set_title(name)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--datasets", default="synthetic,synthetic100k,images,glove")
    ap.add_argument("--synth-n", type=int, default=1_000_000)
    ap.add_argument("--nq", type=int, default=500, help="queries per batched call (and for recall)")
    ap.add_argument("--nq-single", type=int, default=100, help="queries cycled through one at a time")
    ap.add_argument("--min-s", type=float, default=0.2, help="minimum seconds per single-query timing")
    ap.add_argument("--images-specs", default="flat,hnsw32,ivf512,pq32,ivf512,pq32,polysemous,annoy100,lsh1024")
    ap.add_argument("--glove-specs", default="flat,hnsw32,ivf2048,pq25,ivf2048,pq25,polysemous,annoy100,lsh256")
    ap.add_argument("--synthetic-specs", default="flat,ivf1024,pq32,lsh256")
    ap.add_argument("--synthetic100k-specs", default="hnsw32,ivf256,pq32,ivf256,pq32,polysemous,annoy100")
    ap.add_argument("--hnswlib-max", type=int, default=500_000, help="build hnswlib only up to this many vectors")
    ap.add_argument("--no-raw", action="store_true")
    ap.add_argument("--rebuild", action="store_true", help="build every index again instead of reusing cached ones")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--plots", type=Path, default=ROOT / "docs")
    args = ap.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    args.plots.mkdir(parents=True, exist_ok=True)
    report = {"cpus": os.cpu_count(), "faiss": faiss.__version__, "loadavg_start": os.getloadavg(), "datasets": {}}
    t_run = time.perf_counter()
    for name in args.datasets.split(","):
        t0 = time.perf_counter()
        db, q = {"images": lambda: load_images(args.nq), "glove": lambda: load_glove(args.nq),
                 "synthetic": lambda: synthetic(args.synth_n, args.nq),
                 "synthetic100k": lambda: synthetic_head(100_000, args.synth_n, args.nq)}[name]()
        db = np.ascontiguousarray(db)
        fp = fingerprint(db, q)
        truth = exact_truth(db, q, fp)
        log(f"{name}: {db.shape[0]:,} x {db.shape[1]} vectors, {len(q)} queries, truth in {time.perf_counter() - t0:.0f}s")
        specs = split_specs(getattr(args, f"{name}_specs"))
        results = []
        for spec in specs:
            t1 = time.perf_counter()
            results.append(bench_index(spec, db, q, truth, fp, args.nq_single, args.min_s, not args.no_raw, args.rebuild))
            log(f"  {spec}: {time.perf_counter() - t1:.0f}s{' (index reused)' if results[-1]['reused'] else ''}")
        if not args.no_raw and len(db) <= args.hnswlib_max:
            t1 = time.perf_counter()
            results.append(bench_hnswlib(db, q, truth, fp, args.nq_single, args.min_s, args.rebuild))
            log(f"  hnswlib: {time.perf_counter() - t1:.0f}s")
        title = f"{name}: {db.shape[0]:,} x {db.shape[1]}"
        print_table(title, results)
        plot(f"{title}, recall@10 vs single-query QPS", results, args.plots / f"ann-{name}.png")
        report["datasets"][name] = {"n": len(db), "dim": db.shape[1], "nq": len(q), "results": results}
        report["peak_rss_process_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        del db, q
        gc.collect()
    report["run_s"] = time.perf_counter() - t_run
    report["loadavg_end"] = os.getloadavg()
    log(f"run took {report['run_s']:.0f}s; load average {report['loadavg_start']} at start, {report['loadavg_end']} at end")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


def split_specs(text: str) -> list[str]:
    """'flat,ivf512,pq32,ivf512,pq32,polysemous,lsh256' -> one spec per index (commas also join parts)."""
    out: list[str] = []
    for tok in text.split(","):
        if tok.startswith(("pq", "polysemous")) and out:
            out[-1] += "," + tok
        else:
            out.append(tok)
    return out


if __name__ == "__main__":
    main()
