"""A full disk while the image index is written: the documented one-line error from `reindex`, `index` and
`verify`, the previous index kept (and serving), no temporary or half-written index file left.

A collection of 300 photos with an hnsw16 index is copied onto a tmpfs with about 1.5 MB to spare, too
little for a second index beside the first (needs root to mount; skipped otherwise).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TINY_VAL, requires_data

NO_SPACE = "No space left on device"


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pixseek", *args], capture_output=True, text=True, timeout=600)


def _index_files(db: Path) -> dict[str, int]:
    """The image index's files (and any temporary file), with their sizes."""
    return {p.name: p.stat().st_size for p in db.iterdir() if ".ann" in p.name or ".tmp-" in p.name}


@pytest.fixture
def full_disk(tmp_path):
    if not TINY_VAL.is_dir():
        pytest.skip(f"{TINY_VAL} not present")
    photos, built = tmp_path / "photos", tmp_path / "built"
    for d in sorted(p for p in TINY_VAL.iterdir() if p.is_dir())[:6]:
        (photos / d.name).mkdir(parents=True)
        for f in sorted(d.glob("*.JPEG")):
            (photos / d.name / f.name).write_bytes(f.read_bytes())
    done = _cli("index", str(photos), "--db", str(built), "--index", "hnsw16", "--no-progress")
    assert done.returncode == 0, done.stderr
    used = sum(p.stat().st_size for p in built.rglob("*") if p.is_file())
    fs = tmp_path / "fs"
    fs.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={used // 1024 + 1536}k", "tmpfs", str(fs)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    db = fs / "db"
    subprocess.run(["cp", "-a", str(built), str(db)], check=True)
    yield photos, db, fs
    subprocess.run(["umount", "-l", str(fs)], capture_output=True)


def _assert_clean_failure(done: subprocess.CompletedProcess, db: Path) -> None:
    assert done.returncode == 1, (done.returncode, done.stderr)
    errors = [line for line in done.stderr.splitlines() if line.startswith("pixseek: error:")]
    assert len(errors) == 1 and "Traceback" not in done.stderr, done.stderr
    assert errors[0].startswith(f"pixseek: error: cannot write to collection {db}: {NO_SPACE};"), errors[0]


@requires_data
def test_full_disk_while_writing_the_index_keeps_the_previous_one(full_disk):
    photos, db, fs = full_disk
    before = _index_files(db)
    served = _cli("search", "goldfish", "-k", "5", "--db", str(db), "--json")
    assert served.returncode == 0
    _assert_clean_failure(_cli("reindex", "--index", "hnsw32", "--db", str(db)), db)
    assert _index_files(db) == before  # the old generation whole, nothing new beside it
    again = _cli("search", "goldfish", "-k", "5", "--db", str(db), "--json")
    assert again.stdout == served.stdout and "image index" not in again.stderr  # the old index still serves
    # writers asked for hnsw32 now rebuild on open, and meet the same full disk
    _assert_clean_failure(_cli("index", str(photos), "--db", str(db), "--no-progress"), db)
    _assert_clean_failure(_cli("verify", "--db", str(db)), db)
    assert _index_files(db) == before
    assert _cli("verify", "--check-only", "--db", str(db)).returncode == 0  # reads only: no index write tried
    # with room again, the rebuild goes through and replaces the old generation
    assert subprocess.run(["mount", "-o", "remount,size=50m", str(fs)]).returncode == 0
    done = _cli("reindex", "--db", str(db))
    assert done.returncode == 0, done.stderr
    after = _index_files(db)
    assert after != before and not [name for name in after if ".tmp-" in name]
    assert len(after) == 3  # header, graph, id map: one generation
