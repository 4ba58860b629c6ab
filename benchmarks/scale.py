"""A million photos on one machine: build a collection of N real-shaped photos, serve it, measure it.

    flock /tmp/pixseek-bench.lock python benchmarks/scale.py --n 1000000 --db /tmp/syn1m/db [--json out.json]
    flock /tmp/pixseek-bench.lock python benchmarks/scale.py --db /tmp/syn1m/db --add 10000

Build (only when DB holds no collection yet): benchmarks/synthetic.py writes N photos' vectors and catalog
rows through pixseek's own stores (real photo vectors reused with perturbations; every row's path is a
symlink to a real photo, in PHOTOS, default DB-photos), then the collection is opened as `pixseek index`
leaves it: the image index `auto` picks, the class postings, the joint-space vectors and their index.

Measure: a real `pixseek serve` on DB answers, one client, one request at a time, after one warm-up
request of each kind (its times are printed too), keyword searches, sentence searches, similar-by-image
and tags of indexed photos (each query set twice; p50/p99 over all); its peak RSS (VmHWM) is read at the
end. Recall@10 of the same queries against exact search (every store's
own full scan, in this process) and a cold CLI `pixseek search` (three runs) complete the figures.

--add M: M more photos' vectors written into DB the way an index run writes them (vectors, catalog rows,
the image index and postings saved), then the derived vectors and their index brought up to date; prints
the seconds (making the vectors, which stands in for embedding, is not part of it).
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import synthetic  # noqa: E402

KEYWORDS = ["dog", "cat", "car", "bird", "fish", "truck", "beach", "flower", "boat", "horse", "chair", "bridge",
            "pizza", "snake", "monkey", "train", "butterfly", "mountain", "bottle", "guitar", "dog beach",
            "dog -grass", "2:sunset cat", "red car", "kitchen"]
SENTENCES = ["two children playing in the snow", "a man riding a bicycle down the street",
             "a dog running on the beach", "a group of people standing in front of a building",
             "a woman sitting on a bench in the park", "a boy jumping into a swimming pool",
             "a black and white dog catching a frisbee", "people walking through a busy market",
             "a little girl in a pink dress", "a car parked next to a tree", "a bird sitting on a branch",
             "a plate of food on a table", "a man climbing a rock wall", "two dogs playing in the grass",
             "a sailboat on the water at sunset"]


def build(db: Path, photos: Path, n: int) -> dict:
    """Rows and catalog through synthetic.py, then everything `pixseek index` leaves: timed by stage."""
    t0 = time.perf_counter()
    synthetic.write_rows(db, photos, n)
    rows_s = time.perf_counter() - t0
    stages = synthetic.finish(db)
    return {"rows_s": round(rows_s, 1), **stages, "build_s": round(time.perf_counter() - t0, 1)}


def add(db: Path, photos: Path, m: int) -> dict:
    """M more photos written as an index run writes them (vectors, catalog), then saved and derived."""
    from pixseek.interfaces.collection import Collection

    with Collection.open(db) as col:
        start = col.catalog.rows()
    sources = synthetic.real_photos()  # stands in for embedding the new photos: not timed
    t = time.perf_counter()
    synthetic.write_rows(db, photos, start + m, start=start, sources=sources)
    written = time.perf_counter() - t
    stages = synthetic.finish(db)
    return {"added": m, "rows_before": start, "write_s": round(written, 1), **stages,
            "total_s": round(time.perf_counter() - t, 1)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 1)


def sample_photos(db: Path, count: int) -> dict[int, str]:
    """content id -> path of `count` photos picked at random (the same ones every run)."""
    from pixseek.interfaces.collection import Collection

    with Collection.open(db) as col:
        ids = np.array(col.catalog.live_ids(), np.int64)
        pick = np.random.default_rng(7).choice(ids, count, replace=False).tolist()
        paths = col.catalog.paths_of(pick)
    return {i: paths[i] for i in pick}


def serve(db: Path, paths: list[str], warm_path: str) -> dict:
    """Latency of every query kind against a real server, and its peak RSS."""
    import httpx

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    t0 = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "pixseek", "serve", "--db", str(db), "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    out: dict = {}
    try:
        with httpx.Client(timeout=120) as client:
            for _ in range(600):
                try:
                    client.get(f"{base}/api/health").raise_for_status()
                    break
                except httpx.HTTPError:
                    time.sleep(0.2)
            else:
                sys.exit("pixseek serve did not start: " + server.stderr.read().decode()[-2000:])
            out["server_ready_s"] = round(time.perf_counter() - t0, 1)
            warm = [("/api/search", {"q": "apple", "k": 30}), ("/api/search", {"q": "a man on a horse", "k": 30}),
                    ("/api/similar", {"path": warm_path, "k": 30}), ("/api/tag", {"path": warm_path})]
            for url, params in warm:  # what a server pays once (tag vocabulary, first sentence encoding)
                t = time.perf_counter()
                client.get(base + url, params=params).raise_for_status()
                out.setdefault("warm_up_ms", []).append(round((time.perf_counter() - t) * 1000, 1))
            kinds = {"keyword": [("/api/search", {"q": q, "k": 30}) for q in KEYWORDS],
                     "sentence": [("/api/search", {"q": q, "k": 30}) for q in SENTENCES],
                     "similar": [("/api/similar", {"path": p, "k": 30}) for p in paths],
                     "tag": [("/api/tag", {"path": p}) for p in paths]}
            for kind, requests in kinds.items():
                times = []
                for _ in range(2):
                    for url, params in requests:
                        t = time.perf_counter()
                        client.get(base + url, params=params).raise_for_status()
                        times.append((time.perf_counter() - t) * 1000)
                out[kind] = {"p50_ms": pct(times, 50), "p99_ms": pct(times, 99), "first_ms": round(times[0], 1),
                             "requests": len(times)}
                print(f"  {kind}: p50 {out[kind]['p50_ms']} ms, p99 {out[kind]['p99_ms']} ms", flush=True)
        out["server_peak_rss_mb"] = round(peak_rss_mb(server.pid), 0)
    finally:
        server.terminate()
        server.wait(timeout=60)
    return out


def recall(db: Path, photos: dict[int, str]) -> dict:
    """recall@10 of the served (indexed) answers against every store's exact scan, same queries."""
    from dataclasses import replace

    from pixseek.interfaces.collection import Collection
    from pixseek.search.engine import Searcher
    from pixseek.search.request import SearchRequest
    from pixseek.store.ann import IndexedVectorStore
    from pixseek.store.class_postings import PostingsStore

    def exact(store):
        return store.store if isinstance(store, IndexedVectorStore | PostingsStore) else store

    out = {}
    with Collection.open(db) as col:
        fast = col.searcher
        ctx = fast.context
        slow = Searcher(exact(fast.visual), replace(ctx, class_store=exact(ctx.class_store),
                                                    joint_store=exact(ctx.joint_store),
                                                    visual_store=exact(ctx.visual_store)), fast.words, fast.wordnet)
        for kind, queries in (("keyword", KEYWORDS), ("sentence", SENTENCES)):
            hits = []
            for q in queries:
                a = {h.id for h in fast.search(SearchRequest(q, k=10, min_score=0)).hits}
                b = {h.id for h in slow.search(SearchRequest(q, k=10, min_score=0)).hits}
                hits.append(len(a & b) / max(1, len(b)))
            out[kind] = round(float(np.mean(hits)), 3)
        ids = np.array(list(photos), np.int64)
        queries = fast.visual.get(ids)
        truth = exact_neighbours(exact(fast.visual), queries, ids)  # one pass over every stored row
        hits = []
        for cid, v, want in zip(ids.tolist(), queries, truth):
            got = {h.id for h in fast.similar(v, k=10, exclude={cid}, min_score=0)}
            hits.append(len(got & want) / 10)
        out["similar"] = round(float(np.mean(hits)), 3)
    print(f"  recall@10 against exact: {out}", flush=True)
    return out


def exact_neighbours(store, queries: np.ndarray, ids: np.ndarray, k: int = 10) -> list[set[int]]:
    """Each query's exact k nearest live rows other than itself, in one pass over the store's rows."""
    from pixseek.store.topk import TopK

    best = TopK(len(queries), k + 1)
    for start in range(0, store.rows, 65536):
        part = np.arange(start, min(store.rows, start + 65536))
        scores = queries @ store.get(part).T
        scores[:, ~store.live[part]] = -np.inf
        best.push(scores, start)
    found = best.result()[1]
    return [set([i for i in row.tolist() if i != me][:k]) for row, me in zip(found, ids.tolist())]


def cold_cli(db: Path, runs: int = 3) -> list[float]:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "pixseek", "search", "dog", "--db", str(db)], check=True,
                       stdout=subprocess.DEVNULL)
        times.append(round(time.perf_counter() - t, 2))
    print(f"  cold `pixseek search dog`: {times} s", flush=True)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=0, help="photos to build when DB holds no collection yet")
    ap.add_argument("--db", type=Path, required=True, help="the collection folder")
    ap.add_argument("--photos", type=Path, default=None, help="folder of the rows' symlinks (default DB-photos)")
    ap.add_argument("--add", type=int, default=0, help="add this many photos' vectors and time it (then stop)")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    ap.add_argument("--no-recall", action="store_true", help="skip the exact searches (minutes at 1M)")
    args = ap.parse_args()
    photos = args.photos or args.db.with_name(args.db.name + "-photos")
    report: dict = {}
    if args.add:
        report["add"] = add(args.db, photos, args.add)
        print(json.dumps(report["add"]), flush=True)
    else:
        if not (args.db / "catalog.sqlite").exists():
            if not args.n:
                sys.exit(f"{args.db} holds no collection: give --n to build one")
            report["build"] = build(args.db, photos, args.n)
            print(json.dumps(report["build"]), flush=True)
        report["photos"] = synthetic.photo_count(args.db)
        report["disk_bytes"] = sum(f.stat().st_size for f in args.db.rglob("*") if f.is_file())
        photos_used = sample_photos(args.db, 26)
        warm_id = list(photos_used)[-1]
        warm_path = photos_used.pop(warm_id)
        report["serve"] = serve(args.db, list(photos_used.values()), warm_path)
        report["cold_cli_s"] = cold_cli(args.db)
        if not args.no_recall:
            report["recall_at_10"] = recall(args.db, photos_used)
        print(json.dumps(report, indent=1))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
