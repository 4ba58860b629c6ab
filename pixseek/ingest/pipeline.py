"""The indexing pipeline: scan -> diff against the catalog -> read (decode, by a Reader) -> plan and embed
in batches -> write (append vectors, then commit). Re-runs are incremental, and a run killed at any
point resumes: vectors are fsynced before the catalog rows that point at them are committed.

The diff: a file whose size or mtime changed is read again. One whose size and mtime agree but whose
inode or ctime changed (replaced by another file of the same size, its mtime set back; or only chmod'ed,
copied with `cp -a`) is re-hashed here, a read and no decode: the same hash keeps its vector, another
is re-embedded. A row catalogued before inodes were (schema 1) gets them filled in, not re-read.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pixseek.config import MAX_FILE_BYTES
from pixseek.encoders.base import Embedding, ImageEncoder
from pixseek.encoders.visual import visual_vectors
from pixseek.ingest.decode import Prepared, Task
from pixseek.ingest.readers import ProcessReader, Reader
from pixseek.ingest.report import IndexReport
from pixseek.ingest.scan import Found, scan
from pixseek.lexicon.geocode import reverse_geocode
from pixseek.media.exif import read_position, taken_ns
from pixseek.media.formats import content_hasher
from pixseek.progress import progress_bar
from pixseek.regular_files import open_regular
from pixseek.store.catalog import Catalog, FileRecord, Known
from pixseek.store.local_dates import count_outdated, mark_new_catalog, outdated, redate
from pixseek.store.places import count_unplaced, put_places, unplaced
from pixseek.store.vectors import VectorStore

Thumbnails = Callable[[dict[int, tuple[str, tuple[np.ndarray, tuple[int, int]]]]], None]


class Indexer:
    def __init__(self, catalog: Catalog, visual: VectorStore, probs: VectorStore | None, encoder: ImageEncoder,
                 batch_size: int = 64, reader: Reader | None = None, thumbnails: Thumbnails | None = None) -> None:
        """reader: where files are decoded (default: local worker processes; see ingest/readers.py).
        thumbnails: given each committed batch's pixel thumbnails, by content id (ingest/signature_stage.py)."""
        self.catalog, self.visual, self.probs, self.encoder = catalog, visual, probs, encoder
        self.thumbnails = thumbnails
        self.batch_size = batch_size
        self.reader = reader or ProcessReader(window=4 * batch_size)
        self._identity: dict[str, tuple[int | None, int | None]] = {}  # path -> (inode, ctime_ns) at scan time

    def run(self, roots: list[Path], progress: bool | None = None, skip: Path | None = None,
            log: Callable[[str], None] | None = None, aliases: list[Path] | None = None) -> IndexReport:
        """aliases: other names of the roots (through a symlink) that files may be catalogued under from
        earlier runs: those entries are dropped, their files catalogued under the roots' names instead."""
        start = time.perf_counter()
        counts = IndexReport()
        log = log or (lambda msg: print(msg, file=sys.stderr))
        roots = [Path(os.path.abspath(r)) for r in roots]
        mark_new_catalog(self.catalog)
        known = self.catalog.files_under([str(r) for r in [*(aliases or []), *roots]])
        seen: set[str] = set()
        todo: list[Task] = []
        same: list[tuple[str, int, int]] = []  # (path, inode, ctime_ns) of unchanged files with a new identity
        for found in scan(roots, skip=skip):
            seen.add(found.path)
            self._identity[found.path] = (found.inode, found.ctime_ns)
            old = known.get(found.path)
            if found.error and found.inode is not None and old is not None and old.status == "failed" \
                    and _unchanged(old, found, counts):
                counts.skipped += 1  # seen and listed already (an unsupported type): not reported every run
            elif found.error:
                self._fail(found.path, found.size, found.mtime_ns, found.error, counts, log)
            elif _unchanged(old, found, counts):
                counts.skipped += 1
                if (old.inode, old.ctime_ns) != (found.inode, found.ctime_ns):
                    same.append((found.path, found.inode, found.ctime_ns))
            else:
                todo.append((found.path, found.size, found.mtime_ns, self.encoder.preprocess))
        gone = [p for p in known if p not in seen]
        if gone or same:
            self.catalog.begin()
            dropped = [cid for p in gone if (cid := self.catalog.remove_file(p)) is not None]
            self.catalog.set_identity(same)
            self.catalog.commit()
            self._remove_vectors(dropped)
            counts.removed = len(gone)
        if todo:
            self._process(todo, counts, progress, log)
        self._backfill_taken(progress)
        self._redate(progress)
        self._backfill_places(progress)
        counts.seconds = round(time.perf_counter() - start, 3)
        return counts

    # ------------------------------------------------------------------------------------------
    def _process(self, todo: list, counts: IndexReport, progress: bool | None, log) -> None:
        """Batches flow through plan -> embed (in a thread: ONNX Runtime releases the GIL) -> write, so
        batch i is written and committed while batch i+1 is being embedded."""
        bar = progress_bar(len(todo), "indexing", progress)
        self._next_id = self.catalog.rows()
        self._inflight: dict[str, int] = {}  # hashes planned as new but not yet committed -> their ids
        pending: list[Prepared] = []
        n_pixels = 0
        previous: _Plan | None = None
        with ThreadPoolExecutor(1, thread_name_prefix="embed") as embedder:
            try:
                for item in self.reader.read(todo):
                    pending.append(item)
                    n_pixels += item.error is None  # decoded here, or already embedded on Ray
                    if n_pixels >= self.batch_size or len(pending) >= 4 * self.batch_size:
                        plan = self._plan(pending, embedder)
                        if previous is not None:
                            self._write(previous, counts, log)
                            bar.update(len(previous.batch))
                        previous, pending, n_pixels = plan, [], 0
                if pending:
                    plan = self._plan(pending, embedder)
                    if previous is not None:
                        self._write(previous, counts, log)
                        bar.update(len(previous.batch))
                    previous = plan
                if previous is not None:
                    self._write(previous, counts, log)
                    bar.update(len(previous.batch))
            finally:
                bar.close()

    def _plan(self, batch: list[Prepared], embedder: ThreadPoolExecutor) -> _Plan:
        """Sort a batch into new contents (ids assigned now, embedding started), known ones and revivals."""
        new: dict[str, Prepared] = {}
        revive: list[int] = []
        existing: dict[str, int] = {}
        for item in batch:
            if item.error or item.hash in new or item.hash in existing:
                continue
            if item.hash in self._inflight:
                existing[item.hash] = self._inflight[item.hash]
                continue
            hit = self.catalog.content_by_hash(item.hash)
            if hit is None:
                new[item.hash] = item
            else:
                existing[item.hash] = hit[0]
                if not hit[1]:
                    revive.append(hit[0])
        ids: dict[str, int] = dict(existing)
        for h in new:
            ids[h] = self._inflight[h] = self._next_id
            self._next_id += 1
        future = None
        items = list(new.values())
        if items:
            if items[0].features is not None:  # embedded by the reader already
                emb = Embedding(np.stack([p.features for p in items]),
                                None if items[0].probs is None else np.stack([p.probs for p in items]))
                future = embedder.submit(lambda: emb)
            else:
                future = embedder.submit(self.encoder.embed, np.stack([p.pixels for p in items]))
        return _Plan(batch, new, ids, existing, revive, future)

    def _write(self, plan: _Plan, counts: IndexReport, log) -> None:
        """Append the plan's vectors (fsynced), then commit its catalog rows in one transaction."""
        batch, new, ids, revive = plan.batch, plan.new, plan.ids, plan.revive
        if new:
            emb = plan.embedding.result()
            items = list(new.values())
            cids = np.array([ids[h] for h in new], np.int64)
            meta = [(p.path, p.mtime_ns, p.size) for p in items]
            self.visual.add(cids, visual_vectors(emb).astype(np.float32), meta)
            if self.probs is not None and emb.probs is not None:
                self.probs.add(cids, emb.probs, meta)
        released: list[int] = []
        used: set[str] = set()
        taken = {item.path: item.taken if item.taken is not None else taken_ns(item.path, item.mtime_ns)
                 for item in batch if not item.error}  # the decoding workers read it (ingest/decode.py)
        self.catalog.begin()
        try:
            for h, p in new.items():
                self.catalog.add_content(ids[h], h, p.width, p.height)
            for cid in revive:
                self.catalog.revive_content(cid)
            for item in batch:
                if item.error:
                    self._fail(item.path, item.size, item.mtime_ns, item.error, counts, log, in_tx=True)
                    continue
                old = self.catalog.file(item.path)
                cid = ids[item.hash]
                self.catalog.put_file(FileRecord(item.path, item.size, item.mtime_ns, "ok", item.hash, None, cid,
                                                 *self._identity.get(item.path, (None, None)), taken[item.path]))
                if old and old.content_id is not None and old.content_id != cid:
                    if self.catalog.release_content(old.content_id):
                        released.append(old.content_id)
                counts.indexed += 1
                counts.duplicates += item.hash not in new or item.hash in used
                used.add(item.hash)
            self.catalog.commit()
        except BaseException:
            self.catalog.rollback()
            raise
        for h in new:
            self._inflight.pop(h, None)
        if self.thumbnails is not None:
            self.thumbnails({ids[h]: (h, (p.thumbnail, (p.width, p.height))) for h, p in new.items()
                             if p.thumbnail is not None})
        for store in (self.visual, self.probs):
            if store is not None and revive:
                store.revive(np.array(revive))
        self._remove_vectors(released)

    def _backfill_taken(self, progress: bool | None, batch: int = 256) -> None:
        """Read the date taken of files catalogued before schema 3 (or by a run interrupted between
        writing a file and reading its date), committing per batch: an interrupted backfill resumes."""
        total = self.catalog.count_untaken()
        if not total:
            return
        bar = progress_bar(total, "reading dates taken", progress)
        try:
            for _ in range(total // batch + 1):  # bounded: a row that cannot be updated must not loop forever
                if not (rows := self.catalog.untaken(batch)):
                    break
                taken = [(p, taken_ns(p, m)) for p, m in rows]
                self.catalog.begin()
                self.catalog.set_taken(taken)
                self.catalog.commit()
                bar.update(len(rows))
        finally:
            bar.close()

    def _redate(self, progress: bool | None, batch: int = 256) -> None:
        """Date every file again under the local-time rule, once, in a catalog dated before it
        (store/local_dates.py): a header read per file, committed per batch, resumed where it stopped."""
        total = count_outdated(self.catalog)
        if not total:
            return
        bar = progress_bar(total, "dating photos in local time", progress)
        try:
            for _ in range(total // batch + 2):  # bounded, as for dates taken; the last batch marks it done
                rows = outdated(self.catalog, batch)
                redate(self.catalog, rows, [taken_ns(p, m) for _, p, m in rows], last=len(rows) < batch)
                bar.update(len(rows))
                if len(rows) < batch:
                    break
        finally:
            bar.close()

    def _backfill_places(self, progress: bool | None, batch: int = 256) -> None:
        """Read the GPS position of contents that have no places row (new ones, and all of a collection
        indexed before places existed) and name it offline; a header read, no decode, no re-embedding.
        Committed per batch, so an interrupted run resumes where it stopped."""
        total = count_unplaced(self.catalog)
        if not total:
            return
        bar = progress_bar(total, "reading places", progress)
        try:
            for _ in range(total // batch + 1):  # bounded, as for dates taken
                if not (rows := unplaced(self.catalog, batch)):
                    break
                found = [(cid, read_position(path)) for cid, path in rows]
                named = dict(zip([cid for cid, pos in found if pos],
                                 reverse_geocode([(pos.lat, pos.lon) for _, pos in found if pos])))
                self.catalog.begin()
                put_places(self.catalog, [(cid, pos, named.get(cid)) for cid, pos in found])
                self.catalog.commit()
                bar.update(len(rows))
        finally:
            bar.close()

    def _fail(self, path, size, mtime_ns, error, counts: IndexReport, log, in_tx: bool = False) -> None:
        old = self.catalog.file(path)
        if not in_tx:
            self.catalog.begin()
        self.catalog.put_file(FileRecord(path, size, mtime_ns, "failed", None, error, None,
                                         *self._identity.get(path, (None, None))))
        released = old.content_id if old and old.content_id is not None and self.catalog.release_content(old.content_id) else None
        if not in_tx:
            self.catalog.commit()
        if released is not None:
            self._remove_vectors([released])
        counts.failed += 1
        counts.failures.append((path, error))
        log(f"skipping {path}: {error}")

    def _remove_vectors(self, ids: list[int]) -> None:
        if ids:
            for store in (self.visual, self.probs):
                if store is not None:
                    store.remove(np.array(ids))


def _unchanged(old: Known | None, found: Found, counts: IndexReport) -> bool:
    """Whether a scanned file still holds what the catalog says (see the module docstring)."""
    if old is None or old.size != found.size or old.mtime_ns != found.mtime_ns:
        return False
    if old.inode is None or (old.inode, old.ctime_ns) == (found.inode, found.ctime_ns):
        return True  # the same file; or catalogued before schema 2, when size and mtime were the test
    if old.status != "ok" or not old.hash:
        return False  # a failed file with a new identity: worth another try
    return _file_hash(found.path) == old.hash


def _file_hash(path: str) -> str | None:
    """The content hash (media/formats.py) of a file, read in blocks; None if unreadable."""
    h = content_hasher()
    try:
        with open_regular(path) as f:
            left = MAX_FILE_BYTES + 1
            while left > 0 and (block := f.read(min(1 << 20, left))):
                h.update(block)
                left -= len(block)
    except OSError:
        return None
    return h.hexdigest() if left > 0 else None


@dataclass
class _Plan:
    batch: list[Prepared]
    new: dict[str, Prepared]  # hash -> first item carrying it, for contents stored by this batch
    ids: dict[str, int]  # hash -> content id, new and known
    existing: dict[str, int]
    revive: list[int]
    embedding: Future | None  # -> Embedding of `new`, in order
