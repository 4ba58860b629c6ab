"""The filters as every interface takes them, in one spec (FILTER_OPTIONS: `--NAME` on the CLI, `?NAME=`
over HTTP, `NAME=` in the Python API), parsed and checked once into one value, `Filters` (a clear
PixseekError in the user's words for a bad date, type, place or position). Resolving them into the photos
they allow is search/filters.py; kept apart so that building the CLI's options loads nothing heavy."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypedDict

from pixseek.errors import PixseekError
from pixseek.lexicon.place_names import name_key
from pixseek.media.formats import BY_EXTENSION

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class FilterOption:
    """One filter as every interface takes it: `--NAME METAVAR` on the CLI, `?NAME=` over HTTP (at most
    `max_length` characters), `NAME=` in the Python API; parse_filters checks the value."""

    name: str
    metavar: str
    help: str
    max_length: int = 200


FILTER_OPTIONS: tuple[FilterOption, ...] = (
    FilterOption("under", "DIR", "only photos below this folder", 4096),
    FilterOption("after", "DATE", "only photos taken on or after this day (YYYY-MM-DD)", 40),
    FilterOption("before", "DATE", "only photos taken on or before this day (YYYY-MM-DD)", 40),
    FilterOption("type", "EXTS", "only these file types, e.g. jpg,png"),
    FilterOption("place", "NAME", "only photos taken in this city, region or country (pixseek places)"),
    FilterOption("near", "LAT,LON,KM", "only photos taken within KM of this position", 100),
)


class FilterArgs(TypedDict, total=False):
    """The filters as keyword arguments (Collection.search(**filters)): FILTER_OPTIONS' names."""

    under: str | None
    after: str | date | None
    before: str | date | None
    type: str | Sequence[str] | None
    place: str | None
    near: str | Sequence[float] | None


@dataclass(frozen=True)
class Filters:
    """What a search is restricted to; every field optional, all of them must hold."""

    under: str | None = None  # an absolute folder
    after: date | None = None  # taken on or after this day
    before: date | None = None  # taken on or before this day
    types: tuple[str, ...] = ()  # file name endings, lower case with the dot (".jpg", ".jpeg", ...)
    place: str | None = None  # a city, region or country ("Lund", "Skane", "UK"), or "Lund, Sweden"
    near: tuple[float, float, float] | None = None  # (lat, lon, km): taken within km of that position

    def __bool__(self) -> bool:
        return (self.under is not None or self.after is not None or self.before is not None or bool(self.types)
                or self.place is not None or self.near is not None)


def parse_filters(under: str | None = None, after: str | date | None = None, before: str | date | None = None,
                  type: str | Sequence[str] | None = None, place: str | None = None,
                  near: str | Sequence[float] | None = None) -> Filters:
    """Check and normalise filter values as the CLI, HTTP API and Python API take them."""
    lo, hi = _day(after, "'taken after'"), _day(before, "'taken before'")
    if lo is not None and hi is not None and lo > hi:
        raise PixseekError(f"The 'taken after' date ({lo}) is later than the 'taken before' date ({hi}), so no photo "
                           "can match: swap the two dates or clear one of them.")
    folder = None
    if under is not None:
        if not isinstance(under, (str, os.PathLike)) or not str(under).strip():
            raise PixseekError("under wants a folder, e.g. ~/Pictures/2024")
        folder = os.path.normpath(os.path.abspath(os.path.expanduser(str(under))))
    return Filters(folder, lo, hi, _types(type), _place(place), _near(near))


def _place(value) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not name_key(value) or len(value) > 200:
        raise PixseekError(f"place wants a city, region or country name, e.g. Lund or Sweden, got {str(value)[:40]!r}")
    return value.strip()


def _near(value) -> tuple[float, float, float] | None:
    if value is None or value == "":
        return None
    parts = value.split(",") if isinstance(value, str) else list(value)
    try:
        lat, lon, km = (float(p) for p in parts)
        if not (-90 <= lat <= 90 and -180 <= lon <= 180 and 0 < km <= 20_100):
            raise ValueError
    except (TypeError, ValueError):
        raise PixseekError("near wants LAT,LON,KM: degrees north and east and a radius in km, e.g. "
                           f"55.70,13.19,5, got {str(value)[:60]!r}") from None
    return (lat, lon, km)


def _day(value, name: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    try:
        if not _DATE.fullmatch(text):
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise PixseekError(f"The {name} date {text[:40]!r} is not a date pixseek can read: write it as YYYY-MM-DD, "
                           "e.g. 2024-05-31.") from None


def _types(value) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    out: list[str] = []
    for item in items:
        ext = "." + str(item).strip().lower().lstrip(".")
        if ext == ".":
            continue
        if ext not in BY_EXTENSION:
            known = ", ".join(sorted(e[1:] for e in BY_EXTENSION))
            raise PixseekError(f"type wants image file types separated by commas ({known}), got {str(item)[:40]!r}")
        out += BY_EXTENSION[ext].extensions
    return tuple(dict.fromkeys(out))
