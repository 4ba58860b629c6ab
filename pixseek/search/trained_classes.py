"""ConSE over the classifier's classes plus the classes a DeViSE mapping was trained on.

An image's class probabilities become [classifier's 1000 | trained classes'] (the mapping's class head);
a word's weights over the trained classes follow the same WordNet + word-vector rule as over the 1000,
so a trained word gains its own learned class and any other word still scores through ConSE/WordNet.
It offers the same methods as ConceptSpace, so the conse bridge runs over either.
"""

from __future__ import annotations

import numpy as np

from pixseek.errors import PixseekError
from pixseek.search.concepts import SIM_POWER, ConceptSpace, _is_wnid, top_indices
from pixseek.search.mapping import Mapping, derive_rows


class TrainedClasses:
    def __init__(self, mapping: Mapping, concepts: ConceptSpace) -> None:
        self.mapping = mapping
        self.concepts = concepts
        self.words = concepts.words
        self.wordnet = concepts.wordnet
        self.index = {w: i for i, w in enumerate(mapping.class_wnids) if w}
        self.names = list(concepts.names) + [f"{c}*" for c in mapping.class_names]
        self._vocab: tuple[list[str], np.ndarray, np.ndarray] | None = None
        self._memo: dict[str, np.ndarray] = {}

    def vector(self, text: str) -> np.ndarray | None:
        """The word vector of a term (a WordNet id stands for its first lemma)."""
        return self.words.vector(self.wordnet.name(text) if self.wordnet is not None and _is_wnid(text) else text)

    def known(self, text: str) -> bool:
        return self.concepts.known(text) or bool(self.trained_hierarchy(text).any())

    def trained_hierarchy(self, text: str) -> np.ndarray:
        """Like ConceptSpace.hierarchy, over the trained classes (by their WordNet ids)."""
        if self.wordnet is None:
            h = np.zeros(len(self.mapping.class_ids), np.float32)
            key = text.lower().strip()
            h[[i for i, n in enumerate(self.mapping.class_names) if n.lower() == key]] = 1
            return h
        return self.concepts.hierarchy(text, self.index, len(self.mapping.class_ids))

    def covers(self, text: str) -> bool:
        return self.concepts.covers(text) or bool(self.trained_hierarchy(text).any())

    def weights(self, text: str) -> np.ndarray:
        """[classifier-class weights | trained-class weights], scaled so the best class weighs 1."""
        if text not in self._memo:
            if len(self._memo) > 50_000:
                self._memo.clear()
            self._memo[text] = self._weights(text)
        return self._memo[text]

    def _weights(self, text: str) -> np.ndarray:
        v = self.vector(text)
        h_base, h_new = self.concepts.hierarchy(text), self.trained_hierarchy(text)
        if v is None and not h_base.any() and not h_new.any():
            raise PixseekError(f"unknown word {text!r}: not in the word vectors nor in WordNet")
        alpha = self.concepts.alpha if (h_base.any() or h_new.any()) else 0.0
        sim_base = np.zeros_like(h_base)
        if v is not None:
            sim_base = np.maximum(self.concepts.class_vectors @ v, 0) ** SIM_POWER
        if h_new.any():
            # WordNet names the trained classes the word covers: word-vector likeness to the others would only
            # blur the trained classifier (Tiny ImageNet tag top-5 0.830 with it, 0.859 without, in an experiment)
            new = h_new / float(h_new.max())
        elif h_base.any() or v is None:
            # WordNet places the word among the classifier's classes but under none of the trained ones:
            # then word-vector likeness to a trained class is no evidence (it cost unseen words 0.02 P@10)
            new = np.zeros_like(h_new)
        else:
            new = np.maximum(self.mapping.class_vectors @ v, 0) ** SIM_POWER
        q = np.concatenate([alpha * h_base + (1 - alpha) * sim_base, new])
        return (q / max(float(q.max()), 1e-6)).astype(np.float32)

    term_weights = weights

    def image_rows(self, visual: np.ndarray, probs: np.ndarray | None) -> np.ndarray:
        visual = np.atleast_2d(np.asarray(visual, np.float32))
        probs = None if probs is None or not self.concepts.classes else np.atleast_2d(np.asarray(probs, np.float32))
        return derive_rows(visual, probs, self.mapping, "auto")

    def explain(self, row: np.ndarray, weights: np.ndarray, n: int = 3) -> list[str]:
        """Class names contributing most; trained classes carry a `*`."""
        contrib = row * np.maximum(weights, 0)
        top = top_indices(contrib, n)
        return list(dict.fromkeys(self.names[i] for i in top if contrib[i] > 0))

    def tag_vocabulary(self, words: list[str] | None = None) -> tuple[list[str], np.ndarray, np.ndarray]:
        """The ConSE vocabulary plus the trained names (or the caller's words)."""
        if words is None and self._vocab is not None:
            return self._vocab
        if words is not None:
            pairs = [(w, w) for w in words]
        else:
            pairs = self.concepts.default_vocabulary()
            seen = {w for w, _ in pairs}
            pairs += [(n, w or n) for n, w in zip(self.mapping.class_names, self.mapping.class_wnids) if n not in seen]
        vocab, rows, spec = [], [], []
        for w, sense in pairs:
            try:
                rows.append(self.weights(sense))
            except PixseekError:
                continue
            vocab.append(w)
            spec.append(self.concepts.specificity(sense) if words is None else 1.0)
        if not vocab:
            raise PixseekError("none of the tag words is known to the word vectors or WordNet")
        out = (vocab, np.stack(rows).astype(np.float32), np.array(spec, np.float32))
        if words is None:
            self._vocab = out
        return out
