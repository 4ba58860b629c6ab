"""Reading text in photos as its own stage, after embedding (the runner: ingest/photo_stage.py): every
live content not read yet is decoded from one of its files, read (encoders/ocr.py) and stored
(store/photo_text.py), a batch per commit. Whether a collection reads text is kept in its catalog meta
(`ocr`). Worker processes run one ONNX Runtime thread each.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass

from pixseek.config import encoder_threads
from pixseek.encoders.ocr import PPOCRReader, TextReader, load_upright, model_paths
from pixseek.errors import PixseekError
from pixseek.ingest import decode, photo_stage
from pixseek.ingest.pool import WorkerPool
from pixseek.media.images import ImageError
from pixseek.store import photo_text
from pixseek.store.catalog import Catalog
from pixseek.store.collection_folder import CollectionFolder

META = "ocr"  # "1": this collection reads text in its photos
MIN_FOR_PROCESSES = 48  # fewer photos than this are read here: starting workers would cost more

Item = photo_stage.Item
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
    return photo_stage.wanted(catalog, META, ocr)


def read_text(layout: CollectionFolder, ocr: bool | None = None, progress: bool | None = None, workers: int | None = None,
              reader: TextReader | None = None, on_batch: Callable[[int], None] | None = None) -> TextCounts | None:
    """Read every live photo not read yet, if this collection reads text (None: it does not).
    workers: processes (default one per core); reader: read here with this one instead (tests, scripts).
    on_batch gets the number of photos read so far after each commit."""
    return photo_stage.run_stage(layout, _TextStage(), ocr, progress, workers, reader, on_batch)


class _TextPool(WorkerPool):
    """Workers that read text: a task is (content id, path), a result a Result; no pixel slots."""

    program = ("from pixseek.ingest.pool import worker_main; from pixseek.ingest.ocr_stage import init_worker, "
               "read_one; worker_main(init_worker, read_one)")

    def failed(self, task: Item, why: str) -> Result:
        return (task[0], None, False, f"the text-reading process {why}")


class _TextStage(photo_stage.PhotoStage):
    doing, meta, min_for_processes, pool = "reading text", META, MIN_FOR_PROCESSES, _TextPool

    def counts(self) -> TextCounts:
        return TextCounts()

    def prune(self, db) -> None:
        photo_text.prune(db)

    def unread(self, db) -> list[int]:
        return photo_text.unread(db)

    def check(self) -> None:
        model_paths()  # rapidocr missing: one line here, not a failure per photo in every worker

    def local(self) -> PPOCRReader:
        return local_reader()

    def read(self, item: Item, reader: TextReader) -> Result:
        return _read(item, reader)

    def store(self, db, results: list[Result], counts: TextCounts) -> None:
        for cid, lines, gated, error in results:
            photo_text.put(db, cid, lines or [])
            counts.read += 1
            counts.with_text += bool(lines)
            counts.gated += gated
            counts.failed += error is not None


_WORKER_READER: PPOCRReader | None = None


@functools.lru_cache(maxsize=1)
def local_reader() -> PPOCRReader:
    """The reader used in this process, loaded once (a watcher or server reads again and again)."""
    return PPOCRReader(threads=encoder_threads())


def init_worker() -> None:
    """In each worker process: niced like the decoders, one ONNX Runtime thread."""
    global _WORKER_READER
    decode.init_worker()
    _WORKER_READER = PPOCRReader(threads=1)


def read_one(item: Item) -> Result:
    """One photo in a worker; whatever goes wrong costs that photo (marked read, without text), never the run."""
    try:
        return _read(item, _WORKER_READER)
    except Exception as exc:
        return (item[0], None, False, f"reading its text failed: {exc}")


def _read(item: Item, reader: TextReader) -> Result:
    cid, path = item
    try:
        reading = reader.read(load_upright(path))
    except ImageError as exc:  # changed or gone since it was indexed: the next index run sees to it
        return (cid, None, False, str(exc))
    return (cid, [(t.text, t.box, t.confidence) for t in reading.lines], reading.gated, None)


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
