"""The joint bridge: a sentence (or word) and a photo meet in the trained joint space (search/joint_space.py).

The query's sentence pieces (runs of plain words with their stopwords, "two children playing in the
snow") go through the phrase encoder and the text head; each photo's joint vector was derived from its
stored visual vector. Scenes and everyday words the ImageNet classes never named ("kitchen", "sunset")
live here.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import numpy as np

from pixseek.search.bridges.base import Part, TextMemo, Unit
from pixseek.search.joint_space import JointSpace
from pixseek.search.tags import Photos, PhotoTagger
from pixseek.search.terms import Query
from pixseek.store.vectors import Vectors

SCENE_WORDS = Path(__file__).resolve().parents[1] / "data" / "scene_words.txt"


class JointBridge:
    name = "joint"

    def __init__(self, space: JointSpace, phrases, store: Vectors | None, tagger: PhotoTagger | None = None) -> None:
        self.tagger = tagger  # a photo's one tag list (search/tags.py)
        self.space = space
        self.phrases = phrases  # encoders/phrases.py PhraseEncoder (or anything with encode(list) -> (n, dim))
        self.store = store  # unit joint vectors, one per image row
        self.text_vectors = TextMemo(lambda texts: space.map_texts(phrases.encode(texts)), space.dim)

    def forget(self) -> None:
        """Drop remembered sentence vectors (for measuring the encoder's share of a query)."""
        self.text_vectors.clear()

    def parts(self, query: Query) -> list[Part]:
        vectors = self.text_vectors([t.text for t in query.phrases])
        return [Part(self.store, [Unit(v, t.weight, t.text) for v, t in zip(vectors, query.phrases)])]

    def explain(self, ids: np.ndarray, query: Query) -> list[list[str] | None]:
        """The first tags of each photo's tag list (none without a tagger)."""
        return self.tagger.cards(ids) if self.tagger is not None else [None] * len(ids)

    @cached_property
    def default_vocabulary(self) -> list[str]:
        """Scene and everyday words the joint space was trained to place (the shipped list)."""
        return [w.strip() for w in SCENE_WORDS.read_text(encoding="utf-8").splitlines() if w.strip()]

    def image_rows(self, visual: np.ndarray) -> np.ndarray:
        return self.space.map_images(visual)

    def tag_scores(self, visual, probs, words=None) -> tuple[list[str], np.ndarray]:
        if words is None and self.tagger is not None:
            return self.tagger.scores(Photos(visual, probs))
        vocab = list(self.default_vocabulary if words is None else words)
        return vocab, self.image_rows(visual) @ self.text_vectors(vocab).T
