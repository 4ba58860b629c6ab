"""Vectors (store/vectors.py) over an array or memory map: vectors derived from a collection's rows, and evaluation sets."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pixseek.config import ram_limit_bytes
from pixseek.store.pages import RecentRows, as_float32, release_pages, row_reader
from pixseek.store.topk import TopK, top_k
from pixseek.store.vectors import ExactScoring


class ArrayStore(ExactScoring):
    """Vectors (store/vectors.py) over an array or memory map (exact inner product, in chunks): derived vectors and evaluation."""

    CHUNK = 65536

    def __init__(self, vectors: np.ndarray, live: np.ndarray | None = None, path: Path | None = None) -> None:
        """path: the file `vectors` maps, where an index over them is kept beside it (store/derived.py)."""
        assert vectors.ndim == 2, vectors.shape
        self.path = path
        self.vectors = vectors
        self.dim = int(vectors.shape[1])
        self.rows = len(vectors)
        self.live = np.ones(len(vectors), bool) if live is None else np.asarray(live, bool)
        assert self.live.shape == (len(vectors),), (self.live.shape, vectors.shape)
        self._ram: np.ndarray | None = None
        self._rows = row_reader(vectors, path)  # scattered rows of a large file: read, not mapped
        self._recent = RecentRows()

    def _dense(self) -> np.ndarray | None:
        """All rows as float32 in RAM when they fit the same budget as the collection's own stores (a float16
        memory map converted on every query costs more than the search), else None."""
        if self._ram is None and len(self.vectors) * self.dim * 4 <= ram_limit_bytes():
            self._ram = as_float32(self.vectors)
        return self._ram

    def __len__(self) -> int:
        return int(self.live.sum())

    def get(self, ids: np.ndarray) -> np.ndarray:
        """Rows from the float32 copy when a search made one, else gathered from the array (never copies
        it whole: an indexed million-row store is read a few thousand rows at a time)."""
        ids = np.asarray(ids, np.int64)
        if self._ram is not None:
            return self._ram[ids]
        return self._recent.get(ids, lambda todo: as_float32(self._rows(todo)))

    def usable(self, ids: np.ndarray) -> np.ndarray:
        return self.live[np.asarray(ids, np.int64)]

    def read(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(float32 rows, usable mask), as an index build reads them."""
        return self.get(ids), self.usable(ids)

    def matrix(self) -> np.ndarray:
        """The rows as stored, for re-ranking an index's candidates."""
        return self.vectors

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids), each (n_queries, min(k, rows)), best first; missing slots have id -1."""
        queries = np.atleast_2d(np.asarray(queries, np.float32))
        rows = self._dense()
        if rows is not None:
            scores = queries @ rows.T
            scores[:, ~self.live] = -np.inf
            return top_k(scores, k, pad=False)
        best = TopK(len(queries), k)
        for start in range(0, len(self.vectors), self.CHUNK):
            block = as_float32(self.vectors[start:start + self.CHUNK])
            scores = queries @ block.T
            scores[:, ~self.live[start:start + len(block)]] = -np.inf
            best.push(scores, start)
            release_pages(self.vectors)
        return best.result(pad=False)
