"""What a photo's header says about it (date taken, camera, upright size), read without decoding pixels.

The detail view shows it and the catalog keeps the date taken for date filters, as the local time where
the photo was taken (media/local_time.py decides it from the EXIF date, its offset and the GPS block).
Photos come from anywhere, so a damaged or hostile EXIF block yields `None` fields, never an exception.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from pixseek.media.gps import GPS_IFD, Position, position_from_gps
from pixseek.media.local_time import file_time, gps_utc, local_taken, parse_offset, photo_zone
from pixseek.regular_files import open_regular

if TYPE_CHECKING:
    from PIL import Image

_EXIF_IFD = 0x8769
_DATE_TIME_ORIGINAL = 0x9003
_OFFSETS = (0x9011, 0x9010, 0x9012)  # OffsetTimeOriginal, else OffsetTime, else OffsetTimeDigitized
_GPS_TIME, _GPS_DATE = 7, 29  # GPSTimeStamp (UTC hours, minutes, seconds), GPSDateStamp
_MAKE, _MODEL, _ORIENTATION = 0x010F, 0x0110, 0x0112
_QUARTER_TURNS = (5, 6, 7, 8)  # orientations that swap width and height


@dataclass(frozen=True)
class PhotoInfo:
    """Header facts about one photo; any of them may be unknown (None, or 0 for the size)."""

    date_taken: datetime | None  # naive local time where it was taken (media/local_time.py); None: not said
    camera: str | None  # EXIF Make + Model, e.g. "Canon Canon EOS 5D" -> "Canon EOS 5D"
    width: int  # upright, after the EXIF orientation
    height: int
    file_zone: tzinfo | None = None  # without a date taken: the zone its file time is read in (None: this machine's)


def read_photo_info(source: str | Path | bytes) -> PhotoInfo:
    """PhotoInfo of a file or its bytes; an unreadable file gives PhotoInfo(None, None, 0, 0)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow warns on corrupt EXIF; the answer is just "unknown"
        return _read(source)


def _read(source: str | Path | bytes) -> PhotoInfo:
    from PIL import Image  # here, not above: a search's date filter (wall_ns) must not load PIL

    try:
        with open_regular(source) if not isinstance(source, bytes) else io.BytesIO(source) as f, Image.open(f) as im:
            w, h = im.size
            exif = _exif(im)
    except Exception:  # noqa: BLE001 - not an image, missing, truncated: nothing known
        return PhotoInfo(None, None, 0, 0)
    if exif is None:
        return PhotoInfo(None, None, w, h)
    if _get(exif, _ORIENTATION) in _QUARTER_TURNS:
        w, h = h, w
    taken, zone = _date(_ifd(exif, _EXIF_IFD), _ifd(exif, GPS_IFD))
    return PhotoInfo(taken, _camera(exif), w, h, zone)


def _ifd(exif: Image.Exif, tag: int) -> dict:
    try:
        return dict(exif.get_ifd(tag) or {})
    except Exception:  # noqa: BLE001 - a broken sub-IFD pointer
        return {}


def _date(sub: dict, gps: dict) -> tuple[datetime | None, tzinfo | None]:
    """(the date taken, or None with the time zone its file time is to be read in): local_time's rule."""
    original = parse_exif_date(sub.get(_DATE_TIME_ORIGINAL))
    offset = next((o for tag in _OFFSETS if (o := parse_offset(sub.get(tag))) is not None), None)
    fix = gps_utc(gps.get(_GPS_DATE), gps.get(_GPS_TIME)) if gps else None
    if original is not None and (offset is not None or fix is None):
        return original, None  # no time zone can change it: spare the zone lookup
    try:
        pos = position_from_gps(gps) if gps else None
    except Exception:  # noqa: BLE001 - a value no rule foresaw: no position
        pos = None
    zone = photo_zone(offset, (pos.lat, pos.lon) if pos else None)
    taken = local_taken(original, offset, fix, zone)
    if taken is not None and not fits_ns(wall_ns(taken)):
        taken = original
    return taken, (zone if taken is None else None)


def _exif(im: Image.Image) -> Image.Exif | None:
    """The EXIF block from the header only (PIL's getexif() may decode a whole PNG to look for one)."""
    raw = im.info.get("exif")
    if not raw and im.format in ("JPEG", "TIFF", "WEBP", "MPO"):
        try:
            return im.getexif() or None
        except Exception:  # noqa: BLE001
            return None
    if not raw:
        return None
    from PIL import Image

    try:
        exif = Image.Exif()
        exif.load(raw if isinstance(raw, bytes) else bytes(raw))
        return exif
    except Exception:  # noqa: BLE001
        return None


def _get(exif: Image.Exif, tag: int):
    try:
        return exif.get(tag)
    except Exception:  # noqa: BLE001
        return None


def _text(value) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    value = value.replace("\x00", "").strip()
    return value[:200] or None


def _camera(exif: Image.Exif) -> str | None:
    make, model = _text(_get(exif, _MAKE)), _text(_get(exif, _MODEL))
    if make and model and model.lower().startswith(make.split()[0].lower()):
        return model  # "NIKON CORPORATION" + "NIKON D750" reads better as the model alone
    return " ".join(p for p in (make, model) if p) or None


def parse_exif_date(value) -> datetime | None:
    """EXIF's "YYYY:MM:DD HH:MM:SS" (also with dashes, or without the time); None when absent or invalid
    (cameras write "0000:00:00 00:00:00" when their clock was never set)."""
    text = _text(value)
    if not text:
        return None
    text = text[:19].replace("-", ":").replace("T", " ")
    for fmt, n in (("%Y:%m:%d %H:%M:%S", 19), ("%Y:%m:%d %H:%M", 16), ("%Y:%m:%d", 10)):
        try:
            moment = datetime.strptime(text[:n], fmt)
        except ValueError:
            continue
        return moment if fits_ns(wall_ns(moment)) else None
    return None


def fits_ns(value: int) -> bool:
    """Whether a count of nanoseconds fits the catalog's 64-bit integers (wall_ns of 1677-09-22 to 2262-04-11):
    a date outside (years 1 or 9999 in a hostile or broken EXIF block) is no date at all."""
    return -(2**63) <= value < 2**63


def wall_ns(moment: datetime) -> int:
    """A naive wall-clock time as ns since 1970-01-01 00:00 of the same clock (no time zone applied)."""
    delta = moment - datetime(1970, 1, 1)
    return (delta.days * 86_400 + delta.seconds) * 10**9 + delta.microseconds * 1000


def taken_ns(path: str | Path | bytes, mtime_ns: int) -> int:
    """When a photo was taken, for date filters: the local time where it was taken (media/local_time.py),
    else the file's mtime in the photo's time zone or this machine's, as wall-clock ns (wall_ns), so "taken
    on 2024-05-01" means that calendar day there. Always a 64-bit value: a date taken out of that range is
    replaced by the mtime (parse_exif_date)."""
    info = read_photo_info(path)
    return wall_ns(info.date_taken) if info.date_taken is not None else mtime_wall_ns(mtime_ns, info.file_zone)


def mtime_wall_ns(mtime_ns: int, zone: tzinfo | None = None) -> int:
    """A file's mtime as wall_ns in `zone` (None: this machine's), the date taken of a photo that does not
    say; 0 for an mtime no date can hold."""
    moment = file_time(mtime_ns, zone)
    value = wall_ns(moment) if moment is not None else 0
    return value if fits_ns(value) else 0


def read_position(source: str | Path | bytes) -> Position | None:
    """Where a photo was taken (media/gps.py), from a file or its bytes; None when it has no usable GPS
    position or cannot be read. Reads the header only, never the pixels."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from PIL import Image

        try:
            with open_regular(source) if not isinstance(source, bytes) else io.BytesIO(source) as f, Image.open(f) as im:
                exif = _exif(im)
                gps = exif.get_ifd(GPS_IFD) if exif is not None else None
        except Exception:  # noqa: BLE001 - not an image, missing, a broken GPS pointer: no position
            return None
        try:
            return position_from_gps(dict(gps)) if gps else None
        except Exception:  # noqa: BLE001 - a value no rule foresaw: that photo has no position
            return None
