"""Dates taken in local time: the camera's date with its EXIF offset, else the GPS fix's UTC time in the
time zone of the GPS position, else the camera's clock, else the file time in the photo's zone. Checked on
the real geotagged photos and on copies of them given edited EXIF blocks (offsets, positions in other time
zones, home-time clocks abroad, stale and broken GPS), through the catalog and the date filters, and for
catalogs dated before the rule (dated again once, resumably, without re-embedding)."""

from __future__ import annotations

import os
import shutil
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import DATA
from PIL import Image
from PIL.TiffImagePlugin import IFDRational as R

from pixseek import Collection
from pixseek.media.exif import read_photo_info, taken_ns, wall_ns
from pixseek.media.local_time import gps_utc, is_file_time, local_taken, parse_offset
from pixseek.store.local_dates import count_outdated, dates_current

GEOTAGGED = DATA / "geotagged"
pytestmark = pytest.mark.skipif(not GEOTAGGED.is_dir(), reason=f"geotagged photos not found at {GEOTAGGED}")

UTC = timezone.utc
TOKYO, MAURITIUS, LOS_ANGELES, MADRID = (35.68, 139.69), (-20.16, 57.50), (34.05, -118.24), (40.447, -3.7248)


def _dms(value: float) -> tuple:
    value = abs(value)
    d, m = int(value), int((value - int(value)) * 60)
    return (R(d, 1), R(m, 1), R(round(((value - d) * 60 - m) * 60 * 100), 100))


def _gps(pos: tuple[float, float] | None, fix: str | None = None) -> dict:
    """A GPS block at `pos` with, when given, the fix's UTC time "YYYY:MM:DD HH:MM:SS"."""
    gps = {}
    if pos:
        gps.update({1: "N" if pos[0] >= 0 else "S", 2: _dms(pos[0]), 3: "E" if pos[1] >= 0 else "W", 4: _dms(pos[1])})
    if fix:
        day, clock = fix.split()
        gps.update({29: day, 7: tuple(R(int(x), 1) for x in clock.split(":"))})
    return gps


def _photo(dest: Path, source: str, exif_tags: dict | None = None, gps: dict | None = None,
           mtime: datetime | None = None) -> Path:
    """A real photo, shrunk, with only these EXIF date tags (tag -> value) and GPS block, and this mtime."""
    exif = Image.Exif()
    if exif_tags:
        exif.get_ifd(0x8769).update(exif_tags)
    if gps:
        exif.get_ifd(0x8825).update(gps)
    Image.open(GEOTAGGED / source).convert("RGB").resize((240, 180)).save(dest, "JPEG", exif=exif)
    if mtime:
        os.utime(dest, (mtime.timestamp(), mtime.timestamp()))
    return dest


DTO, OFFSET_ORIGINAL, OFFSET = 0x9003, 0x9011, 0x9010
BROKEN_GPS = {1: "N", 2: (R(123, 1), R(1, 0), R(0, 1)), 3: "E", 4: (R(0, 0), R(0, 0), R(0, 1)),
              29: "2018:13:45", 7: (R(1, 0), R(0, 1), R(0, 1))}

# name -> (source photo, EXIF date tags, GPS block, mtime (UTC), the local date taken expected)
EDITED = {
    # a camera left on Madrid time in Tokyo: the fix's UTC time in Tokyo's zone, the next day there
    "home_clock_in_tokyo.jpg": ("iphone_hdr_YES.jpg", {DTO: "2015:04:10 20:12:23"}, _gps(TOKYO, "2015:04:10 18:12:22"),
                                None, datetime(2015, 4, 11, 3, 12, 22)),
    # an offset and no date: the file time at that offset
    "offset_no_date.jpg": ("lund_02.jpg", {OFFSET_ORIGINAL: "+09:00"}, None, datetime(2020, 6, 30, 20, 0, tzinfo=UTC),
                           datetime(2020, 7, 1, 5, 0)),
    # the camera's date with its offset wins over the position's zone
    "offset_wins.jpg": ("lund_03.jpg", {DTO: "2019:12:31 23:30:00", OFFSET_ORIGINAL: "+04:00"},
                        _gps(LOS_ANGELES, "2019:12:31 19:30:00"), None, datetime(2019, 12, 31, 23, 30)),
    # OffsetTime stands in for a missing OffsetTimeOriginal (without it this would read 13:30 in Los Angeles)
    "offset_time_fallback.jpg": ("lund_04.jpg", {DTO: "2022:08:14 23:30:00", OFFSET: "+03:00"},
                                 _gps(LOS_ANGELES, "2022:08:14 20:30:00"), None, datetime(2022, 8, 14, 23, 30)),
    # no camera date: the fix's UTC time in Mauritius (UTC+4), the new year there
    "mauritius_fix.jpg": ("lund_05.jpg", {}, _gps(MAURITIUS, "2019:12:31 22:30:00"), None, datetime(2020, 1, 1, 2, 30)),
    # a position and nothing else: the file time in Los Angeles, still the day before there
    "los_angeles_file_time.jpg": ("lund_06.jpg", {}, _gps(LOS_ANGELES), datetime(2021, 3, 1, 5, 0, tzinfo=UTC),
                                  datetime(2021, 2, 28, 21, 0)),
    # a stale fix (7 h 7 min from the camera's clock: no time zone explains it): the camera's clock
    "stale_fix.jpg": ("lund_07.jpg", {DTO: "2015:04:10 20:12:23"}, _gps(MADRID, "2015:04:10 13:05:11"), None,
                      datetime(2015, 4, 10, 20, 12, 23)),
    # broken GPS (latitude 123, NaN, month 13, NaN hours) next to a good date: the date
    "broken_gps_dated.jpg": ("lund_08.jpg", {DTO: "2018:05:05 12:00:00"}, BROKEN_GPS, None, datetime(2018, 5, 5, 12, 0)),
    # a good position with a broken fix time and no date: the file time in Tokyo
    "broken_fix_tokyo.jpg": ("lund_09.jpg", {}, {**_gps(TOKYO), 29: "2021:03:01", 7: (R(1, 0), R(0, 1), R(0, 1))},
                             datetime(2021, 3, 1, 20, 0, tzinfo=UTC), datetime(2021, 3, 2, 5, 0)),
}
LUND_MTIME = datetime(2021, 6, 30, 22, 30, tzinfo=UTC)  # 00:30 on 1 July in Lund (summer time, UTC+2)


def test_offsets_and_fix_times_are_read_strictly():
    assert parse_offset("+03:00") == timedelta(hours=3) and parse_offset(b"-05:30\x00") == -timedelta(hours=5, minutes=30)
    assert parse_offset("+0545") == timedelta(hours=5, minutes=45)
    for bad in ("", "   :  ", "+25:00", "-13:00", "+03:75", "03:00", None, 3, "+3"):
        assert parse_offset(bad) is None
    assert gps_utc("2015:04:10", (R(18, 1), R(12, 1), R(2206, 100))) == datetime(2015, 4, 10, 18, 12, 22)
    for date, clock in (("2015:04:10", (R(1, 0), R(0, 1), R(0, 1))), ("2015:13:10", (R(1, 1), R(0, 1), R(0, 1))),
                        ("2015:04:10", (R(24, 1), R(0, 1), R(0, 1))), (None, (R(1, 1),) * 3), ("2015:04:10", "noon")):
        assert gps_utc(date, clock) is None


def test_the_rule_in_order():
    tokyo = ZoneInfo("Asia/Tokyo")
    clock, fix = datetime(2015, 4, 10, 20, 12, 23), datetime(2015, 4, 10, 18, 12, 22)
    assert local_taken(clock, timedelta(hours=2), fix, tokyo) == clock  # an offset: as written
    assert local_taken(clock, None, fix, tokyo) == datetime(2015, 4, 11, 3, 12, 22)  # home time abroad
    assert local_taken(clock, None, fix, ZoneInfo("Europe/Madrid")) == clock  # the clock agrees with the place
    assert local_taken(clock - timedelta(days=1), None, fix, tokyo) == clock - timedelta(days=1)  # a day off: kept
    assert local_taken(None, None, fix, tokyo) == datetime(2015, 4, 11, 3, 12, 22)
    assert local_taken(clock, None, None, tokyo) == clock and local_taken(None, None, None, tokyo) is None


def test_the_real_geotagged_photos(tmp_path):
    # the phones' clocks agree with their position (Madrid) or state their offset (Helsinki): as written
    assert read_photo_info(GEOTAGGED / "iphone_hdr_YES.jpg").date_taken == datetime(2015, 4, 10, 20, 12, 23)
    assert read_photo_info(GEOTAGGED / "HMD_Nokia_8.3_5G.jpg").date_taken == datetime(2022, 8, 14, 14, 12, 31)
    # this Nikon's GPS date is a day after its clock's, which no time zone explains: its clock is kept
    assert read_photo_info(GEOTAGGED / "DSCN0010.jpg").date_taken == datetime(2008, 10, 22, 16, 28, 39)
    # no date in the Lund photos: the file time in Lund's zone, whatever this machine's zone is
    lund = shutil.copy(GEOTAGGED / "lund_01.jpg", tmp_path / "lund_01.jpg")
    os.utime(lund, (LUND_MTIME.timestamp(),) * 2)
    mtime = os.stat(lund).st_mtime_ns
    assert read_photo_info(lund).date_taken is None
    assert taken_ns(lund, mtime) == wall_ns(datetime(2021, 7, 1, 0, 30))
    assert is_file_time(taken_ns(lund, mtime), mtime)  # duplicate bursts leave file times out
    dated = GEOTAGGED / "iphone_hdr_YES.jpg"
    assert not is_file_time(taken_ns(dated, mtime), mtime)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("localtime")
    photos = root / "photos"
    photos.mkdir()
    for name, (source, tags, gps, mtime, _) in EDITED.items():
        _photo(photos / name, source, tags, gps, mtime)
    for name in ("lund_01.jpg", "iphone_hdr_YES.jpg", "HMD_Nokia_8.3_5G.jpg", "DSCN0010.jpg"):
        shutil.copy(GEOTAGGED / name, photos / name)
    os.utime(photos / "lund_01.jpg", (LUND_MTIME.timestamp(),) * 2)
    col = Collection.open(root / "db")
    report = col.index([photos], progress=False, workers=0)
    assert report.failed == 0 and report.indexed == len(EDITED) + 4
    yield {"col": col, "photos": photos, "root": root}
    col.close()


EXPECTED = {**{name: spec[-1] for name, spec in EDITED.items()}, "lund_01.jpg": datetime(2021, 7, 1, 0, 30),
            "iphone_hdr_YES.jpg": datetime(2015, 4, 10, 20, 12, 23), "HMD_Nokia_8.3_5G.jpg": datetime(2022, 8, 14, 14, 12, 31),
            "DSCN0010.jpg": datetime(2008, 10, 22, 16, 28, 39)}


def _stored(col) -> dict[str, int]:
    return {Path(p).name: t for p, t in col.catalog.db.execute("SELECT path, taken_ns FROM files")}


def test_the_catalog_keeps_the_local_date(world):
    assert _stored(world["col"]) == {name: wall_ns(when) for name, when in EXPECTED.items()}
    assert dates_current(world["col"].catalog)  # a new catalog is dated by the rule from its first file


@pytest.mark.parametrize("day, names", [
    ("2015-04-11", {"home_clock_in_tokyo.jpg"}),
    ("2020-07-01", {"offset_no_date.jpg"}),
    ("2020-01-01", {"mauritius_fix.jpg"}),
    ("2021-02-28", {"los_angeles_file_time.jpg"}),
    ("2021-03-02", {"broken_fix_tokyo.jpg"}),
    ("2021-07-01", {"lund_01.jpg"}),
    ("2019-12-31", {"offset_wins.jpg"}),
    ("2015-04-10", {"iphone_hdr_YES.jpg", "stale_fix.jpg"}),
])
def test_date_filters_use_the_local_date(world, day, names):
    hits = world["col"].search("building", k=50, min_score=0, after=day, before=day)
    assert {Path(h.path).name for h in hits} == names


def test_the_detail_view_shows_the_local_date(world):
    pytest.importorskip("fastapi", reason="the web extras are not installed")
    from fastapi.testclient import TestClient

    from pixseek.interfaces.http import create_app

    client = TestClient(create_app(world["root"] / "db"), raise_server_exceptions=False)
    info = client.get("/api/info", params={"path": str(world["photos"] / "home_clock_in_tokyo.jpg"), "k": 0}).json()
    assert info["date_taken"] == "2015-04-11T03:12:22" and info["date_source"] == "exif"


def test_a_catalog_dated_before_the_rule_is_dated_again_resumably(world):
    """Dates from before the rule are replaced on the next index run, without re-embedding; a pass
    interrupted after some rows resumes after them."""
    col, root = world["col"], world["root"]
    db = sqlite3.connect(root / "db" / "catalog.sqlite")
    rows = [r for r, in db.execute("SELECT rowid FROM files WHERE status='ok' ORDER BY rowid")]
    db.execute("UPDATE files SET taken_ns = 0")  # dates the rule would not give
    db.execute("DELETE FROM meta WHERE key='date_rule'")
    db.execute("INSERT INTO meta(key, value) VALUES ('date_rule_cursor', ?)", (str(rows[3]),))  # 4 rows done
    db.commit()
    db.close()
    old = Collection.open(root / "db")
    try:
        assert count_outdated(old.catalog) == len(rows) - 4 and not dates_current(old.catalog)
        report = old.index([world["photos"]], progress=False, workers=0)
        assert report.indexed == 0 and report.skipped == len(rows)
        stored = {r: t for r, t in old.catalog.db.execute("SELECT rowid, taken_ns FROM files")}
        assert [stored[r] for r in rows[:4]] == [0] * 4  # done before the interruption: not read again
        by_name = _stored(old)
        assert sorted(t for t in by_name.values() if t) == sorted(
            wall_ns(EXPECTED[n]) for n, t in by_name.items() if t)
        assert len([t for t in by_name.values() if t]) == len(rows) - 4
        assert dates_current(old.catalog) and count_outdated(old.catalog) == 0
        assert old.catalog.get_meta("date_rule_cursor") is None
    finally:
        old.close()
    col.refresh()
