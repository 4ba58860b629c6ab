"""Finding faces as its own stage, after embedding (the runner: ingest/photo_stage.py): every live content
not looked at yet is decoded from one of its files, its faces found and described (encoders/faces.py) and
stored (store/faces.py), a batch per commit; then the new faces are grouped into people
(ingest/people_clusters.py) in one transaction. A batch is stored with its photos marked looked-at, or
not at all, and faces not grouped yet are grouped by the next run. Whether a collection finds faces is
kept in its catalog meta (`faces`). Worker processes run one dlib thread each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pixseek.encoders.faces import FaceEncoder, check_installed, local_encoder
from pixseek.errors import PixseekError
from pixseek.ingest import decode, photo_stage
from pixseek.ingest.people_clusters import cluster
from pixseek.ingest.pool import WorkerPool
from pixseek.media.images import ImageError
from pixseek.store import faces as face_store
from pixseek.store.catalog import Catalog
from pixseek.store.collection_folder import CollectionFolder

META = "faces"  # "1": this collection finds faces in its photos
MIN_FOR_PROCESSES = 24  # fewer photos than this are read here: starting workers would cost more

Item = photo_stage.Item
Result = tuple[int, list, int, str | None]  # (content id, faces as (box, score, quality, vector), small, error)


@dataclass
class FaceCounts:
    read: int = 0  # photos looked at this run
    with_faces: int = 0
    faces: int = 0  # faces found and described
    small: int = 0  # faces found but too small to describe (skipped)
    failed: int = 0  # photos whose file could not be decoded (marked looked-at, without faces)
    people: dict = field(default_factory=dict)  # what grouping did (ingest/people_clusters.ClusterCounts)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return dict(vars(self))


def wanted(catalog: Catalog, faces: bool | None) -> bool:
    """True/False set the collection's setting (kept for later runs); None follows it."""
    return photo_stage.wanted(catalog, META, faces)


def find_faces(layout: CollectionFolder, faces: bool | None = None, progress: bool | None = None, workers: int | None = None,
               encoder: FaceEncoder | None = None, on_batch: Callable[[int], None] | None = None) -> FaceCounts | None:
    """Look for faces in every live photo not looked at yet, then group new faces into people, if this
    collection finds faces (None: it does not). workers: processes (default one per core); encoder: read
    here with this one (tests, scripts). on_batch gets the photos looked at so far after each commit."""
    return photo_stage.run_stage(layout, _FaceStage(), faces, progress, workers, encoder, on_batch)


class _FacePool(WorkerPool):
    """Workers that find faces: a task is (content id, path), a result a Result; no pixel slots."""

    program = ("from pixseek.ingest.pool import worker_main; from pixseek.ingest.face_stage import init_worker, "
               "read_one; worker_main(init_worker, read_one)")

    def failed(self, task: Item, why: str) -> Result:
        return (task[0], [], 0, f"the face-finding process {why}")


@dataclass(frozen=True)
class _Found:
    box: tuple
    score: float
    quality: float
    vector: object


class _FaceStage(photo_stage.PhotoStage):
    doing, meta, min_for_processes, pool = "finding faces", META, MIN_FOR_PROCESSES, _FacePool

    def counts(self) -> FaceCounts:
        return FaceCounts()

    def prune(self, db) -> None:
        face_store.prune(db)

    def unread(self, db) -> list[int]:
        return face_store.unread(db)

    def check(self) -> None:
        try:
            check_installed()  # a model missing: one line here, not a failure per photo in every worker
        except PixseekError as exc:
            raise PixseekError(f"{exc}; or stop finding faces in this collection: pixseek index DIR --no-faces") from None

    def local(self) -> FaceEncoder:
        return local_encoder()

    def read(self, item: Item, encoder: FaceEncoder) -> Result:
        return _read(item, encoder)

    def store(self, db, results: list[Result], counts: FaceCounts) -> None:
        for cid, found, small, error in results:
            face_store.put(db, cid, [_Found(*f) for f in found], small, error is not None)
            counts.read += 1
            counts.with_faces += bool(found)
            counts.faces += len(found)
            counts.small += small
            counts.failed += error is not None

    def finish(self, db, counts: FaceCounts) -> None:
        counts.people = cluster(db).to_dict()


_WORKER_ENCODER: FaceEncoder | None = None


def init_worker() -> None:
    """In each worker process: niced like the decoders, the models loaded once."""
    global _WORKER_ENCODER
    decode.init_worker()
    _WORKER_ENCODER = FaceEncoder()


def read_one(item: Item) -> Result:
    """One photo in a worker; whatever goes wrong costs that photo (marked looked-at, without faces), never the run."""
    try:
        return _read(item, _WORKER_ENCODER)
    except Exception as exc:
        return (item[0], [], 0, f"finding its faces failed: {exc}")


def _read(item: Item, encoder: FaceEncoder) -> Result:
    cid, path = item
    try:
        found = encoder.faces_in(path)
    except ImageError as exc:  # changed or gone since it was indexed: the next index run sees to it
        return (cid, [], 0, str(exc))
    return (cid, [(f.box, f.score, f.quality, f.vector) for f in found.faces], found.small, None)
