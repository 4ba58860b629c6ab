"""Filters: folder, date taken (EXIF DateTimeOriginal, else mtime) and file type, applied before the top k,
through the exact scan and the ANN index; bad values are clear errors; older catalogs are backfilled."""

from __future__ import annotations

import os
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from conftest import copy_tiny, requires_data
from PIL import Image

from pixseek import Collection
from pixseek.errors import PixseekError
from pixseek.media.exif import read_photo_info
from pixseek.store.allowed import Allowed
from pixseek.store.restricted import Restricted

GOLDFISH, TABBY, ORANGE, TROLLEY = "n01443537", "n02123045", "n07747607", "n04487081"
NOON_2015 = datetime(2015, 6, 1, 12, tzinfo=timezone.utc).timestamp()  # noon: the same day in any time zone


def _with_exif(src: Path, dest: Path, taken: str, camera: tuple[str, str] = ("Canon", "Canon EOS 5D")) -> None:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = camera
    exif.get_ifd(0x8769)[0x9003] = taken
    Image.open(src).convert("RGB").save(dest, "JPEG", quality=92, exif=exif.tobytes())


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """48 real photos: a/ holds goldfish and tabby JPEGs, b/ oranges and trolleybuses as PNGs; four tabbies
    carry an EXIF date in July 2021, four goldfish only a file time in June 2015."""
    root = tmp_path_factory.mktemp("filters")
    photos = root / "photos"
    src = root / "src"
    copy_tiny(src, per_class=12, classes={GOLDFISH: "", TABBY: "", ORANGE: "", TROLLEY: ""})
    (photos / "a").mkdir(parents=True)
    (photos / "b").mkdir()
    dated, old = [], []
    for wnid in (GOLDFISH, TABBY):
        for i, f in enumerate(sorted((src / wnid).glob("*.JPEG"))):
            dest = photos / "a" / f.name
            if wnid == TABBY and i < 4:
                _with_exif(f, dest, f"2021:07:{4 + i:02d} 10:11:12")
                dated.append(str(dest))
            else:
                dest.write_bytes(f.read_bytes())
            if wnid == GOLDFISH and i < 4:
                os.utime(dest, (NOON_2015, NOON_2015))
                old.append(str(dest))
    for wnid in (ORANGE, TROLLEY):
        for f in sorted((src / wnid).glob("*.JPEG")):
            Image.open(f).save(photos / "b" / (f.stem + ".png"))
    col = Collection.open(root / "db")
    assert col.index([photos], progress=False, workers=0).failed == 0
    yield {"col": col, "photos": photos, "dated": sorted(dated), "old": sorted(old), "root": root}
    col.close()


@requires_data
def test_exif_is_read_and_bad_exif_never_raises(world):
    info = read_photo_info(world["dated"][0])
    assert info.date_taken == datetime(2021, 7, 4, 10, 11, 12) and info.camera == "Canon EOS 5D"
    assert (info.width, info.height) == (64, 64)
    data = bytearray(Path(world["dated"][0]).read_bytes())
    at = data.find(b"Exif")
    data[at + 10:at + 60] = b"\xff" * 50  # a wrecked IFD
    broken = read_photo_info(bytes(data))
    assert broken.date_taken is None and broken.width == 64
    assert read_photo_info(b"not an image") == read_photo_info(world["root"] / "missing.jpg")


@requires_data
def test_folder_filter_applies_before_the_top_k(world):
    col, photos = world["col"], world["photos"]
    # no goldfish below b/: a filter applied after the top 5 would leave nothing
    hits = col.search("goldfish", k=5, under=photos / "b", min_score=0)
    assert len(hits) == 5 and all(h.path.startswith(f"{photos}/b/") for h in hits)
    assert all(h.path.startswith(f"{photos}/a/") for h in col.search("goldfish", k=10, under=str(photos / "a") + "/"))
    query = sorted((photos / "a").glob("*.JPEG"))[0]
    near = col.similar(query, k=6, under=photos / "b", min_score=0)
    assert len(near) == 6 and all(h.path.startswith(f"{photos}/b/") for h in near)


@requires_data
def test_type_filter(world):
    col = world["col"]
    png = col.search("orange", k=30, type="png", min_score=0)
    assert len(png) == 24 and all(h.path.endswith(".png") for h in png)
    jpg = col.search("orange", k=30, type="jpg", min_score=0)  # jpg also means .jpeg and .JPEG
    assert len(jpg) == 24 and all(h.path.endswith(".JPEG") for h in jpg)
    assert len(col.search("orange", k=60, type=["png", "jpeg"], min_score=0)) == 48


@requires_data
def test_date_taken_range_by_exif_then_mtime(world):
    col = world["col"]
    july = col.search("cat", k=48, after="2021-07-05", before="2021-07-31", min_score=0)
    assert sorted(h.path for h in july) == world["dated"][1:]  # the 4th is before the 5th: inclusive days
    assert len(col.search("cat", k=48, after="2021-07-04", before="2021-07-04", min_score=0)) == 1
    old = col.search("fish", k=48, before="2015-06-01", min_score=0)  # by file time: no EXIF there
    assert sorted(h.path for h in old) == world["old"]
    recent = col.search("fish", k=48, after="2016-01-01", min_score=0)
    assert len(recent) == 48 - 4 and not set(world["old"]) & {h.path for h in recent}
    assert len(col.search("fish", k=48, after="0001-01-01", before="9999-12-31", min_score=0)) == 48  # no overflow


@pytest.mark.parametrize("kwargs, message", [
    ({"after": "2024-13-01"}, "YYYY-MM-DD"),
    ({"before": "yesterday"}, "YYYY-MM-DD"),
    ({"after": "2024-05-02", "before": "2024-05-01"}, "later than"),
    ({"type": "exe"}, "file types"),
    ({"under": "/nowhere/at/all"}, "no indexed photos under"),
])
@requires_data
def test_bad_filters_are_clear_errors(world, kwargs, message):
    with pytest.raises(PixseekError, match=message):
        world["col"].search("cat", **kwargs)


@requires_data
def test_ann_index_and_exact_scan_agree_under_a_filter(world):
    """Narrow filters score the allowed rows; broad ones over-fetch from the index: both give the exact
    answer's top k over an HNSW index of these photos."""
    col = world["col"]
    col.reindex("hnsw32")
    try:
        store = col.visual
        assert type(store).__name__ == "IndexedVectorStore"
        rows = store.rows
        q = store.get(np.array([3, 30]))
        for every, allow in ((6, True), (5, False)):  # 8 of 48 allowed (scored directly); all but 10 (over-fetch)
            mask = (np.arange(rows) % every == 0) == allow
            got_s, got_i = Restricted(store, Allowed(mask)).search(q, 5)
            full = q @ store.get(np.arange(rows)).T
            full[:, ~mask] = -np.inf
            want = np.argsort(-full, axis=1)[:, :5]
            assert (got_i == want).all(), every
            assert mask[got_i].all()
    finally:
        col.reindex("flat")


@requires_data
def test_an_older_catalog_is_backfilled_on_the_next_index_run(world):
    col, root = world["col"], world["root"]
    db = sqlite3.connect(root / "db" / "catalog.sqlite")
    db.execute("ALTER TABLE files DROP COLUMN taken_ns")
    db.execute("PRAGMA user_version=2")
    db.commit()
    db.close()
    old = Collection.open(root / "db")  # migrates to schema 3: dates not read yet
    try:
        assert old.catalog.count_untaken() == 48
        # until read, a photo counts by its file time: the EXIF-dated ones are not found by their date
        assert len(old.search("cat", k=48, after="2021-07-01", before="2021-07-31", min_score=0)) == 0
        report = old.index([world["photos"]], progress=False, workers=0)
        assert report.indexed == 0 and old.catalog.count_untaken() == 0
        july = old.search("cat", k=48, after="2021-07-01", before="2021-07-31", min_score=0)
        assert sorted(h.path for h in july) == world["dated"]
    finally:
        old.close()
    col.refresh()


@requires_data
def test_a_photo_indexed_later_gets_its_date_at_index_time(world, tmp_path):
    col, photos = world["col"], world["photos"]
    extra = photos / "c"
    extra.mkdir()
    _with_exif(sorted((photos / "a").glob("*.JPEG"))[-1], extra / "new.jpg", "2030:01:02 03:04:05")
    try:
        col.index([photos], progress=False, workers=0)
        assert col.catalog.count_untaken() == 0
        hits = col.search("fish", k=5, after="2030-01-01", min_score=0)
        assert [h.path for h in hits] == [str(extra / "new.jpg")]
    finally:
        (extra / "new.jpg").unlink()
        extra.rmdir()
        col.index([photos], progress=False, workers=0)
