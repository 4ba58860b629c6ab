"""What filters and the cut-off cost a search, over an indexed collection (default: a copy of the 10,000
Tiny ImageNet val photos that benchmarks/quality.py indexes into benchmarks/cache/tiny-val-db).

    python benchmarks/filters.py [--db DIR] [--repeat 30]

Prints one line per case: median and 90th-percentile ms per call (warm: each case runs once first), and
how many results came back. Narrow filter: one class folder (50 of 10,000 photos); broad: every JPEG.
A collection remembers the ids of its last few filters while the catalog is unchanged (paging asks once):
the "first call" cases forget them before every call. A broad filter that is not everything: the copy's
catalog gets a date taken in 1990 for every tenth file, so `after=2000-01-01` leaves 90% of the photos.
`--index hnsw32` runs the same over an HNSW index (built in the copy).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from common import CACHE, require  # noqa: E402

from pixseek import Collection  # noqa: E402
from pixseek.search import filters  # noqa: E402


def timed(fn, repeat: int) -> tuple[float, float, int]:
    n = len(fn())  # warm
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return float(np.median(times)), float(np.percentile(times, 90)), n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default=str(CACHE / "tiny-val-db"))
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--index", default=None, help="reindex the copy with this index first (e.g. hnsw32)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "db"
        shutil.copytree(require(Path(args.db)), db, ignore=shutil.ignore_patterns("index.lock"))
        col = Collection.open(db)
        col.catalog.db.execute("UPDATE files SET taken_ns = 631152000000000000 WHERE content_id % 10 = 0")
        col.index([Path(p).parent.parent for p in [col.catalog.db.execute("SELECT path FROM files").fetchone()[0]]],
                  progress=False)  # fills in every other date taken (a schema-2 copy), keeps the ones set above
        if args.index:
            col.reindex(args.index)
        paths = [r[0] for r in col.catalog.db.execute("SELECT path FROM files WHERE status='ok' ORDER BY path")]
        folder = str(Path(paths[0]).parent)
        query = paths[1]
        print(f"{col.status()['images']} photos, index {col.status()['index']['type']}; narrow folder {folder}")
        cases = [
            ("search dog, no cut-off", lambda: col.search("dog", k=30, min_score=0)),
            ("search dog, default cut-off", lambda: col.search("dog", k=30)),
            ("search dog, under one folder", lambda: col.search("dog", k=30, min_score=0, under=folder)),
            ("search dog, type jpg (all)", lambda: col.search("dog", k=30, min_score=0, type="jpg")),
            ("search 'a dog on the beach', under", lambda: col.search("a dog on the beach", k=30, min_score=0,
                                                                       under=folder)),
            ("similar, no filter", lambda: col.similar(query, k=30, min_score=0)),
            ("similar, under one folder", lambda: col.similar(query, k=30, min_score=0, under=folder)),
            ("similar, type jpg (all)", lambda: col.similar(query, k=30, min_score=0, type="jpg")),
            ("search dog, after 2000-01-01 (90%)", lambda: col.search("dog", k=30, min_score=0, after="2000-01-01")),
            ("similar, after 2000-01-01 (90%)", lambda: col.similar(query, k=30, min_score=0, after="2000-01-01")),
            ("first call: search dog, under one folder",
             lambda: filters._MEMO.clear() or col.search("dog", k=30, min_score=0, under=folder)),
            ("first call: search dog, type jpg (all)",
             lambda: filters._MEMO.clear() or col.search("dog", k=30, min_score=0, type="jpg")),
            ("first call: similar, under one folder",
             lambda: filters._MEMO.clear() or col.similar(query, k=30, min_score=0, under=folder)),
        ]
        for name, fn in cases:
            med, p90, n = timed(fn, args.repeat)
            print(f"{name:42s} median {med:6.1f} ms  p90 {p90:6.1f} ms  results {n}")
        col.close()


if __name__ == "__main__":
    main()
