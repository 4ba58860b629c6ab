"""Indexing real photos: counts, incremental re-runs, changes, deletions, duplicates, and kill -9 resume."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from conftest import DATA, HAVE_DATA, copy_tiny, requires_data

from pixseek import Collection


def test_index_then_incremental(photo_dir, tmp_path):
    n = len(list(p for p in photo_dir.rglob("*") if p.is_file()))
    col = Collection.open(tmp_path / "db")
    first = col.index([photo_dir], progress=False)
    assert (first.indexed, first.failed, first.removed) == (n, 0, 0)
    assert col.status()["images"] == n

    again = col.index([photo_dir], progress=False)
    assert (again.indexed, again.skipped, again.removed) == (0, n, 0)

    # change one file's content, delete another, add a duplicate of a third
    files = sorted(p for p in photo_dir.rglob("*") if p.is_file())
    changed, deleted, source = files[0], files[1], files[2]
    shutil.copy(files[3], changed)
    os.utime(changed, ns=(time.time_ns(), time.time_ns() + 10**9))
    deleted.unlink()
    shutil.copy(source, photo_dir / "copy-of-source.jpg")
    third = col.index([photo_dir], progress=False)
    assert third.removed == 1
    assert third.indexed == 2 and third.duplicates == 2  # the changed file now equals files[3]; the copy equals source
    st = col.status()
    assert st["files"] == n  # n - 1 deleted + 1 copy
    assert st["images"] == n - 2  # distinct contents: the deleted one and the changed one's old content are gone


def test_touched_but_unchanged_file_keeps_its_vector(photo_dir, tmp_path):
    col = Collection.open(tmp_path / "db")
    col.index([photo_dir], progress=False)
    rows_before = col.catalog.counts()["rows"]
    f = next(p for p in photo_dir.rglob("*") if p.is_file())
    os.utime(f, ns=(time.time_ns(), time.time_ns() + 5 * 10**9))
    r = col.index([photo_dir], progress=False)
    assert r.indexed == 1 and r.duplicates == 1
    assert col.catalog.counts()["rows"] == rows_before  # nothing re-embedded


def test_catalog_keeps_each_files_inode_and_ctime(photo_dir, tmp_path):
    col = Collection.open(tmp_path / "db")
    col.index([photo_dir], progress=False)
    for f in (p for p in photo_dir.rglob("*") if p.is_file()):
        rec, st = col.catalog.file(str(f)), os.stat(f)
        assert (rec.inode, rec.ctime_ns) == (st.st_ino, st.st_ctime_ns)


def test_same_size_and_mtime_but_new_bytes_is_re_embedded(photo_dir, tmp_path):
    """BMPs of one size are byte for byte the same length: overwrite one with another, put its mtime back."""
    from PIL import Image

    a, b = sorted(p for p in photo_dir.rglob("*.JPEG"))[:2]
    Image.open(a).convert("RGB").save(photo_dir / "a.bmp")
    Image.open(b).convert("RGB").resize(Image.open(a).size).save(tmp_path / "b.bmp")
    col = Collection.open(tmp_path / "db")
    col.index([photo_dir], progress=False)
    st, rows = os.stat(photo_dir / "a.bmp"), col.catalog.counts()["rows"]
    (photo_dir / "a.bmp").write_bytes((tmp_path / "b.bmp").read_bytes())
    os.utime(photo_dir / "a.bmp", ns=(st.st_atime_ns, st.st_mtime_ns))
    assert os.stat(photo_dir / "a.bmp").st_size == st.st_size
    r = col.index([photo_dir], progress=False)
    assert (r.indexed, r.duplicates) == (1, 0) and col.catalog.counts()["rows"] == rows + 1


def test_reopen_sees_same_vectors(photo_dir, tmp_path):
    with Collection.open(tmp_path / "db") as col:
        col.index([photo_dir], progress=False)
        ids = col.catalog.live_ids()
        before = col.visual.get(np.array(ids))
    with Collection.open(tmp_path / "db") as col:
        after = col.visual.get(np.array(ids))
    assert np.array_equal(before, after)


def _count_files(db: Path) -> int:
    try:
        con = sqlite3.connect(f"file:{db / 'catalog.sqlite'}?mode=ro", uri=True, timeout=1)
        try:
            return con.execute("SELECT COUNT(*) FROM files").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return 0


@requires_data
def test_kill_9_mid_run_then_resume(tmp_path):
    photos = tmp_path / "photos"
    classes = sorted(p.name for p in (DATA / "tiny-imagenet-200" / "val").iterdir())[:12]
    copy_tiny(photos, per_class=50, classes=classes)  # 600 real photos
    n = len(list(photos.rglob("*.JPEG")))
    db = tmp_path / "db"
    cmd = [sys.executable, "-m", "pixseek", "index", str(photos), "--db", str(db), "--batch-size", "16", "--json"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 300
    while _count_files(db) < 64 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be killed; use more photos"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    committed = _count_files(db)
    assert 0 < committed < n

    import json

    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["indexed"] == n - committed
    assert report["skipped"] == committed
    with Collection.open(db) as col:
        st = col.status()
        assert st["files"] == n and st["images"] == n and st["failed"] == []
        rows = col.catalog.counts()["rows"]
        assert rows == n  # no row embedded twice, none lost
        assert (db / "visual.float16").stat().st_size == rows * col.visual.row_bytes
        # every file points at a distinct, live content
        assert col.catalog.db.execute("SELECT COUNT(DISTINCT content_id) FROM files").fetchone()[0] == n


def test_second_indexer_is_refused(photo_dir, tmp_path):
    import fcntl

    from pixseek.errors import PixseekError

    col = Collection.open(tmp_path / "db")
    with open(tmp_path / "db" / "index.lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        try:
            col.index([photo_dir], progress=False)
        except PixseekError as exc:
            assert "another `pixseek index` is running" in str(exc)
        else:
            raise AssertionError("a second indexer was not refused")


def test_missing_folder_is_a_clear_error(tmp_path):
    from conftest import run_cli

    proc = run_cli("index", str(tmp_path / "nope"), db=tmp_path / "db", check=False)
    assert proc.returncode == 1
    assert "no such file or folder" in proc.stderr and "Traceback" not in proc.stderr


if not HAVE_DATA:  # say so in the run's output rather than silently testing less
    print("note: ../shared/data missing, tests ran on generated images")
