"""Scaling figures for docs/scaling.md: Milvus Lite against the local store, and Ray indexing.

    flock /tmp/pixseek-bench.lock python benchmarks/scaling.py [--part milvus|ray|all] [--ray-images 2000]

milvus: the 10,000 Tiny ImageNet val vectors (from the quality benchmark's collection in
  benchmarks/cache/val-db, copied, never modified) are upserted into Milvus Lite; every image's vector is
  then a query through both stores (exact on both) and the top-10 lists are compared; word queries and
  `similar` go through the Collection API on both. Then insert rate, query latency one at a time and in
  batches, and HNSW recall@10 against exact search for a sweep of ef.
ray: the same 2,000 val photos indexed single-process (workers=0) and on a local Ray (one actor per
  core); catalog rows and vector files must be identical; wall times give Ray's overhead per image.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CACHE, TINY, require  # noqa: E402

from pixseek import Collection  # noqa: E402
from pixseek.store.catalog import Catalog  # noqa: E402
from pixseek.store.milvus import MilvusVectorStore, milvus_index, parse_db  # noqa: E402
from pixseek.store.milvus.client import milvus_client  # noqa: E402


def log(msg: str) -> None:
    print(msg, flush=True)


def timed_single(search, queries: np.ndarray, k: int = 10) -> tuple[float, float]:
    """(median, p95) ms for one query per request."""
    times = []
    for q in queries:
        t = time.perf_counter()
        search(q[None], k)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), float(np.percentile(times, 95))


def timed_batch(search, queries: np.ndarray, k: int = 10) -> float:
    """Queries per second for one request carrying all queries."""
    t = time.perf_counter()
    search(queries, k)
    return len(queries) / (time.perf_counter() - t)


def same_top10(a_ids, a_scores, b_ids, b_scores) -> tuple[int, int]:
    """(identical lists, lists that differ only in the order of scores tied within 1e-6)."""
    same = ties = 0
    for ai, asc, bi, bsc in zip(a_ids, a_scores, b_ids, b_scores):
        if list(ai) == list(bi):
            same += 1
        elif np.allclose(asc, bsc, atol=1e-6) and set(ai[asc > asc[-1] + 1e-6]) == set(bi[bsc > bsc[-1] + 1e-6]):
            ties += 1
    return same, ties


def part_milvus(work: Path, out: dict) -> None:
    src = require(CACHE / "val-db")
    local_dir = work / "local"
    shutil.copytree(src, local_dir)
    local = Collection.open(local_dir)
    n = local.status()["images"]
    ids = np.array(sorted(local.catalog.live_ids()))
    vis, probs = local.visual.get(ids), local.probs.get(ids)
    meta_rows = local.catalog.db.execute("SELECT content_id, path, mtime_ns, size FROM files WHERE status='ok'").fetchall()
    meta = {cid: (p, m, s) for cid, p, m, s in meta_rows}
    log(f"local collection: {n} images, visual {vis.shape[1]}-d, probs {probs.shape[1]}-d")

    t = time.perf_counter()
    target = parse_db(f"milvus-lite://{work}/m.db")
    client = milvus_client(target)
    out["lite_start_s"] = round(time.perf_counter() - t, 3)
    log(f"Milvus Lite server start + connect: {out['lite_start_s']} s")

    rates = {}
    for name, vecs in (("visual", vis), ("probs", probs)):
        store = MilvusVectorStore(client, f"{target.name}_{name}", vecs.shape[1], milvus_index("exact"), 0, [], writer=True)
        t = time.perf_counter()
        for start in range(0, len(ids), 1000):
            part = ids[start : start + 1000]
            store.add(part, vecs[start : start + 1000], meta=[meta[int(i)] for i in part])
        rates[name] = len(ids) / (time.perf_counter() - t)
        log(f"upsert {name} ({vecs.shape[1]}-d): {rates[name]:,.0f} vectors/s")
    out["insert_vectors_per_s"] = {k: round(v) for k, v in rates.items()}

    # the catalog goes beside the Milvus Lite file, tied to it, as `Collection.open(URI)` expects
    shutil.copytree(local_dir, target.catalog, ignore=shutil.ignore_patterns("*.float16"))
    cat = Catalog(target.catalog / "catalog.sqlite")
    cat.begin()
    cat.set_meta("vectors", target.uri)  # what `record_store` writes for a new collection
    cat.commit()
    cat.close()
    mil = Collection.open(f"milvus-lite://{work}/m.db")

    # every image's vector as a query, exact search on both stores
    ls, li = local.visual.search(vis, 10)
    ms, mi = mil.visual.search(vis, 10)
    same, ties = same_top10(li, ls, mi, ms)
    out["top10_identical"] = {"queries": len(vis), "identical": same, "tie_order_only": ties}
    log(f"image queries, top-10 local vs Milvus Lite (exact): {same}/{len(vis)} identical, {ties} differ only in tied order")
    words = sorted({line.split("\t")[1].split(",")[0].strip() for line in (TINY / "words.txt").read_text().splitlines()
                    if (TINY / "val" / line.split("\t")[0]).is_dir()})
    w_same = w_n = 0
    for w in words:
        try:
            a = [h.path for h in local.search(w, k=10)]
        except Exception:  # a class name the word vectors do not know
            continue
        w_n += 1
        w_same += a == [h.path for h in mil.search(w, k=10)]
    sim = [p for p, in local.catalog.db.execute("SELECT path FROM files ORDER BY path").fetchall()[::100]]
    s_same = sum([h.path for h in local.similar(p, k=10)] == [h.path for h in mil.similar(p, k=10)] for p in sim)
    out["collection_api_identical"] = {"words": [w_same, w_n], "similar": [s_same, len(sim)]}
    log(f"Collection.search (class names): {w_same}/{w_n} identical top-10; Collection.similar: {s_same}/{len(sim)}")

    rng = np.random.default_rng(0)
    q = vis[rng.choice(len(vis), 1000, replace=False)]
    lat = {}
    for label, store in (("local", local.visual), ("milvus_lite_exact", mil.visual)):
        med, p95 = timed_single(store.search, q[:200])
        qps = timed_batch(store.search, q)
        lat[label] = {"single_ms_median": round(med, 2), "single_ms_p95": round(p95, 2), "batch1000_qps": round(qps)}
        log(f"{label}: one at a time {med:.2f} ms median ({p95:.2f} p95), batch of 1000: {qps:,.0f} queries/s")
    out["latency"] = lat

    # HNSW: recall@10 against exact
    exact_ids = mil.visual.search(q, 10)[1]
    for m in (32,):
        t = time.perf_counter()
        h = MilvusVectorStore(client, f"hnsw{m}_visual", vis.shape[1], milvus_index(f"hnsw{m}"), 0, [], writer=True)
        for start in range(0, len(ids), 1000):
            h.add(ids[start : start + 1000], vis[start : start + 1000])
        client.flush(h.name)
        while client.describe_index(h.name, "vector").get("pending_index_rows", 0):
            time.sleep(0.2)
        out[f"hnsw{m}_build_s"] = round(time.perf_counter() - t, 2)
        log(f"hnsw{m}: insert + build {out[f'hnsw{m}_build_s']} s for {len(ids)} vectors")
        sweep = []
        for ef in (16, 32, 64, 128):
            store = MilvusVectorStore(client, h.name, vis.shape[1], milvus_index(f"hnsw{m}", ef=ef), len(ids), ids.tolist())
            got = store.search(q, 10)[1]
            recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(got, exact_ids)])
            med, p95 = timed_single(store.search, q[:200])
            qps = timed_batch(store.search, q)
            sweep.append({"ef": ef, "recall10": round(float(recall), 4), "single_ms_median": round(med, 2),
                          "batch1000_qps": round(qps)})
            log(f"hnsw{m} ef={ef}: recall@10 {recall:.4f}, one at a time {med:.2f} ms, batch of 1000: {qps:,.0f} queries/s")
        out[f"hnsw{m}"] = sweep
    local.close()
    mil.close()


def snapshot(db: Path) -> tuple:
    con = sqlite3.connect(db / "catalog.sqlite")
    rows = (con.execute("SELECT id, hash, width, height, live FROM contents ORDER BY id").fetchall(),
            con.execute("SELECT path, size, mtime_ns, hash, status, error, content_id FROM files ORDER BY path").fetchall())
    con.close()
    return rows, (db / "visual.float16").read_bytes(), (db / "probs.float16").read_bytes()


def part_ray(work: Path, n_images: int, out: dict) -> None:
    import ray

    photos = work / "photos"
    classes = sorted(p for p in require(TINY / "val").iterdir() if p.is_dir())
    per = -(-n_images // len(classes))
    files = [f for c in classes for f in sorted(c.glob("*.JPEG"))[:per]][:n_images]
    for f in files:  # copies, so nothing is ever written near the shared data
        (photos / f.parent.name).mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, photos / f.parent.name / f.name)
    log(f"ray: {len(files)} val photos")
    with Collection.open(work / "single") as col:
        _ = col.encoder  # load the model outside the timing; the Ray actors load theirs inside it
        t = time.perf_counter()
        r1 = col.index([photos], progress=False, workers=0)
        single_s = time.perf_counter() - t
    log(f"single process (workers=0): {single_s:.1f} s, {1000 * single_s / r1.indexed:.1f} ms/image")
    t = time.perf_counter()
    ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
    init_s = time.perf_counter() - t
    cpus = int(ray.cluster_resources().get("CPU", 1))
    log(f"ray.init (local, {cpus} CPUs): {init_s:.1f} s")
    with Collection.open(work / "ray") as col:
        _ = col.encoder
        t = time.perf_counter()
        r2 = col.index([photos], progress=False, ray="local")
        ray_s = time.perf_counter() - t
    ray.shutdown()
    identical = snapshot(work / "single") == snapshot(work / "ray")
    log(f"ray ({cpus} actors, includes actor start and model load): {ray_s:.1f} s, {1000 * ray_s / r2.indexed:.1f} ms/image")
    log(f"catalog and vectors identical to the single-process run: {identical} "
        f"(indexed {r1.indexed} / {r2.indexed}, failed {r1.failed} / {r2.failed})")
    out["ray"] = {"images": len(files), "single_s": round(single_s, 2), "ray_init_s": round(init_s, 2), "ray_s": round(ray_s, 2),
                  "actors": cpus, "identical": identical,
                  "overhead_ms_per_image": round(1000 * (ray_s * cpus - single_s) / r2.indexed, 2)}
    log(f"ray overhead: {out['ray']['overhead_ms_per_image']} ms of CPU per image "
        f"(ray wall x actors - single-process wall, per image)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", choices=("milvus", "ray", "all"), default="all")
    ap.add_argument("--ray-images", type=int, default=2000)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    out: dict = {}
    with tempfile.TemporaryDirectory(prefix="pixseek-scaling-") as tmp:
        if args.part in ("milvus", "all"):
            (Path(tmp) / "milvus").mkdir()
            part_milvus(Path(tmp) / "milvus", out)
        if args.part in ("ray", "all"):
            (Path(tmp) / "ray").mkdir()
            part_ray(Path(tmp) / "ray", args.ray_images, out)
    if args.json:
        print(json.dumps(out))


if __name__ == "__main__":
    main()
