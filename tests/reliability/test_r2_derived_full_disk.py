"""A full disk leaves a collection readable: `status`, `search`, `similar` and `tag` answer as before (as on a
read-only mount), a search never writes derived vectors (missing ones are derived in memory), and a
writer fails with one line. Uses a small tmpfs mounted by the test (needs root; skipped otherwise).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import copy_tiny, requires_data

from pixseek import Collection
from pixseek.store.derived import DERIVED_DIR

CLASSES = {"n01443537": "goldfish", "n02123045": "tabby", "n07747607": "orange"}


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pixseek", *args], capture_output=True, text=True, timeout=600)


def _fill(folder: Path) -> None:
    """Take every free byte of the file system `folder` is on."""
    with open(folder / "filler", "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    try:
        with open(folder / "filler-small", "wb") as f:
            while True:
                f.write(b"\0" * 512)
                f.flush()
    except OSError:
        pass


@pytest.fixture
def full(tmp_path):
    photos, built = tmp_path / "photos", tmp_path / "built"
    copy_tiny(photos, 4, CLASSES)
    with Collection.open(built) as col:
        col.index([photos], progress=False, ocr=False)
    fs = tmp_path / "fs"
    fs.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(fs)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    db = fs / "db"
    shutil.copytree(built, db)
    yield photos, db, fs
    subprocess.run(["umount", "-l", str(fs)], capture_output=True)


def _answers(db: Path, query: Path) -> dict:
    out = {}
    for name, args in {"search": ("search", "a fish in the water", "-k", "5"),
                       "similar": ("similar", str(query), "-k", "5"), "tag": ("tag", str(query), "-k", "5")}.items():
        proc = _cli(*args, "--db", str(db), "--json")
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, (name, proc.stderr)
        out[name] = json.loads(proc.stdout)
    return out


@requires_data
def test_a_full_disk_leaves_the_collection_readable(full):
    photos, db, fs = full
    query = sorted(photos.rglob("*.JPEG"))[0]
    before = _answers(db, query)
    _fill(fs)
    status = _cli("status", "--db", str(db), "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["images"] == 12
    assert _answers(db, query) == before
    _assert_refused(_cli("index", str(photos), "--db", str(db)))
    assert _cli("verify", "--check-only", "--db", str(db)).returncode == 0
    with open(db / "visual.float16", "r+b") as f:  # a damaged row (written in place: no room needed)
        f.write(b"\x7f" * 64)
    assert _cli("verify", "--check-only", "--db", str(db)).returncode == 3
    _assert_refused(_cli("verify", "--db", str(db)))


def _assert_refused(proc: subprocess.CompletedProcess) -> None:
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 1 and len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "No space left on device" in lines[0], lines


@requires_data
def test_a_search_never_writes_derived_vectors(full):
    """A process holding the catalog open (a server) and derived vectors gone: a searcher opened now derives
    them in memory (a full disk could not take them) and answers as before."""
    photos, db, fs = full
    with Collection.open(db) as col:
        before = [(h.path, h.score) for h in col.search("a fish in the water", k=5, bridge="joint")]
    server = Collection.open(db)  # keeps the catalog's -wal and -shm open
    shutil.rmtree(db / DERIVED_DIR)
    _fill(fs)
    with Collection.open(db) as col:
        assert [(h.path, h.score) for h in col.search("a fish in the water", k=5, bridge="joint")] == before
    assert [(h.path, h.score) for h in server.search("a fish in the water", k=5, bridge="joint")] == before
    assert not (db / DERIVED_DIR).exists()
    server.close()
