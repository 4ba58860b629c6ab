"""What every bridge between words and images provides, so one ranker serves them all.

A bridge turns a resolved query into parts: a vector store of image-side vectors, the query's units
(one vector and a signed weight each) to score against it, and how much the part counts. The ranker
(search/ranker.py) applies weights, negatives and the soft AND the same way for every bridge, and a
blend is just a bridge whose parts come from two others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from pixseek.search.terms import Query
from pixseek.store.vectors import Vectors


@dataclass
class Unit:
    vector: np.ndarray  # against the part's store
    weight: float  # signed: negative units push images away
    text: str


@dataclass
class Part:
    store: Vectors | None  # None where only tagging is possible (a collection with no photos yet)
    units: list[Unit]
    weight: float = 1.0
    # raw (n, units) inner products -> the scores the ranker combines; None: as they are. A taught concept's
    # part maps them through its calibrated sigmoid (search/taught.py); it must be increasing.
    link: Callable[[np.ndarray], np.ndarray] | None = None


class Bridge(Protocol):
    name: str

    def parts(self, query: Query) -> list[Part]:
        """The query as scored parts; raises PixseekError when this bridge can place none of it."""
        ...

    def explain(self, ids: np.ndarray, query: Query) -> list[list[str] | None]:
        """For each result id, the few words that say why it matched (or None)."""
        ...

    def tag_scores(self, visual: np.ndarray, probs: np.ndarray | None,
                   words: list[str] | None = None) -> tuple[list[str], np.ndarray]:
        """(vocabulary, (n_images, n_words) scores) for images given by their stored vectors; `words`
        replaces the bridge's default vocabulary."""
        ...


class TextMemo:
    """Query texts -> unit vectors, remembered: a page of results, its next page and the tags of each
    photo ask for the same texts again and again."""

    LIMIT = 20_000

    def __init__(self, encode, dim: int) -> None:
        self.encode, self.dim = encode, dim  # encode: list[str] -> (n, dim) unit rows
        self._memo: dict[str, np.ndarray] = {}

    def __call__(self, texts: list[str]) -> np.ndarray:
        todo = [t for t in dict.fromkeys(texts) if t not in self._memo]
        if todo:
            if len(self._memo) > self.LIMIT:
                self._memo.clear()
            self._memo.update(zip(todo, self.encode(todo)))
        return np.stack([self._memo[t] for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def clear(self) -> None:
        self._memo.clear()
