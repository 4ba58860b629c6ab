"""Values read from a photo are bounded before they reach the catalog: a date taken that no 64-bit count
of nanoseconds holds (years 1, 1677, 2262, 9999) costs that date (the file's mtime dates the photo
instead), never the photo and never the run, in `index` and in `index --watch`."""

from __future__ import annotations

import os
import shutil
from datetime import datetime
from pathlib import Path

import pytest
from conftest import TINY_VAL, cli_json, copy_tiny, requires_data, wait_for, watching
from PIL import Image

from pixseek import Collection
from pixseek.media.exif import read_photo_info, taken_ns, wall_ns

BAD_DATES = ("9999:12:31 23:59:59", "0001:01:01 00:00:00", "1677:01:01 00:00:00", "2262:12:31 23:59:59")
MTIME = datetime(2020, 5, 17, 12, 0, 0)


def _dated(src: Path, dest: Path, when: str) -> Path:
    """A copy of a real photo whose EXIF DateTimeOriginal says `when`, its mtime set to MTIME."""
    with Image.open(src) as im:
        exif = im.getexif()
        exif.get_ifd(0x8769)[0x9003] = when
        im.save(dest, exif=exif, quality=92)
    os.utime(dest, (MTIME.timestamp(), MTIME.timestamp()))
    return dest


def _mtime_ns() -> int:
    return wall_ns(MTIME)


@requires_data
@pytest.mark.parametrize("when", BAD_DATES)
def test_an_unrepresentable_date_taken_falls_back_to_the_mtime(tmp_path, when):
    src = sorted((TINY_VAL / "n01443537").glob("*.JPEG"))[0]
    photo = _dated(src, tmp_path / "bad.jpg", when)
    assert read_photo_info(photo).date_taken is None  # shown as unknown, not as a date no filter can hold
    mtime = os.stat(photo).st_mtime_ns
    assert taken_ns(photo, mtime) == taken_ns(photo.read_bytes(), mtime) == _mtime_ns()


@requires_data
def test_photos_with_unrepresentable_dates_are_indexed_with_the_rest(tmp_path):
    photos = tmp_path / "photos"
    copy_tiny(photos, per_class=2)
    src = sorted((TINY_VAL / "n07747607").glob("*.JPEG"))[5]
    bad = [_dated(src, photos / f"bad-{i}.jpg", when) for i, when in enumerate(BAD_DATES)]
    good = _dated(sorted((TINY_VAL / "n02123045").glob("*.JPEG"))[7], photos / "good.jpg", "2011:03:04 05:06:07")
    db = tmp_path / "db"
    report = cli_json("index", str(photos), "--no-progress", db=db)
    assert (report["indexed"], report["failed"]) == (10 + len(bad) + 1, 0), report
    col = Collection.open(db)
    rows = dict(col.catalog.db.execute("SELECT path, taken_ns FROM files"))
    assert all(rows[str(p)] == _mtime_ns() for p in bad)
    assert rows[str(good)] == wall_ns(datetime(2011, 3, 4, 5, 6, 7))
    hits = col.search("goldfish", k=20, min_score=0, after="2020-05-17", before="2020-05-17")
    assert {Path(h.path).name for h in hits} == {p.name for p in bad}


@requires_data
def test_watch_survives_a_photo_with_an_unrepresentable_date(tmp_path):
    photos = tmp_path / "photos"
    copy_tiny(photos, per_class=1)
    col = Collection.open(tmp_path / "db")
    runs: list = []
    with watching(col, [photos], on_change=runs.append) as (watcher, errors):
        reader = Collection.open(tmp_path / "db")
        assert wait_for(lambda: reader.catalog.counts()["files"] == 5)
        staged = _dated(sorted((TINY_VAL / "n04487081").glob("*.JPEG"))[3], tmp_path / "staged.jpg", BAD_DATES[0])
        shutil.move(staged, photos / "bad.jpg")
        assert wait_for(lambda: reader.catalog.counts()["files"] == 6 or errors, timeout=60)
        staged = _dated(sorted((TINY_VAL / "n04487081").glob("*.JPEG"))[4], tmp_path / "staged.jpg", BAD_DATES[1])
        shutil.move(staged, photos / "bad-too.jpg")
        assert wait_for(lambda: reader.catalog.counts()["files"] == 7 or errors, timeout=60)
        assert errors == [] and watcher.is_alive()
    assert not watcher.is_alive() and errors == []


def test_the_catalog_bounds_every_number_it_is_given(tmp_path):
    from pixseek.ingest.scan import signed_inode
    from pixseek.store.catalog import MAX_ERROR_CHARS, Catalog, FileRecord

    catalog = Catalog(tmp_path / "catalog.sqlite")
    catalog.begin()
    catalog.put_file(FileRecord("/p/a.jpg", 2**64, -(2**70), "ok", "h", None, None, 2**64 - 1, 2**63, 10**20))
    catalog.put_file(FileRecord("/p/b.jpg", 1, 1, "failed", None, "x" * 10**6, None, signed_inode(2**64 - 1), 5, 7))
    catalog.set_taken([("/p/b.jpg", -(2**64))])
    catalog.commit()
    a, b = catalog.file("/p/a.jpg"), catalog.file("/p/b.jpg")
    assert (a.size, a.mtime_ns, a.inode, a.ctime_ns) == (2**63 - 1, -(2**63), None, None)
    assert (b.inode, len(b.error)) == (-1, MAX_ERROR_CHARS)
    assert catalog.db.execute("SELECT taken_ns FROM files ORDER BY path").fetchall() == [(None,), (None,)]
