"""Warm search latency of a taught word against a keyword, on the benchmarks/teach.py collection.

    flock /tmp/pixseek-bench.lock python benchmarks/teach_latency.py [--db benchmarks/cache/teach-db]

Teaches "taughtword" from 3 MiniPlaces kitchens, then times 30 searches (k=20) of it and of `kitchen`, twice
each, alternating; prints the medians. Build the collection first with benchmarks/teach.py.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from common import CACHE  # noqa: E402

from pixseek import Collection  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default=str(CACHE / "teach-db"))
    args = ap.parse_args()
    db = Path(args.db)
    col = Collection.open(db)
    for c in col.concepts():
        col.forget(c["name"])
    kitchens = db.parent / (db.name + "-photos") / "miniplaces" / "val" / "kitchen"
    col.teach("taughtword", sorted(str(p) for p in kitchens.glob("*.jpg"))[:3])

    def median_ms(query: str, n: int = 30) -> float:
        col.search(query, k=20)
        times = []
        for _ in range(n):
            t = time.perf_counter()
            col.search(query, k=20)
            times.append(time.perf_counter() - t)
        return 1000 * float(np.median(times))

    for query in ("taughtword", "kitchen", "taughtword", "kitchen"):
        print(f"{query:10s} median {median_ms(query):.1f} ms", flush=True)
    col.forget("taughtword")


if __name__ == "__main__":
    main()
