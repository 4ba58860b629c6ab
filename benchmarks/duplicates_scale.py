"""Near-duplicate grouping at scale: wall time of `Collection.duplicates` on a large collection, and the
recall of its candidate search against an exact join.

    flock /tmp/pixseek-bench.lock python benchmarks/duplicates_scale.py --n 100000 --db /tmp/syn100k [--sample 5000]

The collection is built once at DB by benchmarks/synthetic.py (real photo vectors, reused with noise)
when DB does not exist yet. Recall: for `--sample` photos, the pairs an exact join over the full image
features keeps (each photo's 10 closest at or above the candidate cosine) that the shipped search also
keeps. Then the share of the time the pixel check of candidate pairs takes: thumbnails read (kept in the
collection since indexing, store/pixel_signatures.py), pairs checked.

A collection without kept thumbnails (one built by benchmarks/synthetic.py, or indexed before they were
kept) first gets them as its next `pixseek index` run would (ingest/signature_stage.py), timed on its own.

Any indexed collection can be given instead (`--db` of a `pixseek index` run: its `db` folder or the
collection itself), e.g. the 10,000 Tiny ImageNet val photos, a shorter run on real files.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import synthetic  # noqa: E402

from pixseek.ingest.signature_stage import fill_thumbnails  # noqa: E402
from pixseek.interfaces.collection import Collection  # noqa: E402
from pixseek.search import duplicates as dup  # noqa: E402
from pixseek.store import pixel_signatures  # noqa: E402
from pixseek.store.lock import index_lock  # noqa: E402


def exact_recall(col: Collection, sample: int) -> tuple[float, int]:
    """(recall, true pairs) of the shipped candidate search for the first `sample` photos."""
    dim, _ = col.layout.dims()
    ids = np.unique(np.array(col.catalog.live_ids(), np.int64))
    f = dup.unit_features(col.visual, ids, dim)
    found = dup.scored_pairs(f, dup.candidates(f, dup.CANDIDATES), dup.CANDIDATE)
    hit = total = 0
    for start in range(0, sample, 500):
        sims = f[start:start + 500] @ f.T
        for r, row in enumerate(sims):
            me = start + r
            row[me] = -2.0
            top = np.argsort(-row)[: dup.NEIGHBOURS]
            for other in top[row[top] >= dup.CANDIDATE].tolist():
                total += 1
                hit += (min(me, other), max(me, other)) in found
    return hit / max(total, 1), total


def check_cost(col: Collection) -> dict:
    """The candidate pairs of the shipped search and what checking them on their pixels costs."""
    dim, _ = col.layout.dims()
    ids = np.unique(np.array(col.catalog.live_ids(), np.int64))
    f = dup.unit_features(col.visual, ids, dim)
    files = col.catalog.files_of_contents()
    small = [0 < max((h[1] for h in files.get(int(i), [])), default=0) <= dup.SMALL for i in ids]
    floor = np.where(small, dup.CANDIDATE_SMALL, dup.CANDIDATE).astype(np.float32)  # as group_features does
    pairs = dup.scored_pairs(f, dup.candidates(f, min(dup.CANDIDATES, len(ids) - 1)), floor)
    paths = col.catalog.paths_of(ids.tolist())
    rows = sorted({i for pair in pairs for i in pair})
    start = time.perf_counter()
    kept = pixel_signatures.KeptThumbnails(col.layout.folder, pixel_signatures.content_keys(col.catalog.db))
    thumbs = kept([int(ids[i]) for i in rows])
    checker = dup.Checker({i: paths.get(int(ids[i])) for i in rows},
                          {i: thumbs[int(ids[i])] for i in rows if int(ids[i]) in thumbs})
    checker.read(rows)
    read = time.perf_counter() - start
    matches = checker.many(pairs)
    checked = time.perf_counter() - start - read
    verified = sum(m is not None and m.score >= dup.THRESHOLD for m in matches.values())
    return {"pairs": len(pairs), "photos": len(rows), "kept": len(thumbs), "read_s": read, "check_s": checked,
            "verified": verified}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--db", type=Path, required=True, help="folder of the synthetic collection (built if absent)")
    p.add_argument("--sample", type=int, default=5000, help="photos whose pairs are checked against an exact join")
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    if not args.db.exists():
        print(json.dumps(synthetic.build(args.db, args.n)))
    folder = args.db / "db" if (args.db / "db").is_dir() else args.db
    with Collection.open(folder) as col, index_lock(col.layout.folder):
        start = time.perf_counter()
        made = fill_thumbnails(col.layout, progress=False)
        if made:
            print(f"pixel thumbnails made for {made:,} photos (as the next index run makes them): "
                  f"{time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    with Collection.open(folder) as col:
        opened = time.perf_counter() - start
        groups = col.duplicates(progress=False)
        seconds = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        photos = len(col.catalog.live_ids())
        print(f"{photos:,} photos: {len(groups):,} groups holding {sum(len(g.paths) for g in groups):,} photos, "
              f"largest {max((len(g.paths) for g in groups), default=0)}; {seconds:.1f} s wall "
              f"({opened:.1f} s opening the collection), peak RSS {peak:.0f} MB")
        kinds = {k: sum(g.kind == k for g in groups) for k in ("copies", "burst")}
        print(f"groups of copies {kinds['copies']:,}, bursts {kinds['burst']:,}")
        check = check_cost(col)
        print(f"pixel check: {check['pairs']:,} candidate pairs of {check['photos']:,} photos ({check['kept']:,} with "
              f"a kept thumbnail); reading them {check['read_s']:.1f} s, checking {check['check_s']:.1f} s; "
              f"{check['verified']:,} pairs verified")
        recall, total = exact_recall(col, min(args.sample, photos))
        print(f"pair recall against an exact join: {recall:.3f} ({total:,} pairs of {args.sample:,} photos)")
    if args.json:
        args.json.write_text(json.dumps({"photos": photos, "groups": len(groups), "seconds": round(seconds, 2),
                                         "open_s": round(opened, 2), "peak_mb": round(peak), "pair_recall": recall,
                                         "check": check}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
