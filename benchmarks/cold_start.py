"""Cold-start time of the CLI: a fresh `pixseek` process per query (the OS page cache warm, the process
cold), for a keyword, a sentence and `tag PHOTO`. Each command runs once to warm the page cache and the
build-once caches, then `--runs` times; prints median and max wall seconds (fork + exec included, as
`/usr/bin/time` counts them) and the load average before each row (other jobs inflate every figure).

A query's sentence vectors are kept in the cache folder once encoded (lexicon/phrase_store.py), so the
rows above time a repeated query; `keyword-new` times the same keyword as a first-ever query: its kept
vector is forgotten before every run, so each run opens the MiniLM session.

    flock /tmp/pixseek-bench.lock python benchmarks/cold_start.py --db benchmarks/cache/tiny-val-db
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CACHE, TINY, require  # noqa: E402

GOAL_S = 0.4  # issue 14: a cold `pixseek search` at N = 10,000


def commands(db: str, photo: Path, src: str | None) -> dict[str, list[str]]:
    """The three commands; `src`: run the pixseek package found in that folder instead of the installed
    one (to time another checkout, e.g. `git archive COMMIT pixseek | tar -x -C DIR`)."""
    exe = [shutil.which("pixseek") or str(Path(sys.executable).with_name("pixseek"))]
    if src:
        exe = [sys.executable, "-c", "import sys; sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in "
               f"repr(f)]; sys.path.insert(0, {src!r}); from pixseek.interfaces.cli import main; sys.exit(main())"]
    return {
        "keyword": [*exe, "search", KEYWORD, "--db", db],
        "keyword-new": [*exe, "search", KEYWORD, "--db", db],
        "sentence": [*exe, "search", "two children playing in the snow", "--db", db],
        "tag": [*exe, "tag", str(photo), "--db", db],
    }


KEYWORD = "dog"


def forget(text: str) -> None:
    """Drop `text`'s kept sentence vector, so the next search for it encodes it as a first query does."""
    from pixseek.encoders.phrases import load_phrases

    load_phrases().forget([text])


def wall(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", default=str(CACHE / "tiny-val-db"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--src", help="time the pixseek package in this folder (default: the installed one)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    require(Path(args.db))
    photo = require(TINY / "val" / "n01443537" / "val_7281.JPEG")
    out = {}
    for name, cmd in commands(args.db, photo, args.src).items():
        load = os.getloadavg()[0]
        wall(cmd)  # warm-up
        times = []
        for _ in range(args.runs):
            if name == "keyword-new":
                forget(KEYWORD)
            times.append(wall(cmd))
        out[name] = {"median_s": round(statistics.median(times), 3), "max_s": round(max(times), 3),
                     "runs": [round(t, 3) for t in times], "load": round(load, 2)}
        print(f"{name:11s} median {out[name]['median_s']:.3f} s  max {out[name]['max_s']:.3f} s  "
              f"runs {' '.join(f'{t:.2f}' for t in times)}  (load {load:.2f})", flush=True)
    miss = out["keyword"]["median_s"] - GOAL_S
    print(f"goal: keyword <= {GOAL_S} s: {'met' if miss <= 0 else f'missed by {miss:.2f} s (median)'}")
    if args.json:
        print(json.dumps(out))


if __name__ == "__main__":
    main()
