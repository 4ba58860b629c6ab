"""People in a collection: the Python API's people/name/merge/forget, the faces of a photo, photos by
face, and a person's name as a query word, which the CLI and the server call through Collection.

Faces are found by `index --faces` (ingest/face_stage.py) and grouped into people there; here they are
listed, named and searched. `People` is the part of Collection that does this (kept here so the facade
stays small); it relies on the collection's catalog, stores and searcher. A person's name as a query word
is a stage of the query pipeline (search/pipeline.py, search/person_words.py).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Unpack

import numpy as np

from pixseek.config import FACE_QUERY_DISTANCE, MAX_K
from pixseek.errors import PixseekError
from pixseek.interfaces.results import Hit, Results
from pixseek.search import face_match
from pixseek.search.filter_options import FilterArgs, parse_filters
from pixseek.search.person_words import check_person_name
from pixseek.store import faces as face_store

if TYPE_CHECKING:
    from pixseek.encoders.faces import FacesInPhoto
    from pixseek.ingest.face_stage import FaceCounts


class People:
    """People and faces for Collection (which supplies catalog, _stores, searcher, _require_photos)."""

    def _find_faces(self, faces: bool | None, progress: bool | None, workers: int | None) -> FaceCounts | None:
        """The face stage of an index run (ingest/face_stage.py), loaded only for it."""
        from pixseek.ingest.face_stage import find_faces

        return find_faces(self.layout, faces, progress, workers)

    # listing and editing people --------------------------------------------------------------------
    def people(self) -> list[dict]:
        """[{"id", "name" (None until named), "count" (photos), "photos": [path, ...] (best face first)}], most photos first."""
        db = self.catalog.db
        if not face_store.exists(db):
            return []
        out = []
        for p in face_store.people(db):
            ids = face_store.photos_of(db, p.id)
            paths = self.catalog.paths_of(ids)
            out.append({"id": p.id, "name": p.name, "count": p.count, "photos": [paths[i] for i in ids if i in paths]})
        return out

    def name_person(self, person_id: int, name: str | None) -> dict:
        """Give a person a name a query can use (None: take it away); the person's listing entry."""
        clean = None if name is None else check_person_name(name)
        with self._people_writer() as db:
            face_store.person(db, _id(person_id))
            face_store.set_name(db, _id(person_id), clean)
        return self._person_entry(_id(person_id))

    def merge_people(self, keep: int, other: int) -> dict:
        """`other`'s faces become `keep`'s (a name either had is kept; two names: `keep`'s); the entry of `keep`."""
        keep, other = _id(keep), _id(other)
        if keep == other:
            raise PixseekError(f"merging person {keep} with itself: give two different ids")
        with self._people_writer() as db:
            face_store.person(db, keep)
            face_store.person(db, other)
            face_store.merge(db, keep, other)
        return self._person_entry(keep)

    def forget_person(self, person_id: int) -> dict:
        """Delete a person and their faces' descriptors; {"id", "faces": deleted}."""
        with self._people_writer() as db:
            face_store.person(db, _id(person_id))
            n = face_store.forget_person(db, _id(person_id))
        return {"id": _id(person_id), "faces": n}

    def _person_entry(self, person_id: int) -> dict:
        return next(p for p in self.people() if p["id"] == person_id)

    def _people_writer(self):
        if self.catalog.readonly:
            raise PixseekError(f"collection {self.folder} is read-only: changing people needs write access")
        if not face_store.exists(self.catalog.db):
            raise PixseekError("this collection has no people yet: run `pixseek index DIR --faces` first")
        return _Transaction(self.catalog)

    # faces of a photo ------------------------------------------------------------------------------
    def faces(self, image: str | os.PathLike | bytes, detect: bool = True) -> dict:
        """{"path", "source": "catalog" | "detected" | "none", "faces": [{"box", "person", "name", "score", "quality"}]}:
        what `index --faces` stored when the photo is indexed and looked at, else found now (nothing is
        stored; each face's person is the nearest stored face's, when near enough), or with detect=False
        nothing ("none")."""
        stored = self._stored_faces(image)
        path = "upload" if isinstance(image, bytes) else os.path.abspath(os.path.expanduser(str(image)))
        names = {p.id: p.name for p in face_store.people(self.catalog.db)} if face_store.exists(self.catalog.db) else {}
        if stored is not None:
            faces = [{"box": list(f.box), "person": f.person_id, "name": names.get(f.person_id), "score": round(f.score, 4),
                      "quality": round(f.quality, 4)} for f in stored]
            return {"path": path, "source": "catalog", "faces": faces}
        if not detect:
            return {"path": path, "source": "none", "faces": []}
        index = self._face_index()
        out = []
        for f in sorted(_detect(image).faces, key=_area, reverse=True):
            pid = _nearest_person(index, f.vector)
            out.append({"box": list(f.box), "person": pid, "name": names.get(pid), "score": f.score, "quality": f.quality})
        return {"path": path, "source": "detected", "faces": out}

    def _stored_faces(self, image) -> list[face_store.StoredFace] | None:
        if isinstance(image, bytes) or not face_store.exists(self.catalog.db):
            return None
        rec = self.catalog.file(os.path.abspath(os.path.expanduser(str(image))))
        if rec is None or rec.status != "ok" or rec.content_id is None:
            return None
        return face_store.faces_of(self.catalog.db, rec.content_id)

    def _face_index(self) -> face_match.FaceIndex:
        if not face_store.exists(self.catalog.db):
            return face_match.FaceIndex(face_store.Descriptors(*(np.zeros(0, np.int64),) * 3, np.zeros((0, 128), np.float32)))
        return face_match.face_index(self.catalog)

    # photos by face ------------------------------------------------------------------------------
    def similar_faces(self, image: str | os.PathLike | bytes, k: int = 10, box=None, min_score: float | None = None,
                      **filters: Unpack[FilterArgs]) -> Results:
        """Photos of the person whose face is largest in `image` (or inside `box`), an indexed photo or a
        new file or bytes, nearest face first (score: 1 - descriptor distance); the query photo itself is
        left out, and so are faces farther than FACE_QUERY_DISTANCE, or scoring below min_score."""
        if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= MAX_K:
            raise PixseekError(f"k must be a whole number from 1 to {MAX_K}, not {k!r}")
        self._require_photos()
        index = self._face_index()
        if len(index.found.ids) == 0:
            raise PixseekError("no faces in this collection yet: run `pixseek index DIR --faces` first")
        from pixseek.media.images import parse_box  # only a photo query loads PIL; a text search never does

        vector, known = self._query_face(image, None if box is None else parse_box(box), index)
        allow = self.searcher.sources.allowed(parse_filters(**filters))
        hits = face_match.photos_like(index, vector, k, None if allow is None else allow.mask,
                                      exclude={known} if known is not None else None)
        return self._face_hits([h for h in hits if not min_score or h.score >= min_score])

    def _query_face(self, image, box, index: face_match.FaceIndex) -> tuple[np.ndarray, int | None]:
        """The query face's descriptor (stored when the photo is indexed) and the photo's content id."""
        stored = self._stored_faces(image)
        if stored is not None:
            chosen = _pick([(f.box, f) for f in stored], box, image)
            rows = np.flatnonzero(index.found.ids == chosen.id)
            if len(rows):
                return index.found.vectors[rows[0]], chosen.content_id
        found = _detect(image)
        chosen = _pick([(f.box, f) for f in found.faces], box, image)
        rec = None if isinstance(image, bytes) else self.catalog.file(os.path.abspath(os.path.expanduser(str(image))))
        return chosen.vector, rec.content_id if rec is not None and rec.status == "ok" else None

    def _face_hits(self, hits: list[face_match.FaceHit]) -> Results:
        paths = self.catalog.paths_of([h.content_id for h in hits])
        return Results([Hit(paths[h.content_id], h.score) for h in hits if h.content_id in paths])


class _Transaction:
    """`with`: BEGIN IMMEDIATE ... COMMIT on the catalog, rolled back on any error."""

    def __init__(self, catalog) -> None:
        self.catalog = catalog

    def __enter__(self):
        self.catalog.begin()
        return self.catalog.db

    def __exit__(self, kind, *_) -> None:
        if kind is None:
            self.catalog.commit()
        else:
            self.catalog.rollback()


def _id(value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().isdigit():
        raise PixseekError(f"a person id is a whole number (pixseek people lists them), not {str(value)[:40]!r}")
    return int(value)


def _detect(image) -> FacesInPhoto:
    from pixseek.encoders.faces import local_encoder  # the detector and PIL load for a photo, never for a search
    from pixseek.media.images import ImageError

    try:
        return local_encoder().faces_in(image if isinstance(image, bytes) else os.path.expanduser(str(image)))
    except ImageError as exc:
        raise PixseekError(f"cannot read {'the upload' if isinstance(image, bytes) else image}: {exc}") from None


def _area(face) -> int:
    x0, y0, x1, y1 = face.box
    return (x1 - x0) * (y1 - y0)


def _pick(faces: list[tuple], box, image):
    """The largest face, or with a box the largest whose centre lies inside it; a one-line error when none."""
    if box is not None:
        faces = [(b, f) for b, f in faces if box[0] <= (b[0] + b[2]) / 2 <= box[2] and box[1] <= (b[1] + b[3]) / 2 <= box[3]]
    if not faces:
        shown = "the upload" if isinstance(image, bytes) else str(image)
        raise PixseekError(f"no face found inside the box of {shown}" if box is not None else f"no face found in {shown}")
    return max(faces, key=lambda bf: (bf[0][2] - bf[0][0]) * (bf[0][3] - bf[0][1]))[1]


def _nearest_person(index: face_match.FaceIndex, vector: np.ndarray) -> int | None:
    rows, _ = index.nearest(vector, FACE_QUERY_DISTANCE)
    for row in rows.tolist():
        if index.found.people[row] >= 0:
            return int(index.found.people[row])
    return None
