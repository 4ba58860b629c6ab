"""Words read in photos, in search: a query word found in a photo's text ranks that photo first, and
`text:"RE16"` (or `text:RE16`) keeps only photos whose text contains it.

Matching is by substring on normalised text (store/photo_text.py: case, whitespace and the 0/O, 1/l/I, 5/S
confusions folded), so "re16" finds a plate read as "RE16 TGK" and "cafe" finds "CAFE PARIS". Photos whose
text holds more of the query's words come first; among equals, and for every photo without a match, the
visual ranking decides ("receipt coffee": receipts that say coffee, then other photos that say coffee,
then the visual results). A score is the visual score plus the share of the query's words the photo's
text holds. Where no photo's text matches (or the collection has no text), the result is exactly the
visual search's. A text match is a confident match; the others are flagged weak by the visual cut-off
(search/cutoff.py) on their visual scores.
"""

from __future__ import annotations

import math
import re
import sqlite3
from dataclasses import dataclass, replace

import numpy as np

from pixseek.errors import PixseekError
from pixseek.search.cutoff import drop_below
from pixseek.search.engine import Ranked, Ranking, Searcher
from pixseek.search.filters import Allowed
from pixseek.search.query import parse_query
from pixseek.search.ranker import part_scores
from pixseek.search.terms import MAX_WEIGHT, STOPWORDS, Query
from pixseek.store import photo_text
from pixseek.store.photo_text import StoredLine, normalise

_FILTER = re.compile(r'(?<!\S)text:(?:"([^"]*)"|(\S+))', re.IGNORECASE)
MIN_CHARS = 3  # query words shorter than this (after normalising) are not looked for in photo text


@dataclass
class TextQuery:
    rest: str  # the query without its text: filters, for the visual search
    required: list[str]  # text:"..." substrings every result's text must hold
    words: list[str]  # positive query words and phrases looked for in photo text


def split(query: str) -> TextQuery:
    """Take `text:"..."` filters out of a query; the remaining positive words are the ones matched in text."""
    if not isinstance(query, str):
        raise PixseekError("a query is text, e.g. 'dog beach'")
    required = [(m.group(1) if m.group(1) is not None else m.group(2)).strip() for m in _FILTER.finditer(query)]
    if any(len(normalise(r)) == 0 for r in required):
        raise PixseekError('text: needs something to look for, e.g. text:"RE16"')
    rest = " ".join(_FILTER.sub(" ", query).split())
    words = []
    if rest and rest.count('"') % 2 == 0:
        try:
            terms = parse_query(rest)
        except PixseekError:
            terms = []
        words = [t.text for t in terms if t.weight > 0 and len(normalise(t.text)) >= MIN_CHARS
                 and (t.phrase or t.text.lower() not in STOPWORDS)]
    return TextQuery(rest, required, list(dict.fromkeys(words)))


def search(db: sqlite3.Connection, searcher: Searcher, query: str, k: int = 10, bridge: str = "auto",
           allowed: Allowed | None = None, min_score: float | None = None, exact: bool = False) -> Ranking:
    """Searcher.search, with photo text blended in (see the module's docstring)."""
    tq = split(query)
    if not tq.required and (not tq.words or not photo_text.has_text(db)):
        return searcher.search(query, k, bridge=bridge, allowed=allowed, min_score=min_score, exact=exact)
    hits = {w: _by_content(photo_text.containing(db, w)) for w in tq.words}
    matched = {cid: sum(cid in h for h in hits.values()) for h in hits.values() for cid in h}
    only, found = None, []
    if tq.required:
        found = [_by_content(photo_text.containing(db, r)) for r in tq.required]
        only = set.intersection(*(set(f) for f in found))
        if allowed is not None:
            only = {c for c in only if allowed.keep(np.array([c], np.int64))[0]}
        matched = {c: matched.get(c, 0) + len(tq.required) for c in only}
    elif allowed is not None:
        matched = {c: m for c, m in matched.items() if allowed.keep(np.array([c], np.int64))[0]}
    if only is None and not matched:
        return searcher.search(query, k, bridge=bridge, allowed=allowed, min_score=min_score, exact=exact)
    exact = exact or any(hits.values())  # a word read in a photo is meant as typed: no spelling correction
    visual = _visual_query(searcher, tq.rest, exact)
    if only is not None:
        ranking = _ranked(searcher, visual, bridge, sorted(only), matched, len(tq.words) + len(tq.required), k,
                          min_score)
    else:
        base = (searcher.search(tq.rest, k, bridge=bridge, allowed=allowed, min_score=min_score, exact=exact) if visual
                else Ranking([]))
        extra = sorted(set(matched) - {r.id for r in base.hits})
        ranking = _ranked(searcher, visual, bridge, extra, matched, len(tq.words), k, min_score, base.hits)
    for r in ranking.hits:
        line = next((f[r.id] for f in [*found, *hits.values()] if r.id in f), None)
        if line is not None:
            r.text = {"matched": line.text, "box": list(line.box)}
    ranking.ignored = [i for i in (visual.ignored if visual else []) if not any(normalise(i.word) in normalise(w)
                                                                            for w in tq.words if hits[w])]
    ranking.terms = [t.text for t in visual.terms if t.weight > 0] if visual else []
    ranking.corrected = visual.corrected if visual else None
    return ranking


def _by_content(lines: list[StoredLine]) -> dict[int, StoredLine]:
    """content id -> its most confident matching line."""
    out: dict[int, StoredLine] = {}
    for line in lines:
        if line.content_id not in out or line.confidence > out[line.content_id].confidence:
            out[line.content_id] = line
    return out


def _visual_query(searcher: Searcher, rest: str, exact: bool = False) -> Query | None:
    """The resolved query for the visual part, or None when no word of it is known (a plate number alone)."""
    if not rest:
        return None
    try:
        return searcher.resolve(rest, exact)
    except PixseekError:
        terms = parse_query(rest)  # a malformed query is still the user's error
        if any(not math.isfinite(t.weight) or abs(t.weight) > MAX_WEIGHT for t in terms):
            raise
        return None


def _ranked(searcher: Searcher, visual: Query | None, bridge: str, ids: list[int], matched: dict[int, int],
            n_words: int, k: int, min_score: float | None, base: list[Ranked] | None = None) -> Ranking:
    """`base` (the visual results, already scored and tagged) and `ids` scored here, ordered by how many
    query words their text holds, then by visual score; text matches get the share of words as a bonus.
    The visual cut-off flags the others on their visual scores; min_score, when given, drops them."""
    arr = np.array(ids, np.int64)
    b = searcher.bridge(bridge)
    scores = _visual_scores(b, visual, arr) if visual is not None else np.zeros(len(arr))
    tags = b.explain(arr, visual) if visual is not None and len(arr) else [None] * len(arr)
    pool = [Ranked(int(i), float(s), t) for i, s, t in zip(arr, scores, tags) if math.isfinite(s)]
    pool += [replace(r) for r in base or []]
    if visual is not None:
        searcher.flag_weak(pool, b.name, visual)
    for r in pool:
        r.score += matched.get(r.id, 0) / max(1, n_words)
        r.weak = r.weak and not matched.get(r.id)
    cut = drop_below(min_score) if visual is not None else -math.inf
    pool = [r for r in pool if r.score >= cut or matched.get(r.id)]
    pool.sort(key=lambda r: (-matched.get(r.id, 0), -r.score, r.id))
    return Ranking(pool[:k])


def _visual_scores(bridge, query: Query, ids: np.ndarray) -> np.ndarray:
    """The ranker's score (ranker.py) of given ids: each part's soft AND, weighted and summed."""
    total = np.zeros(len(ids), np.float64)
    for p in bridge.parts(query):
        if p.weight > 0 and p.store is not None and any(u.weight > 0 for u in p.units) and len(ids):
            total += p.weight * part_scores(p, ids)
    return total
