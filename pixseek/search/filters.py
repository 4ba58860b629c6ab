"""Search filters: folder (`under`), date taken range (`after`, `before`), file type (`type`), where the photo
was taken (`place`: a city, region or country name; `near`: within a radius of a position, store/places.py).

A filter is parsed and checked once (search/filter_options.py `parse_filters`: a clear PixseekError for a
bad date or type), then resolved against the catalog into the content ids a search may return (`allowed`: a folder with no
indexed photo is an error, not an empty page). The ranker never sees a filter: each part's store is
wrapped in `Restricted` (store/restricted.py), whose search returns allowed ids only, so the filter applies
before the top k; how a store searches within them (over-fetch, exact scan, Milvus's push-down) is the
store's own (store/allowed.py).

The CLI, the HTTP API and the Python API take the filters through one spec, FILTER_OPTIONS (each option's
name, form and help), and give them to `parse_filters` as keyword arguments. A new filter is a field of
`Filters` with its parser and its entry in FILTER_OPTIONS (search/filter_options.py), its resolution in
`allowed` (here), and its control on the page (web/filters.js); plus the catalog query it needs when it
reads something the catalog does not answer yet (store/): docs/query-flow.md.

Dates are calendar days, inclusive at both ends, compared with each file's date taken as the catalog
keeps it (the local time where it was taken: media/local_time.py).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np

from pixseek.errors import PixseekError
from pixseek.media.exif import wall_ns
from pixseek.search.filter_options import Filters
from pixseek.store.allowed import Allowed
from pixseek.store.places import ids_named, ids_near


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
    only_folder = filters == Filters(under=filters.under)
    out = None if int(mask.sum()) == int(alive.sum()) else Allowed(mask, filters.under if only_folder else None)
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
