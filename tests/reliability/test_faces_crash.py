"""kill -9 in the middle of the face stage: the re-run looks only at what was not committed, and every photo
ends with its faces exactly once (no lost photo, no doubled face), grouped as one uninterrupted run groups them."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from conftest import DATA, cli_json, run_cli

FACES = DATA / "faces" / "images"
pytestmark = pytest.mark.skipif(not FACES.is_dir(), reason="needs the shared CelebA faces")


def _read(db) -> int:
    try:
        with sqlite3.connect(f"file:{db / 'catalog.sqlite'}?mode=ro", uri=True, timeout=5) as con:
            return con.execute("SELECT COUNT(*) FROM faces_read").fetchone()[0]
    except sqlite3.Error:  # not created yet
        return 0


def _faces(db) -> list[tuple]:
    """(file name, box) of every face stored, sorted: what the collection knows of its photos' faces."""
    with sqlite3.connect(db / "catalog.sqlite") as con:
        rows = con.execute("SELECT f.path, x0, y0, x1, y1 FROM faces g JOIN files f ON f.content_id = g.content_id")
        return sorted((os.path.basename(path), *box) for path, *box in rows)


def test_kill_9_during_the_face_stage_loses_nothing_and_finds_nothing_twice(tmp_path):
    photos, db = tmp_path / "photos", tmp_path / "db"
    photos.mkdir()
    for p in sorted(FACES.glob("*.jpg"))[:64]:
        (photos / p.name).write_bytes(p.read_bytes())
    run_cli("index", str(photos), "--no-progress", db=db)  # embedded first: the face stage runs alone below
    proc = subprocess.Popen([sys.executable, "-m", "pixseek", "index", str(photos), "--faces", "--no-progress", "--db",
                             str(db)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    while proc.poll() is None and _read(db) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    killed = proc.poll() is None
    os.killpg(proc.pid, signal.SIGKILL)  # the indexer and its face workers, as a power cut would
    proc.wait()
    assert killed, "the face stage finished before the kill: the test did not exercise a crash"
    done = _read(db)
    assert 0 < done < 64
    again = cli_json("index", str(photos), "--no-progress", db=db)  # the setting was kept: the stage goes on
    assert again["faces"]["read"] == 64 - done
    clean = tmp_path / "clean"  # the same photos in one uninterrupted run
    run_cli("index", str(photos), "--faces", "--no-progress", db=clean)
    assert _faces(db) == _faces(clean) and len(_faces(db)) >= 60
    people = sorted(sorted(p["photos"]) for p in cli_json("people", db=db))
    assert people == sorted(sorted(p["photos"]) for p in cli_json("people", db=clean)) and people
