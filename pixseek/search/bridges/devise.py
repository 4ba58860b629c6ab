"""The DeViSE bridge: images mapped into the word-vector space, scored by cosine to the query's words."""

from __future__ import annotations

import numpy as np

from pixseek.errors import PixseekError
from pixseek.search.bridges.base import Part, Unit
from pixseek.search.terms import Query
from pixseek.search.trained_classes import TrainedClasses
from pixseek.store.vectors import Vectors


class DeviseBridge:
    name = "devise"

    def __init__(self, classes: TrainedClasses, store: Vectors | None, explain_store: Vectors | None) -> None:
        self.classes = classes
        self.mapping = classes.mapping
        self.store = store  # mapped unit word vectors, one per image row
        self.explain_store = explain_store  # [classifier | trained] class probabilities, for the result tags

    def word_vector(self, text: str) -> np.ndarray:
        v = self.classes.vector(text)
        if v is None:
            raise PixseekError(f"unknown word {text!r}: not in the {self.classes.words.name} vocabulary, so the devise "
                               "bridge cannot place it (try --bridge auto or conse)")
        return v

    def parts(self, query: Query) -> list[Part]:
        return [Part(self.store, [Unit(self.word_vector(t.text), t.weight, t.text) for t in query.terms])]

    def explain(self, ids: np.ndarray, query: Query) -> list[list[str] | None]:
        if self.explain_store is None or len(ids) == 0:
            return [None] * len(ids)
        try:
            weights = np.sum([max(t.weight, 0) * self.classes.weights(t.text) for t in query.terms], axis=0)
        except PixseekError:
            return [None] * len(ids)
        return [self.classes.explain(row, weights) for row in self.explain_store.get(np.asarray(ids))]

    def tag_scores(self, visual, probs, words=None) -> tuple[list[str], np.ndarray]:
        if words is None:
            vocab, _, spec = self.classes.tag_vocabulary()
        else:
            vocab, spec = list(words), np.ones(len(words), np.float32)
        keep = [i for i, w in enumerate(vocab) if self.classes.vector(w) is not None]
        if not keep:
            raise PixseekError("none of the tag words is in the word vectors")
        matrix = np.stack([self.classes.vector(vocab[i]) for i in keep])
        mapped = self.mapping.map(np.atleast_2d(np.asarray(visual, np.float32)))
        return [vocab[i] for i in keep], (mapped @ matrix.T) * spec[keep]
