"""Finding faces as its own stage, after embedding: every live content not looked at yet is decoded from
one of its files, its faces found and described (encoders/faces.py) and stored (store/faces.py), a batch
per commit; then the new faces are grouped into people (ingest/people_clusters.py) in one transaction.

So photos indexed before faces were turned on get faces without being embedded again, and a run killed at
any point resumes where its last commit left off: a batch is stored with its photos marked looked-at, or
not at all, and faces not grouped yet are grouped by the next run. Whether a collection finds faces is
kept in its catalog meta (`faces`): `index --faces` turns it on and later runs keep doing it. On several
cores photos are read in worker processes (one dlib thread each, niced like the decoders) of the same
pool as decoding (ingest/pool.py); a few photos, or one core, are read here.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from pixseek.config import env_int
from pixseek.encoders.faces import FaceEncoder, check_installed, local_encoder
from pixseek.errors import PixseekError
from pixseek.ingest.people_clusters import cluster
from pixseek.ingest.pool import WorkerPool
from pixseek.media.images import ImageError
from pixseek.progress import progress_bar
from pixseek.store import faces as face_store
from pixseek.store.catalog import Catalog
from pixseek.store.collection_folder import CollectionFolder
from pixseek.store.lock import index_lock

META = "faces"  # "1": this collection finds faces in its photos
BATCH = 16  # photos per commit
MIN_FOR_PROCESSES = 24  # fewer photos than this are read here: starting workers would cost more

Item = tuple[int, str]  # (content id, a path holding it)
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
    if faces is not None and (catalog.get_meta(META) == "1") != faces:
        catalog.begin()
        catalog.set_meta(META, "1" if faces else "0")
        catalog.commit()
    return catalog.get_meta(META) == "1"


def find_faces(layout: CollectionFolder, faces: bool | None = None, progress: bool | None = None, workers: int | None = None,
               encoder: FaceEncoder | None = None, on_batch: Callable[[int], None] | None = None) -> FaceCounts | None:
    """Look for faces in every live photo not looked at yet, then group new faces into people, if this
    collection finds faces (None: it does not). workers: processes (default one per core); encoder: read
    here with this one (tests, scripts). on_batch gets the photos looked at so far after each commit."""
    catalog = layout.catalog
    if catalog.readonly:
        if faces:
            raise PixseekError(f"collection {layout.folder} is read-only: finding faces needs write access")
        return None
    with index_lock(layout.folder):
        if not wanted(catalog, faces):
            return None
        start = time.perf_counter()
        catalog.begin()
        face_store.prune(catalog.db)
        catalog.commit()
        ids = face_store.unread(catalog.db)
        paths = catalog.paths_of(ids)
        todo = [(cid, paths[cid]) for cid in ids if cid in paths]
        counts = FaceCounts()
        bar = progress_bar(len(todo), "finding faces", progress)
        try:
            with contextlib.closing(_results(todo, encoder, workers)) as batches:  # stops the workers on any exit
                for results in batches:
                    _store(catalog, results, counts)
                    bar.update(len(results))
                    if on_batch is not None:
                        on_batch(counts.read)
            catalog.begin()
            counts.people = cluster(catalog.db).to_dict()
            catalog.commit()
        except BaseException:
            catalog.rollback()
            raise
        finally:
            bar.close()
        counts.seconds = round(time.perf_counter() - start, 3)
        return counts


def _store(catalog: Catalog, results: list[Result], counts: FaceCounts) -> None:
    """One commit: the batch's faces stored and their photos marked looked-at."""
    catalog.begin()
    for cid, found, small, error in results:
        face_store.put(catalog.db, cid, [_Found(*f) for f in found], small, error is not None)
        counts.read += 1
        counts.with_faces += bool(found)
        counts.faces += len(found)
        counts.small += small
        counts.failed += error is not None
    catalog.commit()


@dataclass(frozen=True)
class _Found:
    box: tuple
    score: float
    quality: float
    vector: object


def _results(todo: list[Item], encoder: FaceEncoder | None, workers: int | None) -> Iterator[list[Result]]:
    n = workers if workers is not None else (os.cpu_count() or 1)
    if encoder is None and todo:
        try:
            check_installed()  # a model missing: one line here, not a failure per photo in every worker
        except PixseekError as exc:
            raise PixseekError(f"{exc}; or stop finding faces in this collection: pixseek index DIR --no-faces") from None
    if encoder is not None or n <= 1 or len(todo) < MIN_FOR_PROCESSES:
        here = encoder or local_encoder()
        for i in range(0, len(todo), BATCH):
            yield [_read(item, here) for item in todo[i:i + BATCH]]
        return
    yield from _in_processes(todo, n)


class _FacePool(WorkerPool):
    """Workers that find faces: a task is (content id, path), a result a Result; no pixel slots."""

    program = ("from pixseek.ingest.pool import worker_main; from pixseek.ingest.face_stage import init_worker, "
               "read_one; worker_main(init_worker, read_one)")

    def failed(self, task: Item, why: str) -> Result:
        return (task[0], [], 0, f"the face-finding process {why}")


def _in_processes(todo: list[Item], n: int) -> Iterator[list[Result]]:
    """BATCH results at a time from `n` workers, in the order they finish; closed early, the workers stop at once."""
    pool = _FacePool(n, window=4 * n, chunk=1, per_worker=2)
    try:
        batch: list[Result] = []
        for result in pool.run(todo):
            batch.append(result)
            if len(batch) == BATCH:
                yield batch
                batch = []
        if batch:
            yield batch
    finally:
        pool.close()


_WORKER_ENCODER: FaceEncoder | None = None


def init_worker() -> None:
    """In each worker process: low priority, the models loaded once (the pool's worker_main ignores Ctrl-C)."""
    global _WORKER_ENCODER
    try:
        os.nice(env_int("PIXSEEK_WORKER_NICE"))
    except OSError:
        pass  # not allowed to lower priority: run at the parent's
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
