"""Where each photo was taken: the catalog's `places` table (schema migration in store/catalog.py).

One row per content whose GPS block was read: its position (lat NULL when it has none) and the names
reverse geocoding gave it (lexicon/geocode.py). A content is one set of bytes, so every file holding it
shares its place. Contents with no row yet are read by the indexer's backfill (ingest/pipeline.py), so
collections indexed before places existed gain them without re-embedding. A catalog too old to have the
table (opened read-only) simply has no places.
"""

from __future__ import annotations

import numpy as np

from pixseek.lexicon.geocode import Place, distance_km
from pixseek.lexicon.place_names import COUNTRY_ALIASES, city_keys, name_key, region_keys
from pixseek.media.gps import Position
from pixseek.store.catalog import Catalog, from_db

_ALIASES_OF: dict[str, set[str]] = {}
for _alias, _code in COUNTRY_ALIASES.items():
    _ALIASES_OF.setdefault(_code, set()).add(_alias)


def has_places(catalog: Catalog) -> bool:
    return catalog.db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='places'").fetchone() is not None


_UNREAD = ("FROM contents c JOIN files f ON f.content_id = c.id LEFT JOIN places p ON p.content_id = c.id "
           "WHERE c.live=1 AND f.status='ok' AND p.content_id IS NULL")


def unplaced(catalog: Catalog, limit: int) -> list[tuple[int, str]]:
    """Up to `limit` (content id, a path holding it) of live contents whose GPS block was never read."""
    rows = catalog.db.execute(f"SELECT c.id, MIN(f.path) {_UNREAD} GROUP BY c.id LIMIT ?", (limit,)).fetchall()
    return [(cid, from_db(p)) for cid, p in rows]


def count_unplaced(catalog: Catalog) -> int:
    if not has_places(catalog):
        return 0
    return catalog.db.execute(f"SELECT COUNT(DISTINCT c.id) {_UNREAD}").fetchone()[0]


def put_places(catalog: Catalog, rows: list[tuple[int, Position | None, Place | None]]) -> None:
    """Record what was read for each content (inside the caller's transaction)."""
    catalog.db.executemany(
        "INSERT OR REPLACE INTO places(content_id, lat, lon, alt, direction, city, region, country, country_code)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(cid, *((pos.lat, pos.lon, pos.alt, pos.direction) if pos else (None,) * 4),
          *((place.city, place.region, place.country, place.country_code) if place and pos else (None,) * 4))
         for cid, pos, place in rows])


def places_of(catalog: Catalog, ids: list[int]) -> dict[int, dict]:
    """content id -> {"city", "region", "country", "lat", "lon"} for those with a position."""
    if not ids or not has_places(catalog):
        return {}
    q = ",".join("?" * len(ids))
    rows = catalog.db.execute(f"SELECT content_id, city, region, country, lat, lon FROM places "
                              f"WHERE content_id IN ({q}) AND lat IS NOT NULL", list(ids))
    return {cid: {"city": city, "region": region, "country": country, "lat": lat, "lon": lon}
            for cid, city, region, country, lat, lon in rows}


def _live_places(catalog: Catalog, columns: str, tail: str = "", args: tuple = ()) -> list[tuple]:
    return catalog.db.execute(f"SELECT {columns} FROM places p JOIN contents c ON c.id = p.content_id "
                              f"WHERE c.live=1 AND p.lat IS NOT NULL {tail}", args).fetchall()


def count_geotagged(catalog: Catalog) -> int:
    """Live photos (contents) with a position."""
    return _live_places(catalog, "COUNT(*)")[0][0] if has_places(catalog) else 0


def place_counts(catalog: Catalog) -> list[dict]:
    """Every named place with its number of photos: {"city", "region", "country", "photos"}, by country,
    then most photos first."""
    if not has_places(catalog):
        return []
    rows = _live_places(catalog, "p.city, p.region, p.country, COUNT(*)", "GROUP BY p.city, p.region, p.country")
    rows.sort(key=lambda r: (r[2] is None, r[2] or "", -r[3], r[1] or "", r[0] or ""))
    return [{"city": city, "region": region, "country": country, "photos": n} for city, region, country, n in rows]


def _keys(city: str | None, region: str | None, country: str | None, code: str | None) -> set[str]:
    """Every matching key a place answers to: its city, its region (long and short), its country and aliases."""
    return {*city_keys(city), name_key(country), *region_keys(region), *_ALIASES_OF.get(code or "", ())} - {""}


def known_place_keys(catalog: Catalog) -> set[str]:
    """Every name (as name_key) a place where photos of the collection were taken answers to."""
    if not has_places(catalog):
        return set()
    named = _live_places(catalog, "DISTINCT p.city, p.region, p.country, p.country_code")
    return set().union(*(_keys(*row) for row in named)) if named else set()


def ids_named(catalog: Catalog, name: str) -> np.ndarray:
    """Content ids taken in a place called `name`: a city, region or country ("Lund", "Skane", "Sweden", "UK"),
    or several of them separated by commas, all of which must hold ("Lund, Sweden")."""
    parts = [name_key(p) for p in name.split(",") if name_key(p)]
    if not parts or not has_places(catalog):
        return np.zeros(0, np.int64)
    named = _live_places(catalog, "DISTINCT p.city, p.region, p.country, p.country_code")
    out: list[int] = []
    for city, region, country, code in named:
        if all(part in _keys(city, region, country, code) for part in parts):
            out += [r[0] for r in catalog.db.execute(
                "SELECT content_id FROM places WHERE country_code IS ? AND region IS ? AND city IS ? AND lat IS NOT NULL",
                (code, region, city))]
    return np.array(out, np.int64)


def ids_near(catalog: Catalog, lat: float, lon: float, km: float) -> np.ndarray:
    """Content ids taken within `km` of (lat, lon), by great-circle distance."""
    if not has_places(catalog):
        return np.zeros(0, np.int64)
    band = km / 111.0 + 0.01  # a degree of latitude is at least 110.5 km: no position inside is left out
    rows = catalog.db.execute("SELECT content_id, lat, lon FROM places WHERE lat BETWEEN ? AND ?",
                              (lat - band, lat + band)).fetchall()
    if not rows:
        return np.zeros(0, np.int64)
    arr = np.array(rows, np.float64)
    return arr[distance_km(arr[:, 1], arr[:, 2], lat, lon) <= km, 0].astype(np.int64)


def position_counts(catalog: Catalog, decimals: int = 2, limit: int = 5000) -> list[dict]:
    """Where photos were taken, for a dot map: positions rounded to `decimals` degrees (2: about a
    kilometre), each with its place names and number of photos, most photos first, at most `limit`."""
    if not has_places(catalog):
        return []
    rows = _live_places(catalog, f"ROUND(p.lat, {int(decimals)}), ROUND(p.lon, {int(decimals)}), p.city, p.region, "
                                 "p.country, COUNT(*) AS n", "GROUP BY 1, 2, 3, 4, 5 ORDER BY n DESC, 1, 2 LIMIT ?",
                        (int(limit),))
    return [{"lat": lat, "lon": lon, "city": city, "region": region, "country": country, "photos": n}
            for lat, lon, city, region, country, n in rows]
