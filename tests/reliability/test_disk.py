"""Disk full and read-only collection folders: a clear error, and the last good state kept.

Uses a small tmpfs mounted by the test (needs root; skipped otherwise).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import DATA, requires_data


def _mount(target, *opts: str) -> bool:
    return subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join(opts), "tmpfs", str(target)],
                          capture_output=True).returncode == 0


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pixseek", *args], capture_output=True, text=True, timeout=600)


def _json(*args: str):
    proc = _cli(*args, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture
def small_fs(tmp_path):
    target = tmp_path / "fs"
    target.mkdir()
    if not _mount(target, "size=1500k"):
        pytest.skip("cannot mount a tmpfs here (needs root)")
    yield target
    subprocess.run(["umount", "-l", str(target)], capture_output=True)


@requires_data
def test_disk_full_keeps_last_good_state_and_resumes(small_fs):
    photos = DATA / "flickr8k-500" / "images"
    db = small_fs / "db"
    full = _cli("index", str(photos), "--db", str(db), "--json", "--no-progress", "--batch-size", "16")
    assert full.returncode == 1
    # which write meets the full disk first varies (a vector file: "No space left on device"; SQLite:
    # "database or disk is full"): the behaviour is the one-line error that keeps what was committed
    assert "Traceback" not in full.stderr
    error = full.stderr.strip().splitlines()[-1]
    assert error.startswith("pixseek: error: cannot write to collection") and "everything committed" in error, error
    status = _json("status", "--db", str(db))
    assert 0 < status["images"] < 500
    # make room: everything committed is intact, and the run resumes where it stopped
    assert subprocess.run(["mount", "-o", "remount,size=20m", str(small_fs)]).returncode == 0
    repaired = _json("verify", "--db", str(db))
    assert all("committed" in p for p in repaired["problems"]), repaired  # at most uncommitted rows to cut
    done = _json("index", str(photos), "--db", str(db), "--no-progress")
    assert done["skipped"] == status["files"] and done["indexed"] == 500 - status["files"]
    assert _json("verify", "--db", str(db), "--check-only")["ok"]
    assert _json("status", "--db", str(db))["images"] == 500


@requires_data
def test_read_only_collection_searches_but_refuses_to_index(small_fs):
    photos = DATA / "photos"
    db = small_fs / "db"
    assert _cli("index", str(photos), "--db", str(db), "--no-progress").returncode == 0
    before = _cli("search", "cat", "-k", "3", "--db", str(db), "--json").stdout
    assert subprocess.run(["mount", "-o", "remount,ro", str(small_fs)]).returncode == 0
    after = _cli("search", "cat", "-k", "3", "--db", str(db), "--json")
    assert after.returncode == 0 and after.stdout == before
    refused = _cli("index", str(photos), "--db", str(db))
    assert refused.returncode == 1 and "read-only" in refused.stderr and "Traceback" not in refused.stderr
