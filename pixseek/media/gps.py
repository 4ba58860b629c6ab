"""Where a photo was taken, from the GPS block of its EXIF header (media/exif.py hands it over).

Cameras and phones write positions as degrees, minutes and seconds (three rationals) with N/S and E/W
references; others write two values (no seconds), one decimal value, or negative degrees with no
reference. Broken writers leave zero denominators (NaN), latitudes of 123, or 0,0 for "no fix yet". A
bad value costs that value only: a bad altitude keeps the position, a bad latitude drops the position
(both coordinates are needed), and nothing here ever raises.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

GPS_IFD = 0x8825
_LAT_REF, _LAT, _LON_REF, _LON, _ALT_REF, _ALT = 1, 2, 3, 4, 5, 6
_DIRECTION = 17  # GPSImgDirection: which way the camera looked, degrees from north
MAX_ALTITUDE_M = 100_000.0  # beyond that it is a broken tag, not a photo from a plane


@dataclass(frozen=True)
class Position:
    """A photo's position: degrees north and east (negative: south, west); metres above sea level and the
    camera's heading in degrees when the photo says."""

    lat: float
    lon: float
    alt: float | None = None
    direction: float | None = None


def position_from_gps(gps: dict) -> Position | None:
    """The Position an EXIF GPS block (tag number -> value, as Pillow reads it) holds; None without a
    usable latitude and longitude."""
    if not isinstance(gps, dict):
        return None
    lat = _coordinate(gps.get(_LAT), gps.get(_LAT_REF), 90.0, "S")
    lon = _coordinate(gps.get(_LON), gps.get(_LON_REF), 180.0, "W")
    if lat is None or lon is None or (lat == 0.0 and lon == 0.0):  # 0,0: a receiver without a fix
        return None
    return Position(round(lat, 7), round(lon, 7), _altitude(gps.get(_ALT), gps.get(_ALT_REF)),
                    _direction(gps.get(_DIRECTION)))


def _number(value) -> float | None:
    """A finite float from a rational (Pillow's IFDRational: a zero denominator reads as NaN), int or
    float; None otherwise."""
    if isinstance(value, (bytes, str, bool)) or value is None:
        return None
    try:
        x = float(value)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    return x if math.isfinite(x) else None


def _ref(value) -> str:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    return value.replace("\x00", "").strip().upper()[:1] if isinstance(value, str) else ""


def _coordinate(value, ref, limit: float, negative_ref: str) -> float | None:
    """Degrees from (deg, min[, sec]), (deg,) or deg; minutes and seconds must lie in [0, 60]."""
    parts = list(value) if isinstance(value, (tuple, list)) else [value]
    if not 1 <= len(parts) <= 3:
        return None
    numbers = [_number(p) for p in parts]
    if any(n is None for n in numbers):
        return None
    degrees, rest = numbers[0], numbers[1:]
    if any(not 0.0 <= n <= 60.0 for n in rest):
        return None
    sign = -1.0 if degrees < 0 else 1.0
    x = sign * (abs(degrees) + sum(n / 60.0 ** (i + 1) for i, n in enumerate(rest)))
    letter = _ref(ref)
    if letter == negative_ref:
        x = -abs(x)
    elif letter and letter not in "NE":
        return None  # "X", or a W on a latitude: the writer was confused, so is the value
    return x if -limit <= x <= limit else None


def _altitude(value, ref) -> float | None:
    alt = _number(value)
    if alt is None or abs(alt) > MAX_ALTITUDE_M:
        return None
    below = ref in (1, b"\x01", "1") or (isinstance(ref, bytes) and ref[:1] == b"\x01")
    return round(-abs(alt) if below else alt, 2)


def _direction(value) -> float | None:
    heading = _number(value)
    return round(heading % 360.0, 2) if heading is not None and 0.0 <= heading <= 360.0 else None
