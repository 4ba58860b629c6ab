"""Ranking over a collection's vector stores: by image vector, by words through a bridge, and tags.

Works on content ids and vectors only; mapping ids to paths is the caller's job, and the stores
may be local files or a remote engine as long as they follow the Vectors protocol (store/vectors.py). A query is
resolved once (search/terms.py), turned into parts by the chosen bridge (search/bridges/), and ranked
by the one ranker (search/ranker.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from pixseek.errors import PixseekError
from pixseek.search.bridges import Bridge, BridgeContext, open_bridge
from pixseek.search.cutoff import resolve_min_score
from pixseek.search.filters import Allowed, restrict
from pixseek.search.ranker import rank
from pixseek.search.taught import Concepts, TaughtBridge, TaughtConcept, head_parts
from pixseek.search.terms import Ignored, Query, resolve, suggester
from pixseek.store.vectors import Vectors


@dataclass
class Ranked:
    id: int
    score: float
    tags: list[str] | None = None
    text: dict | None = None  # the photo text that matched, {"matched", "box"} (search/photo_text_match.py)


@dataclass
class Ranking:
    """A query's results and the words it had to leave out."""

    hits: list[Ranked]
    ignored: list[Ignored] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)


class Searcher:
    def __init__(self, visual: Vectors | None, context: BridgeContext, words, wordnet=None) -> None:
        self.visual = visual
        self.context = context
        self.words = words  # WordVectors: which words exist, and spelling suggestions
        self.wordnet = wordnet
        self._bridges: dict[str, Bridge] = {}
        self._suggest = None
        self.concepts = Concepts()  # what the user taught (search/taught.py); set by whoever opens the searcher
        self.cutoffs: dict[str, float | None] = {}  # bridge name -> default min score (search/cutoff.py); none: keep all

    def bridge(self, name: str = "auto") -> Bridge:
        if name not in self._bridges:
            b = open_bridge(name, self.context)
            self._bridges[name] = TaughtBridge(b, self.concepts, self.spaces(), self.to_spaces()) if self.concepts else b
        return self._bridges[name]

    def spaces(self) -> dict[str, Vectors | None]:
        """The stores a taught concept's heads score, by the name of their space."""
        return {"visual": self.visual, "joint": self.context.joint_store}

    def to_spaces(self) -> dict:
        """How a visual vector reaches each space other than its own (tagging a file not indexed)."""
        joint = self.context.joint
        return {"joint": joint.map_images} if joint is not None else {}

    def known(self, text: str) -> bool:
        if self.concepts.get(text):
            return True
        if self.words.vector(text) is not None:
            return True
        return self.wordnet is not None and (bool(self.wordnet.synsets(text)) or text in self.wordnet.lemmas)

    def suggest(self, word: str) -> str | None:
        if self._suggest is None:
            self._suggest = suggester(self.words.words)
        return self._suggest(word)

    def resolve(self, text: str) -> Query:
        return resolve(text, self.known, self.suggest)

    def similar(self, vector: np.ndarray, k: int = 10, exclude: set[int] | None = None,
                allowed: Allowed | None = None, min_score: float | None = None) -> list[Ranked]:
        """Images nearest a visual vector, among `allowed` ids only; below min_score (None: the calibrated
        "similar" cut-off, search/cutoff.py) left out."""
        exclude = exclude or set()
        cut = resolve_min_score(min_score, "similar", self.cutoffs)
        scores, ids = restrict(self.visual, allowed).search(vector[None, :], k + len(exclude))
        out = [Ranked(int(i), float(s)) for s, i in zip(scores[0], ids[0])
               if i >= 0 and int(i) not in exclude and s >= cut]
        return out[:k]

    def search(self, text: str, k: int = 10, bridge: str = "auto", candidates: int = 1000,
               allowed: Allowed | None = None, min_score: float | None = None,
               feedback: TaughtConcept | None = None) -> Ranking:
        """Rank images for a query (`dog beach`, `dog -grass`, `2:sunset`, a sentence) through a bridge,
        among `allowed` ids only (search/filters.py); results below min_score (None: the bridge's calibrated
        cut-off, search/cutoff.py) are left out."""
        b = self.bridge(bridge)
        query = self.resolve(text) if text.strip() or feedback is None else Query("", [], [], [])
        parts = b.parts(query) if query.terms else []
        if feedback is not None:  # "more like this / not this": the marked photos as one more word
            parts += head_parts([(feedback, 1.0)], self.spaces())
        if allowed is not None:
            parts = [replace(p, store=restrict(p.store, allowed)) for p in parts]
        cut = resolve_min_score(min_score, b.name, self.cutoffs)
        found = [(i, s) for i, s in rank(parts, k, candidates) if s >= cut]
        tags = b.explain(np.array([i for i, _ in found], np.int64), query) if query.terms else [None] * len(found)
        return Ranking([Ranked(i, s, t) for (i, s), t in zip(found, tags)], query.ignored,
                       [t.text for t in query.terms if t.weight > 0])

    def tag_scores(self, visual: np.ndarray, probs: np.ndarray | None, words: list[str] | None = None,
                   bridge: str = "auto") -> tuple[list[str], np.ndarray]:
        """(vocabulary, (n_images, n_words) scores) for images given by their visual vectors and class probabilities."""
        if words is not None:
            words = [w for w in dict.fromkeys(w.strip() for w in words) if w]
            if not words:
                raise PixseekError("the tag vocabulary is empty")
        return self.bridge(bridge).tag_scores(visual, probs, words)

    def tag(self, visual: np.ndarray, probs: np.ndarray | None, k: int = 10, words: list[str] | None = None,
            bridge: str = "auto") -> list[tuple[str, float]]:
        vocab, scores = self.tag_scores(visual, probs, words, bridge)
        top = np.argsort(-scores[0], kind="stable")[:k]
        return [(vocab[i], float(scores[0, i])) for i in top]
