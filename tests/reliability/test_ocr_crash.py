"""kill -9 in the middle of the OCR stage: the re-run reads only what was not committed, and every photo ends
with its text exactly once (no lost photo, no doubled line, no stale search hit)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from conftest import DATA, cli_json, run_cli

from tests.ingest.test_ocr import FONTS, draw_sign, plain_photos

FLICKR = DATA / "flickr8k-500" / "images"
pytestmark = pytest.mark.skipif(not FLICKR.is_dir() or not (FONTS / "DejaVuSans-Bold.ttf").is_file(),
                                reason="needs the shared Flickr8k photos and the DejaVu fonts")


def _read(db) -> int:
    try:
        with sqlite3.connect(f"file:{db / 'catalog.sqlite'}?mode=ro", uri=True, timeout=5) as con:
            return con.execute("SELECT COUNT(*) FROM photo_text_read").fetchone()[0]
    except sqlite3.Error:  # not created yet
        return 0


def _texts(db) -> list[tuple[str, str]]:
    """(file name, line) of every line read, sorted: what the collection knows of its photos' text."""
    with sqlite3.connect(db / "catalog.sqlite") as con:
        rows = con.execute("SELECT f.path, l.text FROM photo_text_lines l JOIN files f ON f.content_id = l.content_id")
        return sorted((os.path.basename(path), text) for path, text in rows)


def test_kill_9_during_ocr_loses_nothing_and_reads_nothing_twice(tmp_path):
    photos, db = tmp_path / "photos", tmp_path / "db"
    photos.mkdir()
    plain = plain_photos(62)
    for p in plain[:60]:
        (photos / p.name).write_bytes(p.read_bytes())
    draw_sign(plain[60], photos / "plate.jpg", "RE16 TGK")
    draw_sign(plain[61], photos / "sign.jpg", "CAFE PARIS")
    run_cli("index", str(photos), "--no-progress", db=db)  # embedded first: the OCR stage runs alone below
    proc = subprocess.Popen([sys.executable, "-m", "pixseek", "index", str(photos), "--ocr", "--no-progress", "--db",
                             str(db)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while proc.poll() is None and _read(db) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    killed = proc.poll() is None
    os.killpg(proc.pid, signal.SIGKILL)  # the indexer and its OCR workers, as a power cut would
    proc.wait()
    assert killed, "the OCR stage finished before the kill: the test did not exercise a crash"
    done = _read(db)
    assert 0 < done < 62
    again = cli_json("index", str(photos), "--no-progress", db=db)  # the setting was kept: OCR goes on
    assert again["text"]["read"] == 62 - done
    assert cli_json("status", db=db)["text"]["read"] == 62
    clean = tmp_path / "clean"  # the same photos read in one uninterrupted run
    run_cli("index", str(photos), "--ocr", "--no-progress", db=clean)
    assert _texts(db) == _texts(clean) and ("plate.jpg", "RE16 TGK") in _texts(db)
    hits = cli_json("search", 'text:"TGK"', db=db)["results"]
    assert [h["path"] for h in hits] == [str(photos / "plate.jpg")]
