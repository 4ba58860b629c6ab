"""Photos by face: the stored faces nearest a query face (`similar --faces`), and a person's photos in the
order of how typical their face is (a name alone as the query).

Every live face's descriptor is read once per catalog change (store/faces.descriptors) and searched
exactly with NumPy; past EXACT_UP_TO faces a FAISS HNSW index over them answers instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pixseek.config import FACE_QUERY_DISTANCE
from pixseek.store import faces as face_store
from pixseek.store.catalog import Catalog
from pixseek.store.faces import Descriptors

EXACT_UP_TO = 50_000
CANDIDATES = 2000  # nearest faces the HNSW index is asked for


@dataclass(frozen=True)
class FaceHit:
    content_id: int
    distance: float  # to the query face: the nearest of this photo's faces
    face_id: int

    @property
    def score(self) -> float:
        return round(max(0.0, 1.0 - self.distance), 4)


class FaceIndex:
    def __init__(self, found: Descriptors) -> None:
        self.found = found
        self._hnsw = None
        if len(found.ids) > EXACT_UP_TO:
            import faiss

            self._hnsw = faiss.IndexHNSWFlat(found.vectors.shape[1], 32)
            self._hnsw.hnsw.efSearch = 256
            self._hnsw.add(np.ascontiguousarray(found.vectors, np.float32))

    def nearest(self, query: np.ndarray, max_distance: float = FACE_QUERY_DISTANCE) -> tuple[np.ndarray, np.ndarray]:
        """(row indices, distances) of the faces within max_distance of `query`, nearest first."""
        q = np.asarray(query, np.float32).reshape(1, -1)
        if self._hnsw is not None:
            d2, rows = self._hnsw.search(q, min(CANDIDATES, len(self.found.ids)))
            keep = rows[0] >= 0
            rows, d = rows[0][keep], np.sqrt(np.maximum(d2[0][keep], 0))
        else:
            d = np.sqrt(np.maximum(((self.found.vectors - q) ** 2).sum(1), 0))
            rows = np.arange(len(d))
        near = d < max_distance
        rows, d = rows[near], d[near]
        order = np.argsort(d, kind="stable")
        return rows[order], d[order]


def photos_like(index: FaceIndex, query: np.ndarray, k: int, allowed: np.ndarray | None = None,
                exclude: set[int] | None = None, max_distance: float = FACE_QUERY_DISTANCE) -> list[FaceHit]:
    """The k photos whose nearest face is nearest `query` (one hit per photo); allowed: a bool mask over
    content ids (None: all), exclude: content ids left out (the query photo itself)."""
    rows, dists = index.nearest(query, max_distance)
    out: list[FaceHit] = []
    seen: set[int] = set(exclude or ())
    for row, d in zip(rows.tolist(), dists.tolist()):
        cid = int(index.found.contents[row])
        if cid in seen or (allowed is not None and not (cid < len(allowed) and allowed[cid])):
            continue
        seen.add(cid)
        out.append(FaceHit(cid, float(d), int(index.found.ids[row])))
        if len(out) == k:
            break
    return out


def typical_photos(index: FaceIndex, person_id: int, allowed: np.ndarray | None, k: int) -> list[FaceHit]:
    """A person's photos (within `allowed`), the face nearest the mean of their faces first."""
    rows = np.flatnonzero(index.found.people == person_id)
    if len(rows) == 0:
        return []
    vectors = index.found.vectors[rows]
    d = np.sqrt(np.maximum(((vectors - vectors.mean(0, keepdims=True)) ** 2).sum(1), 0))
    out: list[FaceHit] = []
    seen: set[int] = set()
    for i in np.argsort(d, kind="stable").tolist():
        cid = int(index.found.contents[rows[i]])
        if cid in seen or (allowed is not None and not (cid < len(allowed) and allowed[cid])):
            continue
        seen.add(cid)
        out.append(FaceHit(cid, float(d[i]), int(index.found.ids[rows[i]])))
        if len(out) == k:
            break
    return out


_MEMO: dict[tuple, FaceIndex] = {}


def face_index(catalog: Catalog) -> FaceIndex:
    """The index over the live faces, built again only when the catalog changed."""
    key = (id(catalog), str(catalog.path), catalog.db.total_changes,
           catalog.db.execute("PRAGMA data_version").fetchone()[0])
    index = _MEMO.get(key)
    if index is None:
        index = FaceIndex(face_store.descriptors(catalog.db))
        _MEMO.clear()
        _MEMO[key] = index
    return index
