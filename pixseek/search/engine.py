"""Ranking over a collection's vector stores: by image vector, by words through a bridge, and tags.

Works on content ids and vectors only; mapping ids to paths is the caller's job, and the stores
may be local files or a remote engine as long as they follow the Vectors protocol (store/vectors.py).
A text query runs the stages of search/pipeline.py (`Searcher.search(SearchRequest)`); this half holds
what they draw on: the bridges (search/bridges/), the words known, the cut-offs and taught concepts, and
the sources besides vectors (search/sources.py). search/context.py builds it.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from pixseek.errors import PixseekError
from pixseek.search.bridges import Bridge, BridgeContext, open_bridge
from pixseek.search.cutoff import drop_below, weak_flags
from pixseek.search.filter_options import Filters
from pixseek.search.pipeline import Pipeline
from pixseek.search.query import Term
from pixseek.search.ranking import Ranked
from pixseek.search.sources import NoSources, Sources
from pixseek.search.taught import Concepts, TaughtBridge, TaughtConcept
from pixseek.search.terms import Query, Suggester, resolve, suggester
from pixseek.store.restricted import restrict
from pixseek.store.vectors import Vectors


class Searcher(Pipeline):
    def __init__(self, visual: Vectors | None, context: BridgeContext, words, wordnet=None,
                 sources: Sources | None = None, concepts: Concepts | None = None,
                 cutoffs: Mapping[str, float | None] | None = None) -> None:
        self.visual = visual
        self.context = context
        self.words = words  # WordVectors: which words exist, and spelling suggestions
        self.wordnet = wordnet
        self.sources: Sources = sources or NoSources()
        self.concepts = concepts or Concepts()  # what the user taught (search/taught.py)
        self.cutoffs = dict(cutoffs or {})  # bridge name -> confident floor (search/cutoff.py); none: no weak flags
        self._bridges: dict[str, Bridge] = {}
        self._suggest: Suggester | None = None

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

    def resolve(self, text: str, exact: bool = False, parsed: list[Term] | None = None) -> Query:
        """The query's terms (`parsed`: the text's, parsed already); a misspelt word with a confident
        correction is searched corrected unless `exact`."""
        return resolve(text, self.known, self.suggest, None if exact else self.suggester.correction, parsed)

    def flag_weak(self, hits: list[Ranked], name: str, query: Query | None = None) -> list[Ranked]:
        """Mark the hits below where the query's confident matches end (search/cutoff.py), in place;
        `query`: the words searched (None: an image)."""
        kind = query.kind if query is not None else "keyword"
        for h, weak in zip(hits, weak_flags([h.score for h in hits], name, self.cutoffs, kind)):
            h.weak = weak
        return hits

    def similar(self, vector: np.ndarray, k: int = 10, exclude: set[int] | None = None,
                filters: Filters | None = None, min_score: float | None = None) -> list[Ranked]:
        """The k images nearest a visual vector, among the photos `filters` allow, the weaker ones flagged
        (the "similar" cut-off, search/cutoff.py); below min_score, when given, left out."""
        exclude = exclude or set()
        cut = drop_below(min_score)
        allow = self.sources.allowed(filters) if filters else None
        scores, ids = restrict(self.visual, allow).search(vector[None, :], k + len(exclude))
        out = [Ranked(int(i), float(s)) for s, i in zip(scores[0], ids[0])
               if i >= 0 and int(i) not in exclude and s >= cut]
        return self.flag_weak(out[:k], "similar")

    def flag_name(self, b: Bridge, query: Query, feedback: TaughtConcept | None) -> str:
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
