"""Exact top-k by inner-product score: the best k (score, id) pairs of each row, best first.

Every exact search here has the same shape: score a block of candidates, keep each query's best k with
argpartition, merge them into the running best (concatenate, argpartition again), and at the end sort
what is left (a stable argsort by score, descending, so equal scores keep the order they were kept in).
Slots with a score of -inf (removed rows, or fewer candidates than k) get the id -1; results are padded
to k columns with -inf / -1 unless asked not to.

    top_k(scores, k, ids)             one block
    best = TopK(n_queries, k)         many blocks: best.push(scores, ids) for each, then best.result()

`ids` names the block's columns: an int offset (column j is id offset + j, the rows of a chunk starting
at offset) or an int array broadcastable to the scores' shape (one id per column, or one per entry).

    top_k_among(get, queries, k, ids)  only the listed ids (a filter's allowed ids), rows read by `get`
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Ids = int | np.ndarray


def top_k(scores: np.ndarray, k: int, ids: Ids = 0, pad: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(scores, ids) of each row's best k, best first, float32 and int64; see the module's docstring."""
    return _finish(*_keep(scores, ids, k), k, pad)


class TopK:
    """The running best k of each of n_queries rows over blocks of scores pushed one at a time."""

    def __init__(self, n_queries: int, k: int) -> None:
        self.k = k
        self.scores = np.full((n_queries, 0), -np.inf, np.float32)
        self.ids = np.zeros((n_queries, 0), np.int64)

    def push(self, scores: np.ndarray, ids: Ids = 0) -> None:
        s, i = _keep(scores, ids, self.k)
        self.scores, self.ids = np.concatenate([self.scores, s], 1), np.concatenate([self.ids, i], 1)
        if self.scores.shape[1] > self.k:
            self.scores, self.ids = _keep(self.scores, self.ids, self.k)

    def result(self, pad: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids) over everything pushed, best first."""
        return _finish(self.scores, self.ids, self.k, pad)


def _keep(scores: np.ndarray, ids: Ids, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's best min(k, columns) entries, in no particular order."""
    if scores.shape[1] <= k:
        if isinstance(ids, (int, np.integer)):
            return scores, np.broadcast_to(np.arange(ids, ids + scores.shape[1], dtype=np.int64), scores.shape)
        return scores, np.broadcast_to(ids, scores.shape)
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    if isinstance(ids, (int, np.integer)):
        return np.take_along_axis(scores, part, 1), part + ids
    return np.take_along_axis(scores, part, 1), np.take_along_axis(np.broadcast_to(ids, scores.shape), part, 1)


def _finish(scores: np.ndarray, ids: np.ndarray, k: int, pad: bool) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(-scores, axis=1, kind="stable")
    scores, ids = np.take_along_axis(scores, order, 1), np.take_along_axis(ids, order, 1)
    ids = np.where(np.isfinite(scores), ids, -1)
    if pad and scores.shape[1] < k:
        fill = ((0, 0), (0, k - scores.shape[1]))
        scores, ids = np.pad(scores, fill, constant_values=-np.inf), np.pad(ids, fill, constant_values=-1)
    return scores.astype(np.float32, copy=False), ids.astype(np.int64, copy=False)


def top_k_among(get: Callable[[np.ndarray], np.ndarray], queries: np.ndarray, k: int, ids: np.ndarray,
                chunk: int = 8192) -> tuple[np.ndarray, np.ndarray]:
    """The exact best k of each query among `ids` only, their rows read by `get` in chunks (so memory
    stays bounded); an all-zero row (a damaged one, as stores return it) is never kept."""
    queries = np.atleast_2d(np.asarray(queries, np.float32))
    best = TopK(len(queries), k)
    ids = np.asarray(ids, np.int64)
    for start in range(0, len(ids), chunk):
        part = ids[start:start + chunk]
        rows = np.asarray(get(part), np.float32)
        scores = queries @ rows.T
        scores[:, ~rows.any(axis=1)] = -np.inf
        best.push(scores, part)
    return best.result()
