"""Place names inside a query: `Rome`, `beach Croatia`, `sunset in New York` name where photos were taken.

Only names of places where photos of this collection were taken count (store/places.py), and only at the
start or end of a plain query (no quotes, operators or `text:`), so a query without them, and a collection
without geotagged photos, searches exactly as before. Collection.search lists the place's matching photos
first, then the rest of the ranking.
"""

from __future__ import annotations

import re

from pixseek.encoders.place_names import name_key
from pixseek.store.catalog import Catalog
from pixseek.store.places import known_place_keys

MAX_WORDS = 3  # "united arab emirates", "new york city"
_FILLER = {"in", "at", "from", "near", "of"}  # "sunset in Rome"
_PLAIN = re.compile(r"[\w\s,.'’]+")


def place_in_query(catalog: Catalog, query: str) -> tuple[str, str] | None:
    """(the query without the place words, the place) when it starts or ends with a place name of the
    collection; None otherwise."""
    if not isinstance(query, str) or not _PLAIN.fullmatch(query.strip() or "-"):
        return None
    words = query.replace(",", " ").split()
    known = _known(catalog)
    if not known:
        return None
    for n in range(min(MAX_WORDS, len(words)), 0, -1):
        for name, rest in ((words[-n:], words[:-n]), (words[:n], words[n:])):
            if name_key(" ".join(name)) in known:
                if rest and rest[-1].lower() in _FILLER:
                    rest = rest[:-1]
                return " ".join(rest), " ".join(name)
    return None


_MEMO: dict[tuple, set[str]] = {}


def _known(catalog: Catalog) -> set[str]:
    """known_place_keys, asked again only when the catalog changed (a search must not scan every place)."""
    key = (id(catalog), str(catalog.path), catalog.db.total_changes,
           catalog.db.execute("PRAGMA data_version").fetchone()[0])
    known = _MEMO.get(key)
    if known is None:  # read into a local first: another thread may clear the memo meanwhile
        known = known_place_keys(catalog)
        _MEMO.clear()
        _MEMO[key] = known
    return known
