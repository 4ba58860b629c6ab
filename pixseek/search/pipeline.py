"""A text query's path from request to ranked ids, as named stages (docs/query-flow.md):

    people   `Anna beach`, `-Ben`, `person:3`: the photos of everyone named and none left out, ranked by
             the rest of the query (search/person_words.py)
    places   `place:"Rome"` joins the filters; "beach Croatia" is two searches, the place's first
    parse    the text taken apart once (search/request.py): `text:` filters, weighted terms, text words
    restrict the filters resolved into the ids a search may return (search/filters.py)
    read     the query's words looked up in photo text (search/photo_text_fusion.py)
    resolve  unknown words dropped or corrected (search/terms.py)
    parts    the bridge's scored parts, and a taught concept's for marked photos (search/bridges/)
    rank     one ranker for every bridge, over stores restricted to the allowed ids (search/ranker.py)
    explain  each hit's few tags (the bridge)
    cut-off  hits below where confident matches end flagged weak, min_score applied (search/cutoff.py)
    fuse     photo-text matches first (search/photo_text_fusion.py)

`Pipeline` is the Searcher's half that runs them (search/engine.py holds the other: bridges, word
knowledge, similar-image search and tagging); each stage is a method with one job, testable alone.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from pixseek.errors import PixseekError
from pixseek.search import photo_text_fusion
from pixseek.search.bridges import Bridge
from pixseek.search.bridges.base import Part
from pixseek.search.cutoff import drop_below
from pixseek.search.filter_options import Filters
from pixseek.search.person_words import PeopleInQuery
from pixseek.search.photo_text_fusion import TextMatches
from pixseek.search.ranker import part_scores, rank
from pixseek.search.ranking import Ranked, Ranking
from pixseek.search.request import ParsedText, SearchRequest, parse_text, split_place
from pixseek.search.taught import TaughtConcept, head_parts
from pixseek.search.terms import MAX_WEIGHT, Query
from pixseek.store.allowed import Allowed
from pixseek.store.restricted import restrict

CANDIDATES = 1000  # each positive unit's shortlist in a multi-part ranking (search/ranker.py)


class Pipeline:
    """search(request) over the Searcher's bridges and sources; see the module docstring."""

    def search(self, request: SearchRequest) -> Ranking:
        """The k best images for a request (`dog beach`, `dog -grass`, `2:sunset`, a sentence, `text:"RE16"`,
        `place:Rome`) through its bridge, among the photos its filters allow, the weaker ones flagged;
        below min_score, when given, left out. A misspelt word is corrected when sure (`Ranking.corrected`),
        unless `exact`."""
        text, inline = split_place(request.text)
        filters = request.filters if inline is None else \
            replace(request.filters, place=inline if request.filters.place is None else f"{request.filters.place}, {inline}")
        if request.feedback is not None:
            return self.ranked(request, text, filters)
        named_people = self.sources.people_in_query(text)
        if named_people is not None:
            return self.with_people(request, named_people, filters)
        if inline is not None and not text:
            return self.at_place(request.k, filters)
        named = self.sources.place_in_query(text) if filters.place is None else None
        if named is None:
            return self.ranked(request, text, filters)
        rest, name = named  # "beach Croatia": beaches in Croatia first (search/place_words.py)
        there = replace(filters, place=name)
        first = self.ranked(request, rest, there) if rest else self.at_place(request.k, there)
        then = self.ranked(request, text, filters)
        seen = {h.id for h in first.hits}
        return replace(then, hits=(first.hits + [h for h in then.hits if h.id not in seen])[:request.k])

    def at_place(self, k: int, filters: Filters) -> Ranking:
        """A place alone: its photos, in index order."""
        allow = self.sources.allowed(filters)
        ids = allow.ids if allow is not None else self.sources.live_ids()
        return Ranking([Ranked(int(i), 1.0) for i in ids[:k]])

    def with_people(self, request: SearchRequest, named: PeopleInQuery, filters: Filters) -> Ranking:
        """The photos of everyone named and none of those left out, ranked by the rest of the query; with
        nothing else asked, the first person's most typical face first (or, only people left out, index order)."""
        allow = self.sources.allowed(filters)
        if allow is not None:
            mask = allow.mask.copy()
        else:
            live = self.sources.live_ids()
            mask = np.zeros(int(live.max()) + 1 if len(live) else 0, bool)
            mask[live] = True
        every = np.arange(len(mask))
        for person in named.include:
            mask &= np.isin(every, self.sources.photos_of(person))
        for person in named.exclude:
            mask &= ~np.isin(every, self.sources.photos_of(person))
        if named.rest.strip():
            return self.ranked(request, named.rest, filters, Allowed(mask))
        if not named.include:
            return Ranking([Ranked(int(i), 1.0) for i in np.flatnonzero(mask)[:request.k]])
        return Ranking([Ranked(cid, score) for cid, score in self.sources.typical_photos(named.include[0], mask, request.k)])

    def ranked(self, request: SearchRequest, text: str, filters: Filters, only: Allowed | None = None) -> Ranking:
        """One search, people and place words settled: the stages from parse to fuse (`only`: the photos
        the people named leave, in place of the filters' own)."""
        allow = only if only is not None else self.sources.allowed(filters)
        parsed = parse_text(text)
        matches = None if request.feedback is not None else photo_text_fusion.read(self.sources.text, parsed, allow)
        exact = request.exact or (matches is not None and matches.any_word)
        query = self.resolve_stage(parsed, text, exact, request.feedback, visual_only=matches is not None)
        bridge = self.bridge(request.bridge)
        parts = self.parts_stage(bridge, query, request.feedback)
        k = request.k + len(request.exclude)
        cut = drop_below(request.min_score)
        ranks = query is not None and (matches is None or matches.only is None)  # `text:` alone: its photos only
        found = [(i, s) for i, s in rank(restricted(parts, allow), k, CANDIDATES) if s >= cut] if ranks else []
        hits = self.explain_stage(bridge, found, query)
        if matches is None:
            self.flag_weak(hits, self.flag_name(bridge, query, request.feedback), query if query.text.strip() else None)
            hits = [h for h in hits if h.id not in request.exclude][:request.k]
            return Ranking(hits, query.ignored, [t.text for t in query.terms if t.weight > 0], query.corrected)
        return self.fuse_stage(bridge, query, parts, hits, matches, request)

    def resolve_stage(self, parsed: ParsedText, text: str, exact: bool, feedback: TaughtConcept | None,
                      visual_only: bool) -> Query | None:
        """The query's terms; for a search fused with photo text, None when no word of it is known (a plate
        number alone), else the visual part of it."""
        if visual_only:
            if not parsed.rest:
                return None
            try:
                return self.resolve(parsed.rest, exact, parsed.checked_terms())
            except PixseekError:
                if any(not math.isfinite(t.weight) or abs(t.weight) > MAX_WEIGHT for t in parsed.checked_terms()):
                    raise  # a malformed query is still the user's error
                return None
        if text.strip() or feedback is None:
            return self.resolve(text, exact, parsed.terms)
        return Query("", [], [], [])

    def parts_stage(self, bridge: Bridge, query: Query | None, feedback: TaughtConcept | None) -> list[Part]:
        parts = bridge.parts(query) if query is not None and query.terms else []
        if feedback is not None:
            parts += head_parts([(feedback, 1.0)], self.spaces())
        return parts

    def explain_stage(self, bridge: Bridge, found: list[tuple[int, float]], query: Query | None) -> list[Ranked]:
        ids = np.array([i for i, _ in found], np.int64)
        tags = bridge.explain(ids, query) if query is not None and query.terms and len(ids) else [None] * len(found)
        return [Ranked(i, s, t) for (i, s), t in zip(found, tags)]

    def fuse_stage(self, bridge: Bridge, query: Query | None, parts: list[Part], hits: list[Ranked],
                   matches: TextMatches, request: SearchRequest) -> Ranking:
        """The visual hits and the photos whose text matched (scored on the same parts), text matches first."""
        base = {h.id for h in hits}
        extra = np.array(sorted(set(matches.only if matches.only is not None else matches.matched) - base), np.int64)
        scores = visual_scores(parts, extra) if query is not None else np.zeros(len(extra))
        pool = photo_text_fusion.finite(self.explain_stage(bridge, list(zip(extra.tolist(), scores.tolist())), query))
        pool += hits
        if query is not None:
            self.flag_weak(pool, bridge.name, query)
        cut = drop_below(request.min_score) if query is not None else -math.inf
        fused = photo_text_fusion.fuse(pool, matches, request.k, cut)
        if query is None:
            return Ranking(fused)
        return Ranking(fused, photo_text_fusion.unread(query.ignored, matches),
                       [t.text for t in query.terms if t.weight > 0], query.corrected)


def restricted(parts: list[Part], allow: Allowed | None) -> list[Part]:
    return parts if allow is None else [replace(p, store=restrict(p.store, allow)) for p in parts]


def visual_scores(parts: list[Part], ids: np.ndarray) -> np.ndarray:
    """The ranker's score (ranker.py) of given ids: each part's soft AND, weighted and summed."""
    total = np.zeros(len(ids), np.float64)
    for p in parts:
        if p.weight > 0 and p.store is not None and any(u.weight > 0 for u in p.units) and len(ids):
            total += p.weight * part_scores(p, ids)
    return total
