"""Taught concepts in search: a name the user taught from examples is a query word like any other.

A concept is one or more heads, each a linear model over one kind of stored vectors (visual, joint) with
a calibrated sigmoid (learn/teach.py fits them). For the ranker a head is just a part: its store, the
concept's weights as the unit vector and a link that turns inner products into probabilities, so
weights, negatives (`-rex`), the soft AND between several taught words, filters and the rest of the
query's words work as they do for every bridge. `TaughtBridge` wraps whichever bridge a search uses:
taught words go to the heads, every other word to the wrapped bridge, and the two sets of parts are
ranked together. A taught name that is also a known word ("kitchen") refines it: the word's own parts
and the taught heads are ranked together, so what the shipped models know and what the user showed
both count.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from pixseek.config import TEACH_CONFIDENT, TEACH_SCORES_MAX
from pixseek.search.bridges.base import Bridge, Part, Unit
from pixseek.search.tags import CARD_TAGS, PhotoTagger
from pixseek.search.terms import Query
from pixseek.store.vectors import ExactScoring, Vectors


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60, 60)))


class Logistic:
    """A part's link: per-unit biases, then the sigmoid (increasing, as the ranker needs)."""

    def __init__(self, biases: np.ndarray) -> None:
        self.biases = np.asarray(biases, np.float32)

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        return sigmoid(np.asarray(raw, np.float32) + self.biases)


@dataclass
class TaughtConcept:
    name: str
    heads: dict[str, tuple[np.ndarray, float]]  # space -> (weights, bias)

    def scores(self, vectors: dict[str, np.ndarray]) -> np.ndarray:
        """(n,) probabilities: the mean of the heads whose vectors are given (each (n, dim))."""
        per = [sigmoid(vectors[s] @ w + b) for s, (w, b) in self.heads.items() if s in vectors]
        return np.mean(per, 0) if per else np.zeros(0, np.float32)


class HeadScores:
    """A head's raw scores (its store's rows times its weights) for every live photo: one scan of the store
    when the word is first searched; every later search with it reads this column, no vectors."""

    def __init__(self, store: Vectors, weights: np.ndarray) -> None:
        self.rows, self.n = store.rows, len(store)
        scores, ids = store.search(np.asarray(weights, np.float32)[None, :], max(self.n, 1))
        found = ids[0] >= 0
        self.ids = np.sort(ids[0][found]).astype(np.int64)
        self.column = np.zeros(self.rows, np.float32)
        self.column[ids[0][found]] = scores[0][found]
        self.complete = len(self.ids) == self.n  # an ANN index may not answer every photo: then no cache


class Columns(ExactScoring):
    """Several concepts' HeadScores (over the same photos) as a store with one dimension per concept: a
    unit is a one-hot vector, so ranking, filters and the soft AND work on it as on any store."""

    def __init__(self, heads: list[HeadScores]) -> None:
        self.heads, self.dim = heads, len(heads)
        self.rows, self.ids = heads[0].rows, heads[0].ids
        self.matrix = np.stack([h.column for h in heads], 1)  # (rows, concepts)

    def __len__(self) -> int:
        return len(self.ids)

    def get(self, ids: np.ndarray) -> np.ndarray:
        return self.matrix[np.asarray(ids, np.int64)]

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        scores = np.atleast_2d(np.asarray(queries, np.float32)) @ self.matrix[self.ids].T
        k, m = max(int(k), 0), min(max(int(k), 0), len(self.ids))
        out_s = np.full((len(scores), k), -np.inf, np.float32)
        out_i = np.full((len(scores), k), -1, np.int64)
        for q, row in enumerate(scores):
            top = np.argpartition(-row, m - 1)[:m] if 0 < m < len(row) else np.arange(m)
            top = top[np.argsort(-row[top], kind="stable")]
            out_s[q, :m], out_i[q, :m] = row[top], self.ids[top]
        return out_s, out_i


class Concepts:
    """The taught concepts a searcher knows, by lower-cased name, and their heads' scores over the
    collection once computed (HeadScores, per store and its size: a collection that changed scans again)."""

    def __init__(self, concepts: list[TaughtConcept] | None = None) -> None:
        self.by_name = {c.name.lower(): c for c in concepts or []}
        self._scores: dict[tuple[str, str], tuple[tuple, HeadScores]] = {}

    def scored(self, concept: TaughtConcept, space: str, store: Vectors | None) -> HeadScores | None:
        """The concept's head in `space` over every photo of `store`, computed once (None: a store too
        large to keep a column for, or one that did not answer every photo)."""
        if store is None or self.get(concept.name) is not concept or not 0 < len(store) <= TEACH_SCORES_MAX:
            return None
        key, version = (concept.name.lower(), space), (id(store), store.rows, len(store))
        held = self._scores.get(key)
        if held is None or held[0] != version:
            held = (version, HeadScores(store, concept.heads[space][0]))
            self._scores[key] = held
        return held[1] if held[1].complete else None

    def __bool__(self) -> bool:
        return bool(self.by_name)

    def get(self, word: str) -> TaughtConcept | None:
        return self.by_name.get(word.lower().strip())

    def names(self) -> list[str]:
        return [c.name for c in self.by_name.values()]


def head_parts(weighted: list[tuple[TaughtConcept, float]], stores: dict[str, Vectors | None],
               known: Concepts | None = None) -> list[Part]:
    """One part per kind of stored vector the concepts have heads for (sharing the weight of one word),
    each concept a unit with its term's weight: several taught words are a soft AND, a negative one
    pushes its matches down. `known`: where the concepts' scores over the collection are kept (one part
    per concept then, over its HeadScores column, which reads no vectors)."""
    spaces = [s for s in ("visual", "joint") if any(s in c.heads for c, _ in weighted)]
    parts = []
    for space in spaces:
        held = [(c, weight) for c, weight in weighted if space in c.heads]
        columns = [known.scored(c, space, stores.get(space)) for c, _ in held] if known is not None else []
        if held and columns and all(col is not None for col in columns):
            eye = np.eye(len(held), dtype=np.float32)
            parts.append(Part(Columns(columns), [Unit(eye[j], weight, c.name) for j, (c, weight) in enumerate(held)],
                              1.0 / len(spaces), Logistic(np.array([c.heads[space][1] for c, _ in held]))))
            continue
        units = [Unit(c.heads[space][0], weight, c.name) for c, weight in held]
        parts.append(Part(stores.get(space), units, 1.0 / len(spaces),
                          Logistic(np.array([c.heads[space][1] for c, _ in held]))))
    return parts


class TaughtBridge:
    """A bridge that places taught words itself and hands every other word to `inner`."""

    def __init__(self, inner: Bridge, concepts: Concepts, stores: dict[str, Vectors | None],
                 to_space=None, known=None, tagger: PhotoTagger | None = None) -> None:
        self.inner, self.concepts, self.stores = inner, concepts, stores
        self.tagger = tagger  # the collection's one tagger: a card's tags from its stored rows
        self.known = known or (lambda word: False)  # words the wrapped bridge knows without being taught
        self.name = inner.name
        self.to_space = to_space or {}  # space -> fn(visual (n, dim)) -> that space's vectors, for tagging files

    def split(self, query: Query) -> tuple[list, Query | None]:
        """(taught terms, the query without them, or None when nothing is left for the wrapped bridge)."""
        taught = [t for t in query.terms if self.concepts.get(t.text)]
        if not taught:
            return [], query
        # a taught name that is a word already keeps that word's own meaning beside what was taught
        names = {t.text.lower() for t in taught if not self.known(t.text)}
        rest = replace(query, terms=[t for t in query.terms if t.text.lower() not in names],
                       phrases=[p for p in query.phrases if p.text.lower() not in names])
        return taught, (rest if any(t.weight > 0 for t in rest.terms) else None)

    def parts(self, query: Query) -> list[Part]:
        taught, rest = self.split(query)
        parts = self.inner.parts(rest) if rest is not None else []
        return parts + head_parts([(self.concepts.get(t.text), t.weight) for t in taught], self.stores, self.concepts)

    def explain(self, ids: np.ndarray, query: Query) -> list[list[str] | None]:
        """A card's tags: the first CARD_TAGS of the photo's one tag list, taught words ranked among the
        others by their probability (tag_scores), so the card and the detail view agree. Photos no concept
        is confident of keep the wrapped bridge's tags as they are (nothing to rank the concepts among)."""
        ids = np.asarray(ids, np.int64)
        query = self.split(query)[1] or query  # the wrapped bridge never sees a word it was not taught
        visual, probs = self.stores.get("visual"), self.stores.get("probs")
        if len(ids) == 0 or visual is None:
            return self.inner.explain(ids, query)
        rows = {s: st.get(ids) for s, st in self.stores.items() if st is not None and s != "probs"}
        names = self.concepts.names()
        taught = np.stack([self.concepts.get(n).scores(rows) for n in names], 1).astype(np.float32)
        sure = taught.max(1) >= TEACH_CONFIDENT
        out: list[list[str] | None] = [None] * len(ids)
        plain = np.flatnonzero(~sure)
        for j, words in zip(plain, self.inner.explain(ids[plain], query) if len(plain) else []):
            out[j] = words
        mixed = np.flatnonzero(sure)
        if len(mixed):
            if self.tagger is not None:  # the tags the wrapped bridge would give, from the stored joint rows
                vocab, scores = self.tagger.scores(self.tagger.stored(ids[mixed]))
            else:
                vocab, scores = self.inner.tag_scores(rows["visual"][mixed], probs.get(ids[mixed]) if probs is not None else None)
            vocab, scores = _with_taught(vocab, scores, names, taught[mixed])
            for row, j in zip(scores, mixed):
                order = np.argsort(-row, kind="stable")
                out[j] = [vocab[i] for i in order[:CARD_TAGS] if row[i] > 0]
        return out

    def tag_scores(self, visual: np.ndarray, probs: np.ndarray | None,
                   words: list[str] | None = None) -> tuple[list[str], np.ndarray]:
        """The wrapped bridge's tags with the taught concepts scored beside them (their calibrated
        probability); in the default vocabulary a concept is only shown from TEACH_CONFIDENT up, like every
        tag is only shown when it is probably right (search/tags.py)."""
        asked = [w for w in words if self.concepts.get(w)] if words is not None else self.concepts.names()
        other = [w for w in words if not self.concepts.get(w)] if words is not None else None
        vocab, scores = self.inner.tag_scores(visual, probs, other) if other != [] else ([], np.zeros((len(visual), 0)))
        if not asked:
            return vocab, scores
        vectors = {"visual": np.asarray(visual, np.float32)}
        vectors.update({s: fn(vectors["visual"]) for s, fn in self.to_space.items()})
        taught = np.stack([self.concepts.get(w).scores(vectors) for w in asked], 1).astype(np.float32)
        names = [self.concepts.get(w).name for w in asked]
        if words is not None:
            return _with_taught(vocab, scores, names, taught, shown_only=False)
        return _with_taught(vocab, scores, names, taught)


def _with_taught(vocab: list[str], scores: np.ndarray, names: list[str], taught: np.ndarray,
                 shown_only: bool = True) -> tuple[list[str], np.ndarray]:
    """Tag columns with the taught concepts' beside (a word taught over a tag replaces it); `shown_only`:
    a concept only where it is confident (0 elsewhere), and no column for one no photo is confident of."""
    if shown_only:
        taught = np.where(taught >= TEACH_CONFIDENT, np.round(taught, 4), 0).astype(np.float32)
        shown = np.flatnonzero(taught.max(0) > 0) if len(taught) else np.zeros(0, np.int64)
        taught, names = taught[:, shown], [names[i] for i in shown]
    keep = [i for i, w in enumerate(vocab) if w.lower() not in {n.lower() for n in names}]
    return [vocab[i] for i in keep] + names, np.hstack([np.asarray(scores)[:, keep], taught])
