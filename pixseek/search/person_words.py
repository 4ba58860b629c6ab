"""People inside a query: a person's name (`Anna`, `Anna beach`, `Anna -Ben`, `2:Anna`) or `person:ID`
(`-person:ID` leaves them out) names photos with or without that person's face.

Only names given with `people name` count, in any case, as whole words (a name of several words matches
those words in a row); quoted phrases and `text:` are left as they are. A query without any of them is
not touched, so a collection without people, or a search without people words, searches exactly as
before. Collection.search keeps the photos of every person named and none of those left out, and ranks
them by the rest of the query, or by how typical the face is when nothing else is asked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pixseek.errors import PixseekError
from pixseek.store import faces as face_store
from pixseek.store.catalog import Catalog

MAX_NAME_WORDS = 4
_PERSON_ID = re.compile(r"^(-?)person:(\d+)$", re.IGNORECASE)
_WEIGHT = re.compile(r"^(-?)(?:\d+(?:\.\d+)?:)?(.*)$")  # "2:Anna", "-Anna"


@dataclass(frozen=True)
class PeopleInQuery:
    rest: str  # the query without its people words
    include: tuple[int, ...]  # person ids whose photos are kept
    exclude: tuple[int, ...]  # person ids whose photos are left out


def people_in_query(catalog: Catalog, query: str) -> PeopleInQuery | None:
    """The people a query names and the rest of it; None when it names nobody (or has no people yet)."""
    if not isinstance(query, str) or "person:" not in query.lower() and not _has_people(catalog):
        return None
    names = _names(catalog)
    tokens = _tokens(query)
    include: list[int] = []
    exclude: list[int] = []
    rest: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        m = _PERSON_ID.match(token)
        if m:
            pid = int(m.group(2))
            face_store.person(catalog.db, pid)  # an unknown id is a one-line error
            (exclude if m.group(1) else include).append(pid)
            i += 1
            continue
        found = _name_at(tokens, i, names) if not token.startswith(('"', "text:")) else None
        if found is None:
            rest.append(token)
            i += 1
            continue
        pid, used, negative = found
        (exclude if negative else include).append(pid)
        i += used
    if not include and not exclude:
        return None
    return PeopleInQuery(" ".join(rest), tuple(dict.fromkeys(include)), tuple(dict.fromkeys(exclude)))


def _name_at(tokens: list[str], i: int, names: dict[str, int]) -> tuple[int, int, bool] | None:
    """(person id, tokens used, excluded) when a name starts at token i, longest name first."""
    m = _WEIGHT.match(tokens[i])
    negative, first = m.group(1) == "-", m.group(2)
    for n in range(min(MAX_NAME_WORDS, len(tokens) - i), 0, -1):
        words = [first] + tokens[i + 1:i + n]
        pid = names.get(" ".join(words).lower().strip(",.;!?"))
        if pid is not None:
            return pid, n, negative
    return None


def _tokens(query: str) -> list[str]:
    """Words, with a quoted phrase kept as one token (quotes included)."""
    return re.findall(r'-?"[^"]*"|\S+', query)


def _has_people(catalog: Catalog) -> bool:
    return bool(_names(catalog))


_MEMO: dict[tuple, dict[str, int]] = {}


def _names(catalog: Catalog) -> dict[str, int]:
    """The named people, asked again only when the catalog changed (a search must not scan them each time)."""
    if not catalog.db.execute("SELECT 1 FROM sqlite_master WHERE name='people'").fetchone():
        return {}
    key = (id(catalog), str(catalog.path), catalog.db.total_changes,
           catalog.db.execute("PRAGMA data_version").fetchone()[0])
    known = _MEMO.get(key)
    if known is None:  # read into a local first: another thread may clear the memo meanwhile
        known = face_store.names(catalog.db)
        _MEMO.clear()
        _MEMO[key] = known
    return known


def check_person_name(name: str) -> str:
    """A name a query can use: starts with a letter, up to 64 letters, spaces, - ' ."""
    text = " ".join(str(name).split()) if isinstance(name, str) else ""
    if not re.fullmatch(r"[^\W\d_][\w' .-]{0,63}", text) or text.lower().startswith("person:") or text.endswith(("'", ".")):
        raise PixseekError(f"a person's name is a word or a few (letters first, up to 64 characters), not {str(name)[:40]!r}")
    return text
