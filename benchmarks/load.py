"""Bounded HTTP load test of `pixseek serve` on loopback: requests/s and p50/p99 latency.

    flock /tmp/pixseek-bench.lock python benchmarks/load.py [--db DIR] [--clients 1,8,32] [--seconds 10]

Starts the real server (`python -m pixseek serve`) on a free loopback port over the 10,000-photo Tiny
ImageNet val collection (indexed into --db first if it is empty), then for each scenario and each number
of concurrent clients runs closed-loop asyncio/httpx clients for --seconds: each client sends its next
request as soon as the previous one answers. Text search: ImageNet class names as queries. Upload
search: Tiny ImageNet *train* photos, which are not in the val collection, so every request decodes the
upload and runs the encoder. The clients share the machine's cores with the server; on a small machine
they take part of its CPU, so the figures are a lower bound for the server alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("PIXSEEK_TEST_DATA", ROOT.parent / "shared" / "data"))
TINY = DATA / "tiny-imagenet-200"


def text_queries() -> list[str]:
    """One query per Tiny ImageNet class: its first name in words.txt, quoted when it has several words
    ("potter's wheel" unquoted would be two words, one of them unknown)."""
    wnids = (TINY / "wnids.txt").read_text().split()
    names = dict(line.split("\t") for line in (TINY / "words.txt").read_text().splitlines())
    firsts = [names[w].split(",")[0].strip() for w in wnids]
    return [f'"{n}"' if " " in n else n for n in firsts]


def upload_images(n: int = 200) -> list[bytes]:
    files = sorted((TINY / "train").glob("*/*.JPEG"))
    return [f.read_bytes() for f in files[:: max(1, len(files) // n)][:n]]


def ensure_index(db: Path) -> None:
    if (db / "catalog.sqlite").exists():
        return
    print(f"indexing {TINY / 'val'} into {db} (once)...", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "pixseek", "index", str(TINY / "val"), "--db", str(db), "--no-progress"],
                   check=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "pixseek", "serve", "--db", str(db), "--port", str(port)])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("the server did not answer /api/health within 120 s")


async def run_load(base: str, scenario: str, clients: int, seconds: float, queries: list, k: int) -> dict:
    """Closed loop: `clients` tasks, each sending its next request when the last one answered."""
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def client(n: int, http: httpx.AsyncClient) -> None:
        nonlocal errors
        i = n
        while time.perf_counter() < deadline:
            q = queries[i % len(queries)]
            i += clients
            t = time.perf_counter()
            if scenario == "text":
                r = await http.get("/api/search", params={"q": q, "k": k})
            else:
                r = await http.post("/api/similar", params={"k": k}, files={"file": ("q.jpg", q, "image/jpeg")})
            latencies.append(time.perf_counter() - t)
            errors += r.status_code != 200

    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as http:
        start = time.perf_counter()
        await asyncio.gather(*(client(n, http) for n in range(clients)))
        elapsed = time.perf_counter() - start
    ms = np.array(latencies) * 1000
    return {"scenario": scenario, "clients": clients, "requests": len(ms), "errors": errors,
            "seconds": round(elapsed, 2), "rps": round(len(ms) / elapsed, 1),
            "p50_ms": round(float(np.percentile(ms, 50)), 1), "p99_ms": round(float(np.percentile(ms, 99)), 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", type=Path, help="collection of tiny-imagenet-200/val (default: a temporary one, indexed now)")
    ap.add_argument("--clients", default="1,8,32", help="comma-separated concurrency levels")
    ap.add_argument("--seconds", type=float, default=10.0, help="duration of each setting")
    ap.add_argument("--scenarios", default="text,upload")
    ap.add_argument("-k", type=int, default=30, help="results per request (one page of the web page)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if not (TINY / "val").is_dir():
        sys.exit(f"benchmark data not found: {TINY / 'val'} (set PIXSEEK_TEST_DATA to the shared data folder)")
    tmp = None
    db = args.db
    if db is None:
        tmp = tempfile.TemporaryDirectory()
        db = Path(tmp.name) / "val.pixseek"
    ensure_index(db)
    port = free_port()
    server = start_server(db, port)
    base = f"http://127.0.0.1:{port}"
    inputs = {"text": text_queries(), "upload": upload_images()}
    rows = []
    try:
        for scenario in args.scenarios.split(","):
            asyncio.run(run_load(base, scenario, 1, 2.0, inputs[scenario], args.k))  # warm-up
            for c in (int(v) for v in args.clients.split(",")):
                row = asyncio.run(run_load(base, scenario, c, args.seconds, inputs[scenario], args.k))
                rows.append(row)
                if not args.json:
                    print(f"{scenario:7s} clients={c:3d}  {row['rps']:7.1f} req/s  p50 {row['p50_ms']:8.1f} ms  "
                          f"p99 {row['p99_ms']:8.1f} ms  ({row['requests']} requests, {row['errors']} errors)", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)
        if tmp:
            tmp.cleanup()
    if args.json:
        print(json.dumps({"cpus": os.cpu_count(), "k": args.k, "seconds": args.seconds, "results": rows}))


if __name__ == "__main__":
    main()
