"""The ConSE bridge: words become weights over classes, images are their class probabilities.

Over the classifier's ImageNet classes (search/concepts.py), and over the classes a DeViSE mapping was
trained on as well once the collection has one (search/trained_classes.py). Zero-shot and precise for
the objects WordNet places over the classes.
"""

from __future__ import annotations

import numpy as np

from pixseek.errors import PixseekError
from pixseek.search.bridges.base import Part, Unit
from pixseek.search.tags import Photos, PhotoTagger
from pixseek.search.terms import Query
from pixseek.store.vectors import Vectors


class ConseBridge:
    name = "conse"

    def __init__(self, space, store: Vectors | None, tagger: PhotoTagger | None = None) -> None:
        self.space = space  # ConceptSpace or TrainedClasses
        self.store = store  # class-probability rows, matching space.image_rows
        self.tagger = tagger  # a photo's one tag list (search/tags.py); None: the query's class names

    def covers(self, query: Query) -> bool:
        """Every positive term names classes through WordNet: the query is a keyword query ConSE knows."""
        return all(self.space.covers(t.text) for t in query.positive())

    def parts(self, query: Query) -> list[Part]:
        """One unit per term ConSE can place; a WordNet word with no vector and no class below it has no
        weights here (the joint space may still read it), and only a query with none left is refused."""
        units = []
        for t in query.terms:
            try:
                units.append(Unit(self.space.weights(t.text), t.weight, t.text))
            except PixseekError:
                continue
        if not any(u.weight > 0 for u in units):
            raise PixseekError(f"the conse bridge cannot place any word of {query.text!r} among its classes")
        return [Part(self.store, units)]

    def _explain_weights(self, query: Query) -> np.ndarray:
        return np.sum([max(u.weight, 0) * u.vector for u in self.parts(query)[0].units], axis=0)

    def explain(self, ids: np.ndarray, query: Query) -> list[list[str] | None]:
        """The first tags of each photo's tag list, whatever the query: a card shows what the detail view lists."""
        if self.tagger is not None:
            return self.tagger.cards(ids)
        if self.store is None or len(ids) == 0:
            return [None] * len(ids)
        weights = self._explain_weights(query)
        return [self.space.explain(row, weights) for row in self.store.get(np.asarray(ids))]

    def tag_scores(self, visual, probs, words=None) -> tuple[list[str], np.ndarray]:
        """The photos' calibrated tags (0 where not shown) for the default vocabulary; a caller's own words as
        ConSE scores them."""
        if words is None and self.tagger is not None:
            return self.tagger.scores(Photos(visual, probs))
        vocab, matrix, spec = self.space.tag_vocabulary(words)
        return vocab, (self.space.image_rows(visual, probs) @ matrix.T) * spec
