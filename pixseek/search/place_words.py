"""Place names inside a query: `Rome`, `beach Croatia`, `sunset in New York` name where photos were taken.

Only names of places where photos of this collection were taken count (store/places.py), and only at the
start or end of a plain query (no quotes, operators or `text:`), so a query without them, and a collection
without geotagged photos, searches exactly as before. Collection.search lists the place's matching photos
first, then the rest of the ranking. Two names side by side narrow each other when the collection has
photos taken in both ("Rome Italy", "Bergen, Norway" are the place "Rome, Italy": Rome, in Italy).
"""

from __future__ import annotations

import re

from pixseek.lexicon.place_names import name_key
from pixseek.store.catalog import Catalog
from pixseek.store.places import ids_named, known_place_keys

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
        for at_end, name, rest in ((True, words[-n:], words[:-n]), (False, words[:n], words[n:])):
            if name_key(" ".join(name)) in known:
                place, rest = _narrowed(catalog, known, " ".join(name), rest, at_end)
                if rest and rest[-1].lower() in _FILLER:
                    rest = rest[:-1]
                return " ".join(rest), place
    return None


def _narrowed(catalog: Catalog, known: set[str], place: str, rest: list[str], at_end: bool) -> tuple[str, list[str]]:
    """("other, place", the rest less `other`) when the words next to the place name are another place name
    and photos were taken in both ("Rome" before "Italy"); else (place, rest)."""
    for m in range(min(MAX_WORDS, len(rest)), 0, -1):
        other = " ".join(rest[-m:] if at_end else rest[:m])
        if name_key(other) in known and len(ids_named(catalog, f"{other}, {place}")):
            return f"{other}, {place}", rest[:-m] if at_end else rest[m:]
    return place, rest


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
