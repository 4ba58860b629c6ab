"""A vector store with an ANN index kept in step with it, so search stops reading every row.

The LocalVectorStore stays the source of truth (its rows and live mask are durable); the index is a
derived file next to it that can always be rebuilt from those rows. Adds go into the index
incrementally, removals are tombstones, and the index is rebuilt when tombstones (or vectors waiting in
its exact side buffer) pass `rebuild_at`. The file's header records the row count it covers.

Only a writer (the process holding the collection's index lock) builds, trains or writes the index. On
open a writer rebuilds an index that is missing, corrupt, built for another index type, or covering
more rows than the store has. A reader never does: it serves any valid index (of the type asked for or
the one it replaces, so an interrupted `reindex` leaves the old index serving), catches it up in memory
with at most READER_CATCH_UP new rows, and otherwise searches exactly (the store's own scan) with one
warning until a writing command rebuilds the file.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from pixseek.store.ann.choice import is_auto, resolve_index
from pixseek.store.ann.files import IndexFileError, IndexWriteError
from pixseek.store.ann.index import AnnIndex
from pixseek.store.ann.spec import IndexSpec, parse_spec
from pixseek.store.topk import top_k
from pixseek.store.vectors import FileMeta, LocalVectorStore, StoreOver

DEFAULT_MAX_MEMORY = 2 * 1024**3
READER_CATCH_UP = 2000  # new rows a reader adds to a loaded index in memory (ms for HNSW); more -> exact scan
_UNTIL = "searching exactly until `pixseek index` or `pixseek reindex` rebuilds it"


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr)


class IndexedVectorStore(StoreOver):
    """LocalVectorStore's interface (add, remove, revive, get, search, len, matrix) over an ANN index.

    spec: an index string (see pixseek.store.ann) or "auto", which picks one from the collection size,
    dimension and max_memory_bytes and logs why.
    """

    def __init__(self, store: LocalVectorStore, folder: Path, spec: str = "auto", rebuild_at: float = 0.2,
                 max_memory_bytes: int = DEFAULT_MAX_MEMORY, log: Callable[[str], None] = _stderr,
                 persist: bool = True, warn: Callable[[str], None] = _stderr) -> None:
        """persist=False for readers: they never build, train or write an index (see the module);
        `warn` gets their one line when they fall back to exact search."""
        super().__init__(store)
        self.persist = persist
        self.path = Path(folder) / (store.path.stem + ".ann")
        self.requested, self.rebuild_at, self.max_memory_bytes, self.log = spec, rebuild_at, max_memory_bytes, log
        self.warn = warn
        self.rebuilt = False  # whether opening built a fresh index (reindex then need not build another)
        self.caught_up = 0  # rows opening added to a loaded index (saved with the next `save`)
        self.index: AnnIndex | None = self._open() if persist else self._open_reader()
        if self.index is not None:
            self.index.attach_vectors(store.matrix, store.get)

    # -- the store interface (len, rows, get, usable and matrix are StoreOver's) -------------------

    def add(self, ids: np.ndarray, vectors: np.ndarray, meta: list[FileMeta] | None = None) -> None:
        self.store.add(ids, vectors)
        if self.index is not None:
            self.index.add(ids, vectors)
            self._maybe_rebuild()

    def remove(self, ids: np.ndarray) -> None:
        self.store.remove(ids)
        if self.index is not None:
            self.index.remove(ids)
            self._maybe_rebuild()

    def revive(self, ids: np.ndarray) -> None:
        self.store.revive(ids)
        if self.index is None:
            return
        missing = self.index.revive(ids)
        if len(missing):  # dropped by a rebuild while removed: add their vectors back
            self.index.add(missing, self.store.get(missing))

    def search(self, queries: np.ndarray, k: int, **knobs: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids), each (n_queries, k), best first; missing slots have id -1. Knobs: see AnnIndex
        (ignored while a reader searches exactly)."""
        if self.index is None:
            return self.store.search(queries, k)
        fetch = k
        while True:  # a row damaged since the index was built is never served: fetch more in its place
            scores, ids = self.index.search(queries, fetch, **knobs)
            found = ids >= 0
            ok = found.copy()
            ok[found] = self.store.usable(ids[found])
            if (ok == found).all():
                return scores[:, :k], ids[:, :k]
            if (ok.sum(1) >= k).all() or fetch >= len(self.index) or fetch > 8 * k + 100:
                break
            fetch = 2 * fetch + 10
        return top_k(np.where(ok, scores, -np.inf), k, np.where(ok, ids, -1))

    def shortlist(self, queries: np.ndarray, n: int) -> np.ndarray:
        """The index's n best candidates by its own scores (no rows read, so a row damaged since the build is
        only left out once a read found it; the caller's exact scores read it)."""
        if self.index is None:
            return self.store.search(queries, n)[1]
        ids = self.index.candidates(queries, n)
        found = ids >= 0
        found[found] = self.store.live[ids[found]]
        return np.where(found, ids, -1)

    def estimate(self, ids: np.ndarray, vectors: np.ndarray) -> np.ndarray:
        """From the copies the index holds in memory (flat, HNSW, `sq8`), exact rows for the others."""
        vectors = np.atleast_2d(np.asarray(vectors, np.float32))
        if self.index is None:
            return self.store.estimate(ids, vectors)
        ids = np.asarray(ids, np.int64)
        rows, held = self.index.held(ids)
        if not held.all():
            rows[~held] = self.store.get(ids[~held])
        return rows @ vectors.T

    def save(self) -> None:
        """Write the index atomically; call after a batch of adds/removes (the store itself is already durable)."""
        if not self.persist or self.index is None:
            return
        self.index.meta["rows"] = self.store.rows
        self._write(self.index)

    def rebuild(self) -> None:
        """Build a fresh index from the stored vectors and swap it in: the old file serves until the new
        one's header replaces it (files.py), so an interrupted or failed rebuild leaves the old one."""
        self.index = self._rebuild()

    # -- keeping the index in step ----------------------------------------------------------------

    def _wanted_spec(self) -> IndexSpec:
        text, why = resolve_index(len(self.store), self.dim, self.requested, self.max_memory_bytes)
        if is_auto(self.requested):
            self.log(f"index auto -> {text}: {why}")
        return parse_spec(text)

    def _write(self, index: AnnIndex) -> None:
        if not self.persist:
            return
        try:
            index.save(self.path)
        except OSError as exc:  # ENOSPC, EDQUOT, EROFS...: the previous generation is still whole
            reason = getattr(exc, "strerror", None) or str(exc)
            raise IndexWriteError(f"cannot write to collection {self.path.parent}: {reason}; the photos and the "
                                  "previous image index are kept, re-run the command once fixed") from exc

    def _open_reader(self) -> AnnIndex | None:
        """A valid index caught up in memory, or None (search exactly) with one warning; never a build."""
        if not self.store.rows:
            return None
        try:
            index = AnnIndex.load(self.path)
        except IndexFileError:
            self.warn(f"pixseek: warning: the image index is {'damaged' if self.path.exists() else 'missing'}; {_UNTIL}")
            return None
        covered = int(index.meta.get("rows", -1))
        if index.dim != self.dim or not 0 <= covered <= self.store.rows:
            self.warn(f"pixseek: warning: the image index does not match the stored vectors; {_UNTIL}")
            return None
        new = np.arange(covered, self.store.rows)
        new = new[self.store.live[new]]
        if len(new) > READER_CATCH_UP:
            self.warn(f"pixseek: warning: the image index is {len(new):,} photos behind; {_UNTIL}")
            return None
        if len(new):
            index.add(new, self.store.get(new))
        self._sync_live(index)
        return index

    def _sync_live(self, index: AnnIndex) -> None:
        live = self.store.live  # one flag per row; masks, not set operations (np.unique of 1M ids: ~1 s)
        held = index.live_ids()
        index.remove(held[~live[held]])
        holds = np.zeros(len(live), bool)
        holds[held[held < len(live)]] = True
        missing = index.revive(np.flatnonzero(live & ~holds))
        if len(missing):
            rows, ok = self.store.read(missing)
            index.add(missing[ok], rows[ok])
        index.meta["rows"] = self.store.rows

    def _open(self) -> AnnIndex:
        try:
            index = AnnIndex.load(self.path)
        except IndexFileError as exc:
            if self.path.exists() or self.store.rows:
                self.log(f"rebuilding the vector index: {exc}")
            return self._rebuild()
        covered = int(index.meta.get("rows", -1))
        if not is_auto(self.requested) and index.spec.text != parse_spec(self.requested).text:
            self.log(f"rebuilding the vector index: it is {index.spec.text}, {self.requested} was asked for")
            return self._rebuild()
        if index.dim != self.dim or not 0 <= covered <= self.store.rows:
            self.log(f"rebuilding the vector index: it covers {covered} rows of dim {index.dim}, "
                     f"the store holds {self.store.rows} of dim {self.dim}")
            return self._rebuild()
        new = np.arange(covered, self.store.rows)
        new = new[self.store.live[new]]
        for start in range(0, len(new), 65536):  # in chunks: float32 copies of a big catch-up stay small
            part = new[start:start + 65536]
            rows, ok = self.store.read(part)
            index.add(part[ok], rows[ok])
            self.caught_up += int(ok.sum())
        self._sync_live(index)
        if index.stale_fraction > self.rebuild_at and len(self.store) >= index.spec.min_train():
            return self._rebuild()
        return index

    def _rebuild(self) -> AnnIndex:
        ids = np.flatnonzero(self.store.live).astype(np.int64)
        spec = self._wanted_spec()
        index = _interruptible(lambda: AnnIndex.build_streamed(spec, self.dim, self.store.read, ids))
        index.meta["rows"] = self.store.rows
        index.attach_vectors(self.store.matrix, self.store.get)
        self._write(index)
        self.rebuilt = True
        return index

    def _maybe_rebuild(self) -> None:
        idx = self.index
        if idx.stale_fraction > self.rebuild_at and (idx.backend is not None or len(self.store) >= idx.spec.min_train()):
            self.index = self._rebuild()


def _interruptible(build: Callable[[], AnnIndex]) -> AnnIndex:
    """Run a build in a helper thread and wait for it in short slices. faiss and Annoy release the GIL
    but hold the calling thread for the whole build (minutes for IVF-PQ), and Python runs signal handlers
    only in the main thread between bytecodes: so Ctrl-C or SIGTERM during a build acted only when it
    ended. Abandoned on an interrupt, the daemon thread ends with the process; nothing was written yet."""
    box: dict = {}

    def run() -> None:
        try:
            box["index"] = build()
        except BaseException as exc:  # handed to the waiting thread
            box["error"] = exc

    worker = threading.Thread(target=run, name="pixseek-index-build", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(0.05)
    if "error" in box:
        raise box["error"]
    return box["index"]
