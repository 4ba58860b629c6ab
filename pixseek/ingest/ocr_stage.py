"""Reading text in photos as its own stage, after embedding: every live content not read yet is decoded
from one of its files, read (encoders/ocr.py) and stored (store/photo_text.py), a batch per commit.

So photos indexed before OCR was turned on are read without being embedded again, and a run killed at
any point resumes where its last commit left off. Whether a collection reads text is kept in its catalog
meta (`ocr`): `index --ocr` turns it on and later runs keep doing it. On several cores the photos are
read in worker processes (one ONNX Runtime thread each, niced like the decoders), in the same pool as
decoding (ingest/pool.py): Ctrl-C, SIGTERM or an error stops them at once and leaves nothing running;
a few photos, or one core, are read here.
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from pixseek.config import encoder_threads, env_int
from pixseek.encoders.ocr import PPOCRReader, TextReader, load_upright, model_paths
from pixseek.errors import PixseekError
from pixseek.ingest.pool import WorkerPool
from pixseek.media.images import ImageError
from pixseek.progress import progress_bar
from pixseek.store import photo_text
from pixseek.store.catalog import Catalog
from pixseek.store.collection_folder import CollectionFolder
from pixseek.store.lock import index_lock

META = "ocr"  # "1": this collection reads text in its photos
BATCH = 16  # photos per commit
MIN_FOR_PROCESSES = 48  # fewer photos than this are read here: starting workers would cost more

Item = tuple[int, str]  # (content id, a path holding it)
Result = tuple[int, list | None, bool, str | None]  # (content id, lines, gated, error)


@dataclass
class TextCounts:
    read: int = 0  # photos read this run
    with_text: int = 0  # of those, photos where some text was found
    gated: int = 0  # of those, photos the gate passed over (no text, no recognition)
    failed: int = 0  # photos whose file could not be decoded (marked read, without text)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return dict(vars(self))


def wanted(catalog: Catalog, ocr: bool | None) -> bool:
    """True/False set the collection's setting (kept for later runs); None follows it."""
    if ocr is not None and (catalog.get_meta(META) == "1") != ocr:
        catalog.begin()
        catalog.set_meta(META, "1" if ocr else "0")
        catalog.commit()
    return catalog.get_meta(META) == "1"


def read_text(layout: CollectionFolder, ocr: bool | None = None, progress: bool | None = None, workers: int | None = None,
              reader: TextReader | None = None, on_batch: Callable[[int], None] | None = None) -> TextCounts | None:
    """Read every live photo not read yet, if this collection reads text (None: it does not).
    workers: processes (default one per core); reader: read here with this one instead (tests, scripts).
    on_batch gets the number of photos read so far after each commit."""
    catalog = layout.catalog
    if catalog.readonly:
        if ocr:
            raise PixseekError(f"collection {layout.folder} is read-only: reading text needs write access")
        return None
    with index_lock(layout.folder):
        if not wanted(catalog, ocr):
            return None
        start = time.perf_counter()
        catalog.begin()
        photo_text.prune(catalog.db)
        catalog.commit()
        ids = photo_text.unread(catalog.db)
        paths = catalog.paths_of(ids)
        todo = [(cid, paths[cid]) for cid in ids if cid in paths]
        counts = TextCounts()
        bar = progress_bar(len(todo), "reading text", progress)
        try:
            with contextlib.closing(_results(todo, reader, workers)) as batches:  # stops the workers on any exit
                for results in batches:
                    _store(catalog, results, counts)
                    bar.update(len(results))
                    if on_batch is not None:
                        on_batch(counts.read)
        except BaseException:
            catalog.rollback()
            raise
        finally:
            bar.close()
        counts.seconds = round(time.perf_counter() - start, 3)
        return counts


def _store(catalog: Catalog, results: list[Result], counts: TextCounts) -> None:
    """One commit: the batch's readings stored and their photos marked read."""
    catalog.begin()
    for cid, lines, gated, error in results:
        photo_text.put(catalog.db, cid, lines or [])
        counts.read += 1
        counts.with_text += bool(lines)
        counts.gated += gated
        counts.failed += error is not None
    catalog.commit()


def _results(todo: list[Item], reader: TextReader | None, workers: int | None) -> Iterator[list[Result]]:
    n = workers if workers is not None else (os.cpu_count() or 1)
    if reader is None and todo:
        model_paths()  # rapidocr missing: one line here, not a failure per photo in every worker
    if reader is not None or n <= 1 or len(todo) < MIN_FOR_PROCESSES:
        here = reader or local_reader()
        for i in range(0, len(todo), BATCH):
            yield _read_batch(todo[i:i + BATCH], here)
        return
    yield from _in_processes(todo, n)


class _TextPool(WorkerPool):
    """Workers that read text: a task is (content id, path), a result a Result; no pixel slots."""

    program = ("from pixseek.ingest.pool import worker_main; from pixseek.ingest.ocr_stage import init_worker, "
               "read_one; worker_main(init_worker, read_one)")

    def failed(self, task: Item, why: str) -> Result:
        return (task[0], None, False, f"the text-reading process {why}")


def _in_processes(todo: list[Item], n: int) -> Iterator[list[Result]]:
    """BATCH results at a time from `n` workers, in the order they finish; closed early (interrupt,
    error), the workers are stopped at once."""
    pool = _TextPool(n, window=4 * n, chunk=1, per_worker=2)
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


_WORKER_READER: PPOCRReader | None = None


@functools.lru_cache(maxsize=1)
def local_reader() -> PPOCRReader:
    """The reader used in this process, loaded once (a watcher or server reads again and again)."""
    return PPOCRReader(threads=encoder_threads())


def init_worker() -> None:
    """In each worker process: low priority, one ONNX Runtime thread (the pool's worker_main ignores Ctrl-C)."""
    global _WORKER_READER
    try:
        os.nice(env_int("PIXSEEK_WORKER_NICE"))
    except OSError:
        pass  # not allowed to lower priority: run at the parent's
    _WORKER_READER = PPOCRReader(threads=1)


def read_one(item: Item) -> Result:
    """One photo in a worker; whatever goes wrong costs that photo (marked read, without text), never the run."""
    try:
        return _read_batch([item], _WORKER_READER)[0]
    except Exception as exc:
        return (item[0], None, False, f"reading its text failed: {exc}")


def _read_batch(batch: list[Item], reader: TextReader) -> list[Result]:
    out = []
    for cid, path in batch:
        try:
            reading = reader.read(load_upright(path))
        except ImageError as exc:  # changed or gone since it was indexed: the next index run sees to it
            out.append((cid, None, False, str(exc)))
            continue
        out.append((cid, [(t.text, t.box, t.confidence) for t in reading.lines], reading.gated, None))
    return out


def text_of(catalog: Catalog, image: str | os.PathLike) -> dict:
    """{"path", "source": "catalog" | "ocr", "lines": [{"text", "box", "confidence"}]} for one photo: what
    the OCR stage stored when the photo is indexed and read, else read now (nothing is stored)."""
    path = os.path.abspath(os.path.expanduser(str(image)))
    rec = catalog.file(path)
    if rec is not None and rec.status == "ok" and rec.content_id is not None:
        stored = photo_text.lines_of(catalog.db, rec.content_id)
        if stored is not None:
            lines = [{"text": s.text, "box": list(s.box), "confidence": round(s.confidence, 4)} for s in stored]
            return {"path": path, "source": "catalog", "lines": lines}
    try:
        reading = local_reader().read(load_upright(path))
    except ImageError as exc:
        raise PixseekError(f"cannot read {image}: {exc}") from None
    return {"path": path, "source": "ocr", "lines": [t.to_dict() for t in reading.lines]}
