"""Vector stores: the seam between search code and where vectors live (local files today, Milvus later).

A store maps integer ids (catalog content ids) to fixed-size vectors and answers inner-product top-k
queries over the live ones. The local store keeps rows in an append-only raw file: writes are appended
and fsynced before the catalog commits them, and rows past the committed count (from a crash) are cut
off when the store opens. Search is exact, streamed over a memory map in chunks so memory stays bounded.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

import numpy as np

from pixseek.config import ram_limit_bytes

FileMeta = tuple[str, int, int]  # (path, mtime_ns, size) of the file a new vector came from


class Vectors(Protocol):
    """What search needs: rows by id and inner-product top-k over the live ones."""

    dim: int
    rows: int  # ids below this are committed; the live ones among them are searched

    def __len__(self) -> int:
        """How many live vectors."""
        ...

    def get(self, ids: np.ndarray) -> np.ndarray:
        """(len(ids), dim) float32."""
        ...

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids), each (n_queries, k), best first; missing slots have id -1."""
        ...


class VectorStore(Vectors, Protocol):
    """A collection's durable vectors (local files, Milvus): what indexing writes through."""

    def add(self, ids: np.ndarray, vectors: np.ndarray, meta: list[FileMeta] | None = None) -> None:
        """Append rows for new ids (in order), durable before the catalog commits them; `meta` lets a store
        keep filter fields beside the vectors (Milvus), others ignore it."""
        ...

    def remove(self, ids: np.ndarray) -> None: ...

    def revive(self, ids: np.ndarray) -> None:
        """Make removed ids live again (a deleted photo's content came back)."""
        ...

    def save(self) -> None:
        """Persist what is derived from the rows (an ANN index) after a batch of changes; may do nothing."""
        ...


class LocalVectorStore:
    """Rows in `<folder>/<name>.<dtype>`, row i = id i; a live mask marks removed ids."""

    CHUNK = 65536

    def __init__(self, folder: Path, name: str, dim: int, dtype: str = "float32", committed_rows: int = 0,
                 live_ids: list[int] | None = None, writer: bool = False) -> None:
        """`writer=True` only under the collection's index lock: it cuts off rows an interrupted run
        appended but never committed. Readers leave such rows alone (an indexer may be about to commit
        them) and simply never look past the committed count."""
        self.path = folder / f"{name}.{np.dtype(dtype).name}"
        self.dim, self.dtype = dim, np.dtype(dtype)
        self.row_bytes = dim * self.dtype.itemsize
        if writer:
            self.path.touch(exist_ok=True)
        size = self.path.stat().st_size if self.path.exists() else 0
        if size < committed_rows * self.row_bytes:
            raise OSError(f"{self.path} holds {size // self.row_bytes} rows but the catalog expects {committed_rows}")
        if writer and size > committed_rows * self.row_bytes:
            with open(self.path, "r+b") as f:
                f.truncate(committed_rows * self.row_bytes)
        self.rows = committed_rows
        self.live = np.zeros(committed_rows, bool)
        if live_ids:
            self.live[np.asarray(live_ids, np.int64)] = True
        self._map: np.ndarray | None = None
        self._ram: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.live.sum())

    def _dense(self) -> np.ndarray | None:
        """The float32 rows in RAM when they fit under $PIXSEEK_RAM_MB (converting float16 on every query
        costs more than the search itself), else None: queries stream over the memory map chunk by chunk."""
        if self.rows * self.dim * 4 > ram_limit_bytes():
            self._ram = None
            return None
        if self._ram is None or len(self._ram) != self.rows:
            have = 0 if self._ram is None else len(self._ram)
            fresh = np.asarray(self._matrix()[have:], np.float32)
            self._ram = fresh if self._ram is None else np.concatenate([self._ram, fresh])
        return self._ram

    def _matrix(self) -> np.ndarray:
        if self._map is None or len(self._map) != self.rows:
            self._map = (np.memmap(self.path, self.dtype, "r", shape=(self.rows, self.dim))
                         if self.rows else np.zeros((0, self.dim), self.dtype))
        return self._map

    def add(self, ids: np.ndarray, vectors: np.ndarray, meta: list[FileMeta] | None = None) -> None:
        ids = np.asarray(ids, np.int64)
        assert vectors.shape == (len(ids), self.dim), (vectors.shape, self.dim)
        assert len(ids) == 0 or (ids == np.arange(self.rows, self.rows + len(ids))).all(), "ids must be appended in order"
        with open(self.path, "ab") as f:
            f.write(np.ascontiguousarray(vectors, self.dtype).tobytes())
            f.flush()
            os.fsync(f.fileno())
        self.rows += len(ids)
        self.live = np.concatenate([self.live, np.ones(len(ids), bool)])

    def revive(self, ids: np.ndarray) -> None:
        self.live[np.asarray(ids, np.int64)] = True

    def save(self) -> None:
        """Every add is fsynced already."""

    def remove(self, ids: np.ndarray) -> None:
        self.live[np.asarray(ids, np.int64)] = False

    def get(self, ids: np.ndarray) -> np.ndarray:
        src = self._ram if self._ram is not None and len(self._ram) == self.rows else self._matrix()
        return np.asarray(src[np.asarray(ids, np.int64)], np.float32)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = np.atleast_2d(np.asarray(queries, np.float32))
        assert queries.shape[1] == self.dim, (queries.shape, self.dim)
        from pixseek.store.topk import TopK

        best = TopK(len(queries), k)
        dense = self._dense()
        mat = dense if dense is not None else self._matrix()
        chunk = len(mat) if dense is not None else self.CHUNK
        for start in range(0, self.rows, max(chunk, 1)):
            block = np.asarray(mat[start : start + chunk], np.float32)
            scores = queries @ block.T
            scores[:, ~self.live[start : start + len(block)]] = -np.inf
            best.push(scores, start)  # column j is row start + j
        return best.result()

    def matrix(self) -> np.ndarray:
        """All rows (memory-mapped) for bulk scoring, e.g. re-ranking by class probabilities."""
        return self._matrix()
