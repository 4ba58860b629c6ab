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
from pixseek.search.cutoff import drop_below, query_kind, weak_flags
from pixseek.search.filters import Allowed, restrict
from pixseek.search.ranker import rank
from pixseek.search.taught import Concepts, TaughtBridge, TaughtConcept, head_parts
from pixseek.search.terms import Ignored, Query, Suggester, resolve, suggester
from pixseek.store.vectors import Vectors


@dataclass
class Ranked:
    id: int
    score: float
    tags: list[str] | None = None
    text: dict | None = None  # the photo text that matched, {"matched", "box"} (search/photo_text_match.py)
    weak: bool = False  # below where the query's confident matches end (search/cutoff.py)


@dataclass
class Ranking:
    """A query's results, the words it had to leave out, and the query searched when a word was corrected."""

    hits: list[Ranked]
    ignored: list[Ignored] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)
    corrected: str | None = None

    @property
    def confident(self) -> int:
        return sum(not h.weak for h in self.hits)


class Searcher:
    def __init__(self, visual: Vectors | None, context: BridgeContext, words, wordnet=None) -> None:
        self.visual = visual
        self.context = context
        self.words = words  # WordVectors: which words exist, and spelling suggestions
        self.wordnet = wordnet
        self._bridges: dict[str, Bridge] = {}
        self._suggest: Suggester | None = None
        self.concepts = Concepts()  # what the user taught (search/taught.py); set by whoever opens the searcher
        self.cutoffs: dict[str, float | None] = {}  # bridge name -> confident floor (search/cutoff.py); none: no weak flags

    def bridge(self, name: str = "auto") -> Bridge:
        if name not in self._bridges:
            b = open_bridge(name, self.context)
            self._bridges[name] = TaughtBridge(b, self.concepts, self.spaces(), self.to_spaces(), self.known_untaught,
                                               self.context.tagger) if self.concepts else b
        return self._bridges[name]

    def spaces(self) -> dict[str, Vectors | None]:
        """The stores a taught concept's heads score, by the name of their space (and the probabilities
        that tagging an indexed photo reads beside its visual vector)."""
        return {"visual": self.visual, "joint": self.context.joint_store, "probs": self.context.probs_store}

    def to_spaces(self) -> dict:
        """How a visual vector reaches each space other than its own (tagging a file not indexed)."""
        joint = self.context.joint
        return {"joint": joint.map_images} if joint is not None else {}

    def known(self, text: str) -> bool:
        return bool(self.concepts.get(text)) or self.known_untaught(text)

    def known_untaught(self, text: str) -> bool:
        if self.words.vector(text) is not None:
            return True
        return self.wordnet is not None and (bool(self.wordnet.synsets(text)) or text in self.wordnet.lemmas)

    @property
    def suggester(self) -> Suggester:
        if self._suggest is None:
            self._suggest = suggester(self.words.words)
        return self._suggest

    def suggest(self, word: str) -> str | None:
        return self.suggester(word)

    def resolve(self, text: str, exact: bool = False) -> Query:
        """The query's terms; a misspelt word with a confident correction is searched corrected unless `exact`."""
        return resolve(text, self.known, self.suggest, None if exact else self.suggester.correction)

    def flag_weak(self, hits: list[Ranked], name: str, query: Query | None = None) -> list[Ranked]:
        """Mark the hits below where the query's confident matches end (search/cutoff.py), in place;
        `query`: the words searched (None: an image)."""
        kind = query_kind(query.text) if query is not None else "keyword"
        for h, weak in zip(hits, weak_flags([h.score for h in hits], name, self.cutoffs, kind)):
            h.weak = weak
        return hits

    def similar(self, vector: np.ndarray, k: int = 10, exclude: set[int] | None = None,
                allowed: Allowed | None = None, min_score: float | None = None) -> list[Ranked]:
        """The k images nearest a visual vector, among `allowed` ids only, the weaker ones flagged (the
        "similar" cut-off, search/cutoff.py); below min_score, when given, left out."""
        exclude = exclude or set()
        cut = drop_below(min_score)
        scores, ids = restrict(self.visual, allowed).search(vector[None, :], k + len(exclude))
        out = [Ranked(int(i), float(s)) for s, i in zip(scores[0], ids[0])
               if i >= 0 and int(i) not in exclude and s >= cut]
        return self.flag_weak(out[:k], "similar")

    def search(self, text: str, k: int = 10, bridge: str = "auto", candidates: int = 1000,
               allowed: Allowed | None = None, min_score: float | None = None, exact: bool = False,
               feedback: TaughtConcept | None = None) -> Ranking:
        """The k best images for a query (`dog beach`, `dog -grass`, `2:sunset`, a sentence) through a
        bridge, among `allowed` ids only (search/filters.py), the weaker ones flagged (the bridge's cut-off,
        search/cutoff.py); below min_score, when given, left out. A misspelt word is corrected when sure
        (`Ranking.corrected`), unless `exact`. `feedback`: photos marked "more like this / not this" as a
        concept fitted on them (interfaces/teaching.py), one more word of the query (which may be empty)."""
        b = self.bridge(bridge)
        query = self.resolve(text, exact) if text.strip() or feedback is None else Query("", [], [], [])
        parts = b.parts(query) if query.terms else []
        if feedback is not None:
            parts += head_parts([(feedback, 1.0)], self.spaces())
        if allowed is not None:
            parts = [replace(p, store=restrict(p.store, allowed)) for p in parts]
        cut = drop_below(min_score)
        found = [(i, s) for i, s in rank(parts, k, candidates) if s >= cut]
        tags = b.explain(np.array([i for i, _ in found], np.int64), query) if query.terms else [None] * len(found)
        hits = self.flag_weak([Ranked(i, s, t) for (i, s), t in zip(found, tags)], self._flag_name(b, query, feedback),
                              query if query.text.strip() else None)
        return Ranking(hits, query.ignored, [t.text for t in query.terms if t.weight > 0], query.corrected)

    def _flag_name(self, b: Bridge, query: Query, feedback: TaughtConcept | None) -> str:
        """Whose cut-off marks the weak hits: a query of taught words (or marked photos) alone scores
        calibrated probabilities ("taught"); any other word brings its bridge's scale."""
        own = [t for t in query.terms if not self.concepts.get(t.text) or self.known_untaught(t.text)]
        return "taught" if (feedback is not None or self.concepts) and not own else b.name

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
