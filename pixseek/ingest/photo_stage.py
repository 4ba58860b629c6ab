"""A stage that reads every live photo of a collection once, after embedding: reading text
(ingest/ocr_stage.py) and finding faces (ingest/face_stage.py). One runner serves both; a stage says only
what it does to one photo and how its results are stored (`PhotoStage`).

Every live content not read yet is decoded from one of its files and read, and the results are stored a
batch per commit, with the photos marked read. So photos indexed before the stage was turned on are read
without being embedded again, and a run killed at any point resumes where its last commit left off.
Whether a collection runs a stage is kept in its catalog meta: `index --ocr` / `--faces` turns it on and
later runs keep doing it. On several cores photos are read in worker processes (niced like the decoders,
one model thread each) of the same pool as decoding (ingest/pool.py): Ctrl-C, SIGTERM or an error stops
them at once and leaves nothing running. A few photos, or one core, are read here.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from typing import Any

from pixseek.errors import PixseekError
from pixseek.ingest.pool import WorkerPool
from pixseek.progress import progress_bar
from pixseek.store.catalog import Catalog
from pixseek.store.collection_folder import CollectionFolder
from pixseek.store.lock import index_lock

BATCH = 16  # photos per commit
Item = tuple[int, str]  # (content id, a path holding it)


class PhotoStage:
    """What a stage does; the runner (`run_stage`) does the rest. Subclasses set the class attributes."""

    doing: str  # what the progress bar shows, and refusals say: "reading text"
    meta: str  # the catalog meta key that is "1" while the collection runs this stage
    min_for_processes: int  # fewer photos than this are read here: starting workers would cost more
    pool: type[WorkerPool]  # its worker processes (their program reads one Item, gives one result)

    def counts(self) -> Any:
        """A fresh counter for one run (a dataclass with `seconds` and `to_dict`)."""
        raise NotImplementedError

    def prune(self, db: sqlite3.Connection) -> None:
        """Drop what was stored for contents no longer live."""
        raise NotImplementedError

    def unread(self, db: sqlite3.Connection) -> list[int]:
        """The live content ids not read yet."""
        raise NotImplementedError

    def check(self) -> None:
        """Raise a PixseekError (one line, before any worker starts) when the stage's models are missing."""

    def local(self) -> Any:
        """The reader used in this process."""
        raise NotImplementedError

    def read(self, item: Item, reader: Any) -> Any:
        """One photo's result; a photo that cannot be decoded gives a result with its error, never raises."""
        raise NotImplementedError

    def store(self, db: sqlite3.Connection, results: list, counts: Any) -> None:
        """Store a batch's results and mark their photos read (inside the runner's transaction)."""
        raise NotImplementedError

    def finish(self, db: sqlite3.Connection, counts: Any) -> None:
        """After the last batch, in one transaction (grouping new faces into people)."""


def wanted(catalog: Catalog, meta: str, on: bool | None) -> bool:
    """True/False set the collection's setting (kept for later runs); None follows it."""
    if on is not None and (catalog.get_meta(meta) == "1") != on:
        catalog.begin()
        catalog.set_meta(meta, "1" if on else "0")
        catalog.commit()
    return catalog.get_meta(meta) == "1"


def run_stage(layout: CollectionFolder, stage: PhotoStage, on: bool | None = None, progress: bool | None = None,
              workers: int | None = None, reader: Any = None, on_batch: Callable[[int], None] | None = None) -> Any:
    """Read every live photo not read yet, if this collection runs the stage (None: it does not).
    workers: processes (default one per core); reader: read here with this one instead (tests, scripts).
    on_batch gets the number of photos read so far after each commit."""
    catalog = layout.catalog
    if catalog.readonly:
        if on:
            raise PixseekError(f"collection {layout.folder} is read-only: {stage.doing} needs write access")
        return None
    with index_lock(layout.folder):
        if not wanted(catalog, stage.meta, on):
            return None
        start = time.perf_counter()
        catalog.begin()
        stage.prune(catalog.db)
        catalog.commit()
        ids = stage.unread(catalog.db)
        paths = catalog.paths_of(ids)
        todo = [(cid, paths[cid]) for cid in ids if cid in paths]
        counts = stage.counts()
        bar = progress_bar(len(todo), stage.doing, progress)
        try:
            with contextlib.closing(_results(todo, stage, reader, workers)) as batches:  # stops the workers on any exit
                for results in batches:
                    catalog.begin()
                    stage.store(catalog.db, results, counts)
                    catalog.commit()
                    bar.update(len(results))
                    if on_batch is not None:
                        on_batch(counts.read)
            catalog.begin()
            stage.finish(catalog.db, counts)
            catalog.commit()
        except BaseException:
            catalog.rollback()
            raise
        finally:
            bar.close()
        counts.seconds = round(time.perf_counter() - start, 3)
        return counts


def _results(todo: list[Item], stage: PhotoStage, reader: Any, workers: int | None) -> Iterator[list]:
    n = workers if workers is not None else (os.cpu_count() or 1)
    if reader is None and todo:
        stage.check()
    if reader is not None or n <= 1 or len(todo) < stage.min_for_processes:
        here = reader if reader is not None else stage.local()
        for i in range(0, len(todo), BATCH):
            yield [stage.read(item, here) for item in todo[i:i + BATCH]]
        return
    pool = stage.pool(n, window=4 * n, chunk=1, per_worker=2)
    try:  # BATCH results at a time, in the order they finish; closed early, the workers stop at once
        batch: list = []
        for result in pool.run(todo):
            batch.append(result)
            if len(batch) == BATCH:
                yield batch
                batch = []
        if batch:
            yield batch
    finally:
        pool.close()
