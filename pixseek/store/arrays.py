"""A VectorStore over an array or memory map: vectors derived from a collection's rows, and evaluation sets."""

from __future__ import annotations

import numpy as np


class ArrayStore:
    """A VectorStore over an array or memory map (exact inner product, in chunks): derived vectors and evaluation."""

    CHUNK = 65536

    def __init__(self, vectors: np.ndarray, live: np.ndarray | None = None) -> None:
        assert vectors.ndim == 2, vectors.shape
        self.vectors = vectors
        self.dim = int(vectors.shape[1])
        self.live = np.ones(len(vectors), bool) if live is None else np.asarray(live, bool)
        assert self.live.shape == (len(vectors),), (self.live.shape, vectors.shape)

    def __len__(self) -> int:
        return int(self.live.sum())

    def get(self, ids: np.ndarray) -> np.ndarray:
        return np.asarray(self.vectors[np.asarray(ids, np.int64)], np.float32)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids), each (n_queries, k), best first; missing slots have id -1."""
        queries = np.atleast_2d(np.asarray(queries, np.float32))
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
