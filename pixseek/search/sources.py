"""What a search reads besides vectors, behind one small interface: which photos a filter allows, the text
read in photos, the places photos were taken, the people in them. `CatalogSources` answers from a collection's catalog (for
one snapshot of its stores); `NoSources` is a searcher over vectors alone (evaluating on a dataset split).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from pixseek.errors import PixseekError
from pixseek.search import face_match
from pixseek.search.filters import Filters, allowed
from pixseek.search.person_words import PeopleInQuery, people_in_query
from pixseek.search.photo_text_fusion import PhotoText
from pixseek.search.place_words import place_in_query
from pixseek.store import faces as face_store
from pixseek.store.allowed import Allowed
from pixseek.store.catalog import Catalog
from pixseek.store.photo_text import PhotoTextIndex, StoredLine


class Sources(Protocol):
    text: PhotoText

    def allowed(self, filters: Filters) -> Allowed | None:
        """The ids `filters` let through (None: every live photo)."""
        ...

    def live_ids(self) -> np.ndarray:
        """Every live content id, in index order."""
        ...

    def place_in_query(self, text: str) -> tuple[str, str] | None:
        """(the query without the place words, the place) when it names where photos were taken."""
        ...

    def people_in_query(self, text: str) -> PeopleInQuery | None:
        """The people a query names (`Anna`, `-Ben`, `person:3`) and the rest of it; None when it names nobody."""
        ...

    def photos_of(self, person: int) -> np.ndarray:
        """Content ids of the photos with that person's face."""
        ...

    def typical_photos(self, person: int, mask: np.ndarray, k: int) -> list[tuple[int, float]]:
        """(content id, score) of a person's photos within `mask`, the most typical face first."""
        ...


class CatalogSources:
    def __init__(self, catalog: Catalog, rows: int, live: np.ndarray | list[int]) -> None:
        self.catalog, self.rows, self.live = catalog, rows, live
        self.text = PhotoTextIndex(catalog.db)

    def allowed(self, filters: Filters) -> Allowed | None:
        return allowed(self.catalog, self.rows, self.live, filters)

    def live_ids(self) -> np.ndarray:
        return np.asarray(self.live, np.int64)

    def place_in_query(self, text: str) -> tuple[str, str] | None:
        return place_in_query(self.catalog, text)

    def people_in_query(self, text: str) -> PeopleInQuery | None:
        return people_in_query(self.catalog, text)

    def photos_of(self, person: int) -> np.ndarray:
        return np.asarray(face_store.photos_of(self.catalog.db, person), np.int64)

    def typical_photos(self, person: int, mask: np.ndarray, k: int) -> list[tuple[int, float]]:
        if not face_store.exists(self.catalog.db):
            return []
        hits = face_match.typical_photos(face_match.face_index(self.catalog), person, mask, k)
        return [(h.content_id, face_match.FaceHit(h.content_id, h.distance / 2, h.face_id).score) for h in hits]


class _NoText:
    def has_text(self) -> bool:
        return False

    def containing(self, needle: str) -> list[StoredLine]:
        return []


class NoSources:
    """Vectors alone: no filters, no photo text, no places."""

    text = _NoText()

    def __init__(self, live: np.ndarray | list[int] = ()) -> None:
        self.live = np.asarray(live, np.int64)

    def allowed(self, filters: Filters) -> Allowed | None:
        if filters:
            raise PixseekError("this search has no catalog to filter by")
        return None

    def live_ids(self) -> np.ndarray:
        return self.live

    def place_in_query(self, text: str) -> tuple[str, str] | None:
        return None

    def people_in_query(self, text: str) -> PeopleInQuery | None:
        return None

    def photos_of(self, person: int) -> np.ndarray:
        return np.zeros(0, np.int64)

    def typical_photos(self, person: int, mask: np.ndarray, k: int) -> list[tuple[int, float]]:
        return []
