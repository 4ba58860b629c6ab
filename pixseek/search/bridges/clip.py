"""The clip bridge: a collection indexed with a CLIP image tower (`--encoder clip:DIR`) is searched with the
same model's text tower. The stored visual vectors are the tower's unit image embeddings, so a query
piece is one text embedding scored against them; weights, negatives and the soft AND are the ranker's.
Tags score prompts ("a photo of a {word}.") averaged over a few templates, as CLIP's zero-shot
classification does.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from pixseek.search.bridges.base import Part, TextMemo, Unit
from pixseek.search.bridges.joint import SCENE_WORDS
from pixseek.search.terms import Query
from pixseek.store.vectors import Vectors

PROMPTS = ("a photo of a {}.", "a photo of the {}.", "a picture of a {}.", "a close-up photo of a {}.")


class ClipBridge:
    name = "clip"

    def __init__(self, tower, store: Vectors | None) -> None:
        self.tower = tower  # encoders/clip.py ClipModel (anything with encode_texts(list) -> (n, dim) unit rows)
        self.store = store
        self.text_vectors = TextMemo(tower.encode_texts, tower.dim)

    def parts(self, query: Query) -> list[Part]:
        pieces = list(query.phrases) + [t for t in query.terms if t.weight < 0]
        vectors = self.text_vectors([t.text for t in pieces])
        return [Part(self.store, [Unit(v, t.weight, t.text) for v, t in zip(vectors, pieces)])]

    def explain(self, ids: np.ndarray, query: Query) -> list[list[str] | None]:
        return [None] * len(ids)

    @cached_property
    def default_vocabulary(self) -> list[str]:
        """ImageNet's class names and the shipped scene words."""
        from pixseek.encoders.imagenet import imagenet_lemmas

        names = [lemmas[0].replace("_", " ") for lemmas in imagenet_lemmas().values() if lemmas]
        words = [w.strip() for w in SCENE_WORDS.read_text(encoding="utf-8").splitlines() if w.strip()]
        return list(dict.fromkeys([*names, *words]))

    def word_vectors(self, words: list[str]) -> np.ndarray:
        """(n_words, dim) unit vectors: each word's prompts, averaged."""
        rows = self.text_vectors([p.format(w) for w in words for p in PROMPTS]).reshape(len(words), len(PROMPTS), -1)
        mean = rows.mean(axis=1)
        return mean / np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12)

    def tag_scores(self, visual, probs, words=None) -> tuple[list[str], np.ndarray]:
        vocab = list(self.default_vocabulary if words is None else words)
        return vocab, np.asarray(visual, np.float32) @ self.word_vectors(vocab).T
