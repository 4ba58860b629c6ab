"""Crash safety: kill -9 the indexer at random points, re-run, and check the collection is exact.

Each round changes the folder (adds and deletes photos), starts `pixseek index`, kills it after a random
delay (anywhere: decoding, embedding, appending vectors, committing SQLite), then runs `pixseek index`
to completion and `pixseek verify`. The collection must then hold exactly the files on disk.
Rounds: PIXSEEK_CRASH_ROUNDS (default 6 in CI; docs/reliability.md reports a 20-round run).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time

import pytest
from conftest import DATA, requires_data

ROUNDS = int(os.environ.get("PIXSEEK_CRASH_ROUNDS", "6"))


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pixseek", *args], capture_output=True, text=True, timeout=600)


def _written(db) -> int:
    return sum(f.stat().st_size for f in db.glob("*") if f.is_file()) if db.exists() else 0


def _wait_for_progress(proc: subprocess.Popen, db, timeout: float = 60) -> None:
    """Return once the run has started writing this round (or ended), so the kill lands mid-run."""
    start, deadline = _written(db), time.time() + timeout
    while proc.poll() is None and time.time() < deadline and _written(db) == start:
        time.sleep(0.01)


@requires_data
def test_kill_9_at_random_points(tmp_path):
    rng = random.Random(1234)
    pool = sorted((DATA / "tiny-imagenet-200" / "val").glob("n0[12]*/*.JPEG"))
    rng.shuffle(pool)
    photos, db = tmp_path / "photos", tmp_path / "db"
    photos.mkdir()
    on_disk: list = []
    next_new = 0
    results = []
    for rnd in range(ROUNDS):
        for src in pool[next_new : next_new + 80]:  # add 80 new photos
            dst = photos / f"{src.parent.name}_{src.name}"
            shutil.copy2(src, dst)
            on_disk.append(dst)
        next_new += 80
        for victim in rng.sample(on_disk, min(8, len(on_disk) // 5)):  # delete a few
            victim.unlink()
            on_disk.remove(victim)
        proc = subprocess.Popen([sys.executable, "-m", "pixseek", "index", str(photos), "--db", str(db),
                                 "--batch-size", "8", "--no-progress"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_for_progress(proc, db)
        time.sleep(rng.uniform(0.0, 0.8))  # somewhere in decoding, embedding, appending or committing
        killed = proc.poll() is None
        if killed:
            proc.send_signal(signal.SIGKILL)
        proc.wait()
        done = _cli("index", str(photos), "--db", str(db), "--json", "--no-progress")
        assert done.returncode == 0, done.stderr
        verify = json.loads(_cli("verify", "--db", str(db), "--json", "--check-only").stdout)
        status = json.loads(_cli("status", "--db", str(db), "--json").stdout)
        exact = status["files"] == len(on_disk) and status["images"] == len(on_disk) and status["failed"] == []
        results.append((rnd, killed, verify["ok"], exact))
        assert verify["ok"], (rnd, verify)
        assert exact, (rnd, status["files"], status["images"], len(on_disk))
    print(f"\ncrash rounds: {len(results)}, killed mid-run: {sum(r[1] for r in results)}, "
          f"consistent and exact after re-run: {sum(r[2] and r[3] for r in results)}/{len(results)}")
    if sum(r[1] for r in results) < len(results) // 2:
        pytest.fail("most runs finished before the kill; the test did not exercise crashes")
