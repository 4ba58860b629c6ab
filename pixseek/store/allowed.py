"""The content ids a filtered search may return, and the one way a store without filters of its own
searches among them.

A filter (search/filters.py) is resolved against the catalog into an `Allowed` mask before any vector is
scored, so it applies before the top k. How a store searches within it is the store's business
(`Vectors.search_within`): this module's `search_allowed` serves every local store (exact scan or ANN
index); a store that filters itself (Milvus) overrides it with its own push-down, so search code never
names a backend.

- a narrow filter (under a quarter of the collection) scores exactly the allowed rows and nothing else;
- a broad one over-fetches from the store and keeps the allowed ids, fetching more until k are found or
  the store is exhausted, then falls back to the exact scan of the allowed rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from pixseek.store.topk import top_k, top_k_among

NARROW = 0.25  # allowed share of the collection under which the allowed rows are scored directly


@dataclass(frozen=True)
class Allowed:
    """mask[i]: content id i may be returned (ids past its end may not). `folder`: set when the filter is
    that folder and nothing else, so a store with a folder field of its own (Milvus) can filter on it
    alone; any other filter reaches such a store as the ids it leaves."""

    mask: np.ndarray
    folder: str | None = None

    @cached_property
    def ids(self) -> np.ndarray:
        return np.flatnonzero(self.mask).astype(np.int64)

    def keep(self, ids: np.ndarray) -> np.ndarray:
        """bool, like ids: which are allowed (-1 and ids past the mask are not)."""
        ids = np.asarray(ids, np.int64)
        inside = (ids >= 0) & (ids < len(self.mask))
        return inside & self.mask[np.where(inside, ids, 0)]


def search_allowed(store, queries: np.ndarray, k: int, allow: Allowed) -> tuple[np.ndarray, np.ndarray]:
    """(scores, ids) of each query's best k allowed ids, from a store's `search` and `get` (see above)."""
    queries = np.atleast_2d(np.asarray(queries, np.float32))
    if not len(allow.ids):
        return np.full((len(queries), k), -np.inf, np.float32), np.full((len(queries), k), -1, np.int64)
    n_allowed, n_live = len(allow.ids), max(1, len(store))
    if n_allowed < NARROW * n_live:
        return top_k_among(store.get, queries, k, allow.ids)
    fetch = min(n_live, int(k * n_live / n_allowed * 1.5) + 10)
    for _ in range(4):
        scores, ids = store.search(queries, fetch)
        ok = allow.keep(ids)
        if (ok.sum(axis=1) >= min(k, n_allowed)).all():
            return top_k(np.where(ok, scores, -np.inf), k, np.where(ok, ids, -1))
        if fetch >= n_live:
            break
        fetch = min(n_live, fetch * 4)
    return top_k_among(store.get, queries, k, allow.ids)  # the store ran short (an ANN index): score them all
