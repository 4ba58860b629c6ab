"""Words read in photos, fused into a search: a query word found in a photo's text ranks that photo first,
and `text:"RE16"` (or `text:RE16`) keeps only photos whose text contains it.

Matching is by substring on normalised text (store/photo_text.py: case, whitespace and the 0/O, 1/l/I, 5/S
confusions folded), so "re16" finds a plate read as "RE16 TGK" and "cafe" finds "CAFE PARIS". Photos whose
text holds more of the query's words come first; among equals, and for every photo without a match, the
visual ranking decides ("receipt coffee": receipts that say coffee, then other photos that say coffee,
then the visual results). A score is the visual score plus the share of the query's words the photo's
text holds. Where no photo's text matches (or the collection has no text), the result is exactly the
visual search's. A text match is a confident match; the others are flagged weak by the visual cut-off
(search/cutoff.py) on their visual scores.

Two steps of the query pipeline (search/pipeline.py): `read` looks the words up before the query is
resolved (a word read in a photo is meant as typed: no spelling correction), `fuse` merges the matches
into the visual ranking.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from pixseek.search.ranking import Ranked
from pixseek.search.request import ParsedText
from pixseek.store.allowed import Allowed
from pixseek.store.photo_text import StoredLine, normalise


class PhotoText(Protocol):
    """The text read in a collection's photos, as search reads it (store/photo_text.py)."""

    def has_text(self) -> bool: ...

    def containing(self, needle: str) -> list[StoredLine]: ...


@dataclass
class TextMatches:
    """What the photo text holds for a query: per word, the photos whose text has it (their best line);
    `only`: the photos holding every `text:` requirement (None without one); `matched`: photo -> how many
    of the query's words and requirements its text holds."""

    by_word: dict[str, dict[int, StoredLine]]
    found: list[dict[int, StoredLine]]
    only: set[int] | None
    matched: dict[int, int]
    n_words: int

    @property
    def any_word(self) -> bool:
        return any(self.by_word.values())

    def line(self, cid: int) -> StoredLine | None:
        return next((f[cid] for f in [*self.found, *self.by_word.values()] if cid in f), None)


def read(text: PhotoText, parsed: ParsedText, allow: Allowed | None) -> TextMatches | None:
    """The photo text matches of a query, or None when they change nothing (no requirement, and no word
    of the query is in any photo's text): then the search is the visual one alone."""
    if not parsed.required and (not parsed.words or not text.has_text()):
        return None
    by_word = {w: _by_content(text.containing(w)) for w in parsed.words}
    matched = {cid: sum(cid in h for h in by_word.values()) for h in by_word.values() for cid in h}
    only, found = None, []
    if parsed.required:
        found = [_by_content(text.containing(r)) for r in parsed.required]
        only = set.intersection(*(set(f) for f in found))
        if allow is not None:
            only = {c for c in only if allow.keep(np.array([c], np.int64))[0]}
        matched = {c: matched.get(c, 0) + len(parsed.required) for c in only}
    elif allow is not None:
        matched = {c: m for c, m in matched.items() if allow.keep(np.array([c], np.int64))[0]}
    if only is None and not matched:
        return None
    n_words = len(parsed.words) + (len(parsed.required) if only is not None else 0)
    return TextMatches(by_word, found, only, matched, n_words)


def fuse(pool: list[Ranked], matches: TextMatches, k: int, cut: float) -> list[Ranked]:
    """The visual pool (scored, tagged and flagged) with the text matches first: each match gets the share
    of words its text holds as a bonus and is confident; the rest below `cut` (a min_score) are left out."""
    for r in pool:
        r.score += matches.matched.get(r.id, 0) / max(1, matches.n_words)
        r.weak = r.weak and not matches.matched.get(r.id)
    pool = [r for r in pool if r.score >= cut or matches.matched.get(r.id)]
    pool.sort(key=lambda r: (-matches.matched.get(r.id, 0), -r.score, r.id))
    pool = pool[:k]
    for r in pool:
        line = matches.line(r.id)
        if line is not None:
            r.text = {"matched": line.text, "box": list(line.box)}
    return pool


def unread(ignored: list, matches: TextMatches) -> list:
    """The words the query left out, less those read in some photo (they were searched after all)."""
    return [i for i in ignored if not any(normalise(i.word) in normalise(w) for w, h in matches.by_word.items() if h)]


def finite(ranked: list[Ranked]) -> list[Ranked]:
    return [r for r in ranked if math.isfinite(r.score)]


def _by_content(lines: list[StoredLine]) -> dict[int, StoredLine]:
    """content id -> its most confident matching line."""
    out: dict[int, StoredLine] = {}
    for line in lines:
        if line.content_id not in out or line.confidence > out[line.content_id].confidence:
            out[line.content_id] = line
    return out
