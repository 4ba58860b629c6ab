"""Vectors over a file's rows with some rows replaced by ones computed in memory.

A reader of a derived file (store/derived.py) that finds rows missing or stale derives those rows itself
but may not write them; copying a million-row file to patch a few rows would cost a gigabyte and a second
on every open. So the file's rows (and the index over them) serve as they are, with the replaced rows
not live there, and the replacements are searched exactly beside them; results are merged by score.
"""

from __future__ import annotations

import numpy as np

from pixseek.store.arrays import ArrayStore
from pixseek.store.topk import top_k
from pixseek.store.vectors import ExactScoring, Vectors


class Overlay(ExactScoring):
    """`base` (rows below base.rows, the replaced ones not live in it) and rows `ids` (ascending) as
    `vectors`, over `rows` ids in all; `live`: the whole store's live mask."""

    def __init__(self, base: Vectors, ids: np.ndarray, vectors: np.ndarray, live: np.ndarray) -> None:
        self.base, self.dim, self.rows = base, base.dim, len(live)
        self.ids = np.asarray(ids, np.int64)
        self.live = live
        self.extra = ArrayStore(vectors, live[self.ids])

    def __len__(self) -> int:
        return int(self.live.sum())

    def _where(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(True where an id is a replaced row, its position among them)."""
        pos = np.minimum(np.searchsorted(self.ids, ids), max(len(self.ids) - 1, 0))
        hit = self.ids[pos] == ids if len(self.ids) else np.zeros(len(ids), bool)
        return hit, pos

    def get(self, ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(ids, np.int64)
        hit, pos = self._where(ids)
        out = np.empty((len(ids), self.dim), np.float32)
        if (~hit).any():
            out[~hit] = self.base.get(ids[~hit])
        if hit.any():
            out[hit] = self.extra.get(pos[hit])
        return out

    def usable(self, ids: np.ndarray) -> np.ndarray:
        return self.live[np.asarray(ids, np.int64)]

    def read(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.get(ids), self.usable(ids)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids) best first: the base's best k and the replaced rows' best k, merged."""
        queries = np.atleast_2d(np.asarray(queries, np.float32))
        base_s, base_i = self.base.search(queries, k)
        extra_s, extra_pos = self.extra.search(queries, k)
        extra_i = np.where(extra_pos >= 0, self.ids[np.maximum(extra_pos, 0)], -1)
        scores = np.concatenate([np.where(base_i >= 0, base_s, -np.inf), np.where(extra_i >= 0, extra_s, -np.inf)], 1)
        return top_k(scores, k, np.concatenate([base_i, extra_i], 1), pad=False)
