"""Ranking over a collection's vector stores: by image vector, by words, and tags for one image.

Works on content ids and vectors only; mapping ids to paths is the caller's job, and the stores
may be local files or a remote engine as long as they follow the VectorStore protocol.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pixseek.errors import PixseekError
from pixseek.search.concepts import ConceptSpace
from pixseek.search.devise import LearnedBridge, check_bridge
from pixseek.search.query import parse_query
from pixseek.store.vectors import VectorStore


@dataclass
class Ranked:
    id: int
    score: float
    tags: list[str] | None = None


class Searcher:
    def __init__(self, visual: VectorStore, probs: VectorStore | None, concepts: ConceptSpace | None,
                 learned: LearnedBridge | None = None) -> None:
        self.visual = visual
        self.probs = probs
        self.concepts = concepts
        self.learned = learned  # a trained image->word mapping (search/devise.py), when the collection has one
        self._vocab: list[str] | None = None
        self._vocab_matrix: np.ndarray | None = None
        self._vocab_specificity: np.ndarray | None = None

    def similar(self, vector: np.ndarray, k: int = 10, exclude: set[int] | None = None) -> list[Ranked]:
        exclude = exclude or set()
        scores, ids = self.visual.search(vector[None, :], k + len(exclude))
        out = [Ranked(int(i), float(s)) for s, i in zip(scores[0], ids[0]) if i >= 0 and int(i) not in exclude]
        return out[:k]

    def _require_words(self) -> tuple[VectorStore, ConceptSpace]:
        if self.probs is None or self.concepts is None:
            raise PixseekError("this collection's encoder has no classifier head, so it cannot search by words")
        return self.probs, self.concepts

    def _bridge(self, bridge: str) -> str:
        """The bridge to use: `auto` is ConSE alone until a mapping has been trained."""
        check_bridge(bridge)
        if bridge == "devise" and self.learned is None:
            raise PixseekError("this collection has no learned mapping: run `pixseek train DATASET` first, "
                               "or use --bridge conse")
        return "conse" if self.learned is None else bridge

    def search(self, query: str, k: int = 10, candidates: int = 1000, bridge: str = "auto") -> list[Ranked]:
        """Rank images for a query. One positive term: a single inner-product search. Several: each
        positive term fetches its best `candidates`, which are re-ranked by a weighted geometric mean
        of the per-term scores (a soft AND, so "dog beach" prefers dogs on beaches over either alone),
        minus the negative terms' scores. `bridge`: conse, devise or auto (see search/devise.py)."""
        mode = self._bridge(bridge)
        if mode != "conse":
            return [Ranked(i, s, tags) for i, s, tags in self.learned.search(query, k, mode)]
        probs, concepts = self._require_words()
        terms = parse_query(query)
        weights = np.stack([concepts.term_weights(t.text) for t in terms])
        weights /= np.maximum(weights.max(axis=1, keepdims=True), 1e-6)  # each term's best class scores 1
        w = np.array([t.weight for t in terms], np.float32)
        pos = w > 0
        if pos.sum() == 1 and not (~pos).any():
            scores, ids = probs.search(w[pos] * weights[pos], k)
            found = [(int(i), float(sc)) for sc, i in zip(scores[0], ids[0]) if i >= 0]
        else:
            _, cand = probs.search(weights[pos], max(k, candidates))
            ids = np.unique(cand[cand >= 0])
            if len(ids) == 0:
                return []
            per_term = probs.get(ids) @ weights.T  # (n, terms)
            wp = w[pos] / w[pos].sum()
            score = np.exp(np.log(1e-3 + np.clip(per_term[:, pos], 0, None)) @ wp)
            score -= np.clip(per_term[:, ~pos], 0, None) @ -w[~pos]
            top = np.argsort(-score, kind="stable")[:k]
            found = [(int(ids[i]), float(score[i])) for i in top]
        if not found:
            return []
        rows = probs.get(np.array([i for i, _ in found]))
        explain = (w[pos, None] * weights[pos]).sum(0)
        return [Ranked(i, sc, concepts.explain(rows[n], explain)) for n, (i, sc) in enumerate(found)]

    def vocabulary(self, words: list[str] | None = None) -> tuple[list[str], np.ndarray, np.ndarray]:
        """(words, class-weight matrix, specificity) for tagging; the default vocabulary is cached."""
        _, concepts = self._require_words()
        if words is None and self._vocab is not None:
            return self._vocab, self._vocab_matrix, self._vocab_specificity
        pairs = [(w, w) for w in words] if words is not None else concepts.default_vocabulary()
        pairs = [(w, sense) for w, sense in pairs if concepts.known(sense)]
        if not pairs:
            raise PixseekError("none of the tag words is known to the word vectors or WordNet")
        vocab = [w for w, _ in pairs]
        matrix = np.stack([concepts.term_weights(sense) for _, sense in pairs])
        # Broader words in the default vocabulary are discounted; a caller's own words compete as given.
        spec = (np.array([concepts.specificity(sense) for _, sense in pairs], np.float32) if words is None
                else np.ones(len(pairs), np.float32))
        if words is None:
            self._vocab, self._vocab_matrix, self._vocab_specificity = vocab, matrix, spec
        return vocab, matrix, spec

    def tag(self, probs: np.ndarray | None, k: int = 10, words: list[str] | None = None, bridge: str = "auto",
            visual: np.ndarray | None = None) -> list[tuple[str, float]]:
        """Score every vocabulary word for one image (or a batch of probability rows); the learned
        bridges also need the image's visual vector."""
        mode = self._bridge(bridge)
        if mode != "conse":
            if visual is None:
                raise PixseekError(f"--bridge {mode} needs the image's visual vector")
            return self.learned.tag(visual, probs, k, words, mode)
        vocab, matrix, spec = self.vocabulary(words)
        scores = (matrix @ np.asarray(probs, np.float32)) * spec
        top = np.argsort(-scores, kind="stable")[:k]
        return [(vocab[i], float(scores[i])) for i in top]
