"""A vector store with an ANN index kept in step with it, so search stops reading every row.

The LocalVectorStore stays the source of truth (its rows and live mask are durable); the index is a
derived file next to it that can always be rebuilt from those rows. Adds go into the index
incrementally, removals are tombstones, and the index is rebuilt when tombstones (or vectors waiting in
its exact side buffer) pass `rebuild_at`. On open the index file is checked: missing, corrupt, built for
another index type, or covering more rows than the store has -> rebuilt; covering fewer -> the new rows
are added. The file's header records the row count it covers.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from pixseek.store.ann.choice import is_auto, resolve_index
from pixseek.store.ann.files import IndexFileError
from pixseek.store.ann.index import AnnIndex
from pixseek.store.ann.spec import IndexSpec, parse_spec
from pixseek.store.vectors import FileMeta, LocalVectorStore

DEFAULT_MAX_MEMORY = 2 * 1024**3


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr)


class IndexedVectorStore:
    """LocalVectorStore's interface (add, remove, revive, get, search, len, matrix) over an ANN index.

    spec: an index string (see pixseek.store.ann) or "auto", which picks one from the collection size,
    dimension and max_memory_bytes and logs why.
    """

    def __init__(self, store: LocalVectorStore, folder: Path, spec: str = "auto", rebuild_at: float = 0.2,
                 max_memory_bytes: int = DEFAULT_MAX_MEMORY, log: Callable[[str], None] = _stderr,
                 persist: bool = True) -> None:
        """persist=False for readers: they catch up in memory and never write the index file (only the
        process holding the collection's index lock does)."""
        self.store, self.dim = store, store.dim
        self.persist = persist
        self.path = Path(folder) / (store.path.stem + ".ann")
        self.requested, self.rebuild_at, self.max_memory_bytes, self.log = spec, rebuild_at, max_memory_bytes, log
        self.index = self._open()
        self.index.attach_vectors(store.matrix)

    # -- the store interface ----------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.store)

    @property
    def rows(self) -> int:
        return self.store.rows

    def add(self, ids: np.ndarray, vectors: np.ndarray, meta: list[FileMeta] | None = None) -> None:
        self.store.add(ids, vectors)
        self.index.add(ids, vectors)
        self._maybe_rebuild()

    def remove(self, ids: np.ndarray) -> None:
        self.store.remove(ids)
        self.index.remove(ids)
        self._maybe_rebuild()

    def revive(self, ids: np.ndarray) -> None:
        self.store.revive(ids)
        missing = self.index.revive(ids)
        if len(missing):  # dropped by a rebuild while removed: add their vectors back
            self.index.add(missing, self.store.get(missing))

    def get(self, ids: np.ndarray) -> np.ndarray:
        return self.store.get(ids)

    def matrix(self) -> np.ndarray:
        return self.store.matrix()

    def search(self, queries: np.ndarray, k: int, **knobs: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids), each (n_queries, k), best first; missing slots have id -1. Knobs: see AnnIndex."""
        return self.index.search(queries, k, **knobs)

    def save(self) -> None:
        """Write the index atomically; call after a batch of adds/removes (the store itself is already durable)."""
        if not self.persist:
            return
        self.index.meta["rows"] = self.store.rows
        self.index.save(self.path)

    # -- keeping the index in step ----------------------------------------------------------------

    def _wanted_spec(self) -> IndexSpec:
        text, why = resolve_index(len(self.store), self.dim, self.requested, self.max_memory_bytes)
        if is_auto(self.requested):
            self.log(f"index auto -> {text}: {why}")
        return parse_spec(text)

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
        if len(new):
            index.add(new, self.store.get(new))
        held, live = index.live_ids(), np.flatnonzero(self.store.live)
        index.remove(np.setdiff1d(held, live))
        missing = index.revive(np.setdiff1d(live, held))
        if len(missing):
            index.add(missing, self.store.get(missing))
        index.meta["rows"] = self.store.rows
        if index.stale_fraction > self.rebuild_at and len(self.store) >= index.spec.min_train():
            return self._rebuild()
        return index

    def _rebuild(self) -> AnnIndex:
        ids = np.flatnonzero(self.store.live).astype(np.int64)
        index = AnnIndex.build(self._wanted_spec(), self.store.get(ids), ids)
        index.meta["rows"] = self.store.rows
        index.attach_vectors(self.store.matrix)
        if self.persist:
            index.save(self.path)
        return index

    def _maybe_rebuild(self) -> None:
        idx = self.index
        if idx.stale_fraction > self.rebuild_at and (idx.backend is not None or len(self.store) >= idx.spec.min_train()):
            self.index = self._rebuild()
