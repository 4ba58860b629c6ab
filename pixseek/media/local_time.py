"""When a photo was taken, as the local time of the place where it was taken: the one rule that decides
the date taken, which the catalog keeps for date filters and the detail view shows.

EXIF's DateTimeOriginal is the camera's clock, with no time zone; newer cameras and phones add the
clock's UTC offset (OffsetTimeOriginal, else OffsetTime or OffsetTimeDigitized). A GPS block adds a
position, whose time zone is looked up offline (tzfpy), and the fix's UTC time (GPSDateStamp and
GPSTimeStamp). The rule, in order:

1. DateTimeOriginal with an offset: it is the local time at that offset, as written.
2. A GPS UTC time and a time zone (the offset, else the position's): that moment in that zone, unless
   DateTimeOriginal disagrees with it by something no time zone explains (a stale fix, a clock set a day
   wrong): then the camera's clock is kept. When the camera's clock agrees with the place (within
   CLOCK_SLACK) it is kept too; a camera left on its home time abroad gets the place's time instead.
3. DateTimeOriginal as written (the camera's clock, taken as local).
4. The file's modification time in the photo's time zone (its offset, else its position's), else in
   this machine's time zone.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone, tzinfo
from functools import lru_cache

CLOCK_SLACK = timedelta(minutes=5)  # a camera clock's drift, and the lag of a GPS fix behind the shutter
QUARTER_HOUR = timedelta(minutes=15)  # every time zone's offset is a whole number of these
EARLIEST_ZONE, LATEST_ZONE = timedelta(hours=-12), timedelta(hours=14)  # UTC offsets in use on Earth
_EPOCH = datetime(1970, 1, 1)
_OFFSET = re.compile(r"^\s*([+-])(\d{1,2}):?(\d{2})\s*$")


def parse_offset(value) -> timedelta | None:
    """EXIF's "+03:00" / "-05:30" (also "+0300"); None when absent, blank or no offset used on Earth."""
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str) or not (m := _OFFSET.match(value.replace("\x00", ""))):
        return None
    hours, minutes = int(m.group(2)), int(m.group(3))
    if minutes >= 60:
        return None
    offset = (-1 if m.group(1) == "-" else 1) * timedelta(hours=hours, minutes=minutes)
    return offset if EARLIEST_ZONE <= offset <= LATEST_ZONE else None


def gps_utc(date_stamp, time_stamp) -> datetime | None:
    """The GPS fix's UTC time from GPSDateStamp ("YYYY:MM:DD") and GPSTimeStamp (hours, minutes, seconds
    as rationals); None when either is missing or broken (NaN, text, 25 o'clock)."""
    if isinstance(date_stamp, bytes):
        date_stamp = date_stamp.decode("ascii", "replace")
    if not isinstance(date_stamp, str) or not isinstance(time_stamp, (tuple, list)) or len(time_stamp) != 3:
        return None
    try:
        day = datetime.strptime(date_stamp.replace("\x00", "").strip()[:10].replace("-", ":"), "%Y:%m:%d")
        h, m, s = (float(x) for x in time_stamp)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    if not (0 <= h < 24 and 0 <= m < 60 and 0 <= s < 61) or h != int(h) or m != int(m):
        return None  # NaN fails every comparison, so it ends here too
    return day + timedelta(hours=h, minutes=m, seconds=int(s))


@lru_cache(maxsize=1)
def _zone_finder():
    import tzfpy  # here, not above: only photos with a position and no offset need it (0.2 s, 35 MB)

    return tzfpy.get_tz


@lru_cache(maxsize=4096)
def zone_at(lat: float, lon: float) -> tzinfo | None:
    """The time zone in force at a position (IANA boundaries, offline); None when none is known."""
    from zoneinfo import ZoneInfo

    try:
        name = _zone_finder()(lon, lat)
        return ZoneInfo(name) if name else None
    except Exception:  # noqa: BLE001 - a name this machine's zone database lacks: no zone
        return None


def photo_zone(offset: timedelta | None, position: tuple[float, float] | None) -> tzinfo | None:
    """The photo's time zone: its EXIF offset, else its position's; None: unknown (this machine's is used)."""
    if offset is not None:
        return timezone(offset)
    return zone_at(*position) if position is not None else None


def local_taken(original: datetime | None, offset: timedelta | None, fix_utc: datetime | None,
                zone: tzinfo | None) -> datetime | None:
    """The date taken as the local time where the photo was taken (the module's rule, steps 1 to 3), from
    DateTimeOriginal, its offset, the GPS fix's UTC time and the photo's zone (photo_zone); None when the
    photo does not say (step 4 is file_time's)."""
    if original is not None and offset is not None:
        return original
    if fix_utc is not None and zone is not None:
        try:
            there = fix_utc.replace(tzinfo=timezone.utc).astimezone(zone).replace(tzinfo=None)
        except (OverflowError, ValueError):
            return original
        if original is None:
            return there
        if abs(original - there) <= CLOCK_SLACK:
            return original  # the camera's clock agrees with the place
        if _other_zone(original - fix_utc):
            return there  # the camera's clock was on another zone's time (its owner's home)
    return original


def _other_zone(clock_offset: timedelta) -> bool:
    """Whether a camera clock this far from UTC was set to some time zone (give or take CLOCK_SLACK)."""
    if not EARLIEST_ZONE - CLOCK_SLACK <= clock_offset <= LATEST_ZONE + CLOCK_SLACK:
        return False
    rest = clock_offset % QUARTER_HOUR
    return min(rest, QUARTER_HOUR - rest) <= CLOCK_SLACK


def file_time(mtime_ns: int, zone: tzinfo | None) -> datetime | None:
    """A file's modification time as local time in `zone` (None: this machine's); None for an mtime no date
    can hold."""
    try:
        if zone is None:
            return datetime.fromtimestamp(mtime_ns / 1e9)
        return datetime.fromtimestamp(mtime_ns / 1e9, zone).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError):
        return None


def is_file_time(wall: int, mtime_ns: int) -> bool:
    """Whether a stored date taken (wall-clock ns) is its file's mtime in some time zone (step 4), not a date
    the photo states: its distance from the mtime in UTC is a whole number of quarter hours of a zone in use
    (to the microsecond, which a camera's whole-second clock matches only by chance)."""
    try:
        utc = datetime.fromtimestamp(mtime_ns / 1e9, timezone.utc).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError):
        return wall == 0
    delta = timedelta(microseconds=(wall // 1000)) - (utc - _EPOCH)
    return wall == 0 or (EARLIEST_ZONE <= delta <= LATEST_ZONE and delta % QUARTER_HOUR == timedelta(0))
