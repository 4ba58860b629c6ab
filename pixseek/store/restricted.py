"""A store seen through a search filter: what the ranker scores when a search is filtered, so the ranker
never sees a filter and every bridge's parts are filtered alike (search/filters.py resolves the filter
into `Allowed`; each store searches within it its own way, store/allowed.py)."""

from __future__ import annotations

import numpy as np

from pixseek.store.allowed import Allowed
from pixseek.store.vectors import ExactScoring, Vectors


class Restricted(ExactScoring):
    """`search` and `shortlist` return allowed ids only, best first; rows and estimates are the store's own."""

    def __init__(self, store: Vectors, allow: Allowed) -> None:
        self.store, self.allow = store, allow
        self.dim, self.rows = store.dim, store.rows

    def __len__(self) -> int:
        return len(self.allow.ids)

    def get(self, ids: np.ndarray) -> np.ndarray:
        return self.store.get(ids)

    def estimate(self, ids: np.ndarray, vectors: np.ndarray) -> np.ndarray:
        return self.store.estimate(ids, vectors)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = np.atleast_2d(np.asarray(queries, np.float32))
        if not len(self.allow.ids):
            return np.full((len(queries), k), -np.inf, np.float32), np.full((len(queries), k), -1, np.int64)
        return self.store.search_within(queries, k, self.allow)


def restrict(store: Vectors | None, allow: Allowed | None) -> Vectors | None:
    """`store` searched within `allow` (unchanged when nothing is filtered)."""
    return store if store is None or allow is None else Restricted(store, allow)
