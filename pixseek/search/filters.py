"""Search filters: folder (`under`), date taken range (`after`, `before`), file type (`type`), where the photo
was taken (`place`: a city, region or country name; `near`: within a radius of a position, store/places.py).

A filter is parsed and checked once (`parse_filters`: a clear PixseekError for a bad date or type), then
resolved against the catalog into the content ids a search may return (`allowed`: a folder with no
indexed photo is an error, not an empty page). The ranker never sees a filter: each part's store is
wrapped in `Restricted`, whose search returns allowed ids only, so the filter applies before the top k:

- a narrow filter (under a quarter of the collection) scores exactly the allowed rows and nothing else;
- a broad one over-fetches from the store (exact scan or ANN index) and keeps the allowed ids, fetching
  more until k are found or the store is exhausted, then falls back to the exact scan of the allowed rows;
- a store that filters itself (Milvus) gets the conditions pushed down with the search (PUSHDOWN).

Dates are calendar days, inclusive at both ends, compared with each file's date taken as the catalog
keeps it (the local time where it was taken: encoders/local_time.py).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property

import numpy as np

from pixseek.config import IMAGE_EXTENSIONS
from pixseek.encoders.exif import wall_ns
from pixseek.encoders.place_names import name_key
from pixseek.errors import PixseekError
from pixseek.store.milvus.filters import MetaFilter
from pixseek.store.milvus.store import MilvusVectorStore
from pixseek.store.places import ids_named, ids_near
from pixseek.store.topk import top_k, top_k_among
from pixseek.store.vectors import ExactScoring, Vectors

NARROW = 0.25  # allowed share of the collection under which the allowed rows are scored directly
_ALIASES = {".jpg": (".jpg", ".jpeg", ".jpe"), ".jpeg": (".jpg", ".jpeg", ".jpe"), ".tif": (".tif", ".tiff"),
            ".tiff": (".tif", ".tiff")}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


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
    lo, hi = _day(after, "after"), _day(before, "before")
    if lo is not None and hi is not None and lo > hi:
        raise PixseekError(f"--after {lo} is later than --before {hi}: no photo can match")
    folder = None
    if under is not None:
        if not isinstance(under, (str, os.PathLike)) or not str(under).strip():
            raise PixseekError("under wants a folder, e.g. ~/Pictures/2024")
        folder = os.path.normpath(os.path.abspath(os.path.expanduser(str(under))))
    return Filters(folder, lo, hi, _types(type), _place(place), _near(near))


_PLACE_IN_QUERY = re.compile(r'(?<!\S)place:(?:"([^"]*)"|(\S+))', re.IGNORECASE)


def split_place(query: str) -> tuple[str, str | None]:
    """Take `place:"..."` filters out of a query: (the rest of it, the place, several joined by commas so
    that all must hold, or None). `dog place:"New York"` is `dog` with place="New York"."""
    if not isinstance(query, str):
        return query, None
    found = [(m.group(1) if m.group(1) is not None else m.group(2)).strip() for m in _PLACE_IN_QUERY.finditer(query)]
    if not found:
        return query, None
    if not all(name_key(p) for p in found):
        raise PixseekError('place: needs a name, e.g. place:"New York" or place:Sweden')
    return " ".join(_PLACE_IN_QUERY.sub(" ", query).split()), ", ".join(found)


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
        raise PixseekError(f"{name} wants a date as YYYY-MM-DD (e.g. 2024-05-31), got {text[:40]!r}") from None


def _types(value) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    out: list[str] = []
    for item in items:
        ext = "." + str(item).strip().lower().lstrip(".")
        if ext == ".":
            continue
        if ext not in IMAGE_EXTENSIONS:
            known = ", ".join(sorted(e[1:] for e in IMAGE_EXTENSIONS))
            raise PixseekError(f"type wants image file types separated by commas ({known}), got {str(item)[:40]!r}")
        out += _ALIASES.get(ext, (ext,))
    return tuple(dict.fromkeys(out))


@dataclass(frozen=True)
class Allowed:
    """The content ids a filtered search may return: mask[i] for id i (ids past its end are not allowed);
    `filters`, when given, also go to a store that filters itself (Milvus), as `pushdown`."""

    mask: np.ndarray
    filters: Filters | None = None

    @cached_property
    def ids(self) -> np.ndarray:
        return np.flatnonzero(self.mask).astype(np.int64)

    @cached_property
    def pushdown(self) -> MetaFilter:
        """The folder as Milvus's own field; conditions it keeps no field for as the ids they leave."""
        f = self.filters or Filters()
        only_folder = f.after is None and f.before is None and not f.types and f.place is None and f.near is None
        return MetaFilter(folder=f.under, ids=None if only_folder and f.under else tuple(self.ids.tolist()))

    def keep(self, ids: np.ndarray) -> np.ndarray:
        """bool, like ids: which are allowed (-1 and ids past the mask are not)."""
        inside = (ids >= 0) & (ids < len(self.mask))
        return inside & self.mask[np.where(inside, ids, 0)]


def allowed(catalog, rows: int, live: np.ndarray | list[int], filters: Filters) -> Allowed | None:
    """The live ids `filters` let through among the first `rows` (None when nothing is filtered, or when
    every live photo passes: then the search is the unfiltered one). Remembered for the last few filters
    while the catalog is unchanged, so paging through a filtered search asks the catalog once."""
    if not filters:
        return None
    key = (id(catalog), str(catalog.path), catalog.db.total_changes, _data_version(catalog), rows, len(live), filters)
    if key in _MEMO:
        return _MEMO[key]
    if filters.under is not None and not catalog.has_files_under(filters.under):
        raise PixseekError(f"no indexed photos under {filters.under}: under wants a folder inside the collection")
    lo = _ns(filters.after) if filters.after else None
    hi = _ns(filters.before + timedelta(days=1)) if filters.before and filters.before < date.max else None
    ids = np.array(catalog.ids_where(filters.under, lo, hi, list(filters.types) or None), np.int64)
    ids = _at_place(catalog, ids, filters)
    mask = np.zeros(rows, bool)
    mask[ids[ids < rows]] = True
    alive = np.zeros(rows, bool)
    alive[np.asarray(live, np.int64)] = True
    mask &= alive
    out = None if int(mask.sum()) == int(alive.sum()) else Allowed(mask, filters)
    if len(_MEMO) >= 8:
        _MEMO.clear()
    _MEMO[key] = out
    return out


_MEMO: dict[tuple, Allowed | None] = {}


def _at_place(catalog, ids: np.ndarray, filters: Filters) -> np.ndarray:
    """`ids` less those not taken at `filters.place` / `near`; a place no photo was taken in is an error,
    as a folder with no photo is (the user mistyped it, or it needs `pixseek places` to see the names)."""
    if filters.place is not None:
        named = ids_named(catalog, filters.place)
        if not len(named):
            raise PixseekError(f"no photos taken in {filters.place!r}: `pixseek places` lists the places in the collection")
        ids = ids[np.isin(ids, named)]
    if filters.near is not None:
        ids = ids[np.isin(ids, ids_near(catalog, *filters.near))]
    return ids


def _data_version(catalog) -> int:
    return catalog.db.execute("PRAGMA data_version").fetchone()[0]


def _ns(day: date) -> int:
    """Midnight starting `day` as wall-clock ns, within SQLite's int64 (years 1678 to 2262)."""
    return max(-(2**63), min(2**63 - 1, wall_ns(datetime.combine(day, datetime.min.time()))))


class Restricted(ExactScoring):
    """A store seen through a filter (Vectors): `search` and `shortlist` return allowed ids only, best
    first; estimates are the store's own."""

    def __init__(self, store: Vectors, allow: Allowed) -> None:
        self.store, self.allow = store, allow
        self.dim, self.rows = store.dim, store.rows

    def __len__(self) -> int:
        return len(self.allow.ids)

    def get(self, ids: np.ndarray) -> np.ndarray:
        return self.store.get(ids)

    def estimate(self, ids: np.ndarray, vectors: np.ndarray) -> np.ndarray:
        return self.store.estimate(ids, vectors)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = np.atleast_2d(np.asarray(queries, np.float32))
        if not len(self.allow.ids):
            return np.full((len(queries), k), -np.inf, np.float32), np.full((len(queries), k), -1, np.int64)
        search = PUSHDOWN.get(type(self.store), _search_allowed)
        return search(self.store, queries, k, self.allow)


def _search_allowed(store: Vectors, queries: np.ndarray, k: int, allow: Allowed) -> tuple[np.ndarray, np.ndarray]:
    n_allowed, n_live = len(allow.ids), max(1, len(store))
    if n_allowed < NARROW * n_live:
        return top_k_among(store.get, queries, k, allow.ids)
    fetch = min(n_live, int(k * n_live / n_allowed * 1.5) + 10)
    for _ in range(4):
        scores, ids = store.search(queries, fetch)
        ok = allow.keep(ids)
        if (ok.sum(axis=1) >= min(k, n_allowed)).all():
            return top_k(np.where(ok, scores, -np.inf), k, np.where(ok, ids, -1))
        if fetch >= n_live:
            break
        fetch = min(n_live, fetch * 4)
    return top_k_among(store.get, queries, k, allow.ids)  # the store ran short (an ANN index): score them all


def _search_milvus(store: MilvusVectorStore, queries: np.ndarray, k: int, allow: Allowed) -> tuple[np.ndarray, np.ndarray]:
    """Milvus filters server side; the catalog's mask has the last word, as it has for tombstones."""
    scores, ids = store.search(queries, k, filter=allow.pushdown)
    ok = allow.keep(ids)
    return top_k(np.where(ok, scores, -np.inf), k, np.where(ok, ids, -1))


PUSHDOWN: dict[type, Callable[[Vectors, np.ndarray, int, Allowed], tuple[np.ndarray, np.ndarray]]] = {
    MilvusVectorStore: _search_milvus,
}


def restrict(store: Vectors | None, allow: Allowed | None) -> Vectors | None:
    """`store` searched within `allow` (unchanged when nothing is filtered)."""
    return store if store is None or allow is None else Restricted(store, allow)
