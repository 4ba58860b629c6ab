"""A VectorStore over an array or memory map: vectors derived from a collection's rows, and evaluation sets."""

from __future__ import annotations

import numpy as np

from pixseek.store.vectors import LocalVectorStore


class ArrayStore:
    """A VectorStore over an array or memory map (exact inner product, in chunks): derived vectors and evaluation."""

    CHUNK = 65536

    def __init__(self, vectors: np.ndarray, live: np.ndarray | None = None) -> None:
        assert vectors.ndim == 2, vectors.shape
        self.vectors = vectors
        self.dim = int(vectors.shape[1])
        self.live = np.ones(len(vectors), bool) if live is None else np.asarray(live, bool)
        assert self.live.shape == (len(vectors),), (self.live.shape, vectors.shape)
        self._ram: np.ndarray | None = None

    def _dense(self) -> np.ndarray | None:
        """All rows as float32 in RAM when they fit the same budget as the collection's own stores (a float16
        memory map converted on every query costs more than the search), else None."""
        if self._ram is None and len(self.vectors) * self.dim * 4 <= LocalVectorStore.RAM_LIMIT:
            self._ram = np.ascontiguousarray(self.vectors, np.float32)
        return self._ram

    def __len__(self) -> int:
        return int(self.live.sum())

    def get(self, ids: np.ndarray) -> np.ndarray:
        rows = self._dense()
        return np.asarray((self.vectors if rows is None else rows)[np.asarray(ids, np.int64)], np.float32)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids), each (n_queries, k), best first; missing slots have id -1."""
        queries = np.atleast_2d(np.asarray(queries, np.float32))
        rows = self._dense()
        if rows is not None and len(rows) > k:
            scores = queries @ rows.T
            scores[:, ~self.live] = -np.inf
            top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
            s = np.take_along_axis(scores, top, 1)
            order = np.argsort(-s, axis=1, kind="stable")
            s, i = np.take_along_axis(s, order, 1), np.take_along_axis(top, order, 1)
            return s, np.where(np.isfinite(s), i, -1)
        best_s = np.full((len(queries), 0), -np.inf, np.float32)
        best_i = np.zeros((len(queries), 0), np.int64)
        for start in range(0, len(self.vectors), self.CHUNK):
            block = np.asarray(self.vectors[start:start + self.CHUNK], np.float32)
            scores = queries @ block.T
            scores[:, ~self.live[start:start + len(block)]] = -np.inf
            best_s = np.hstack([best_s, scores])
            best_i = np.hstack([best_i, np.broadcast_to(np.arange(start, start + len(block)), scores.shape)])
            if best_s.shape[1] > k:
                keep = np.argpartition(-best_s, k - 1, axis=1)[:, :k]
                best_s, best_i = np.take_along_axis(best_s, keep, 1), np.take_along_axis(best_i, keep, 1)
        order = np.argsort(-best_s, axis=1, kind="stable")[:, :k]
        s, i = np.take_along_axis(best_s, order, 1), np.take_along_axis(best_i, order, 1)
        return s, np.where(np.isfinite(s), i, -1)
