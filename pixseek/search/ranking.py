"""What a search returns: ranked content ids with their scores, tags, matched photo text and weak flags,
and what the query left out or corrected. Content ids only: mapping them to paths is the caller's job."""

from __future__ import annotations

from dataclasses import dataclass, field

from pixseek.search.terms import Ignored


@dataclass
class Ranked:
    id: int
    score: float
    tags: list[str] | None = None
    text: dict | None = None  # the photo text that matched, {"matched", "box"} (search/photo_text_fusion.py)
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
