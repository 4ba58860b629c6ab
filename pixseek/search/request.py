"""A search as asked (`SearchRequest`), and its text taken apart once (`parse_text`): the filters written
in the query (`place:"Rome"`, `text:"RE16"`), the rest as weighted terms, and the words to look for in
photo text. Every stage of search/pipeline.py reads this one parse; none parses the text again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pixseek.errors import PixseekError
from pixseek.lexicon.place_names import name_key
from pixseek.search.filter_options import Filters
from pixseek.search.query import Term, parse_query
from pixseek.search.taught import TaughtConcept
from pixseek.search.terms import STOPWORDS
from pixseek.store.photo_text import normalise

MIN_CHARS = 3  # query words shorter than this (after normalising) are not looked for in photo text
_PLACE = re.compile(r'(?<!\S)place:(?:"([^"]*)"|(\S+))', re.IGNORECASE)
_TEXT = re.compile(r'(?<!\S)text:(?:"([^"]*)"|(\S+))', re.IGNORECASE)


@dataclass(frozen=True)
class SearchRequest:
    """One search: words (may be empty with `feedback`), how many results, through which bridge, among which
    photos, how weak a result may be, and photos marked "more like this / not this" as a concept fitted on
    them (interfaces/teaching.py), whose marked photos (`exclude`) are not returned."""

    text: str = ""
    k: int = 10
    bridge: str = "auto"
    filters: Filters = field(default_factory=Filters)
    min_score: float | None = None
    exact: bool = False
    feedback: TaughtConcept | None = None
    exclude: frozenset[int] = frozenset()


@dataclass
class ParsedText:
    """A query's text without its place filter, parsed: `rest` (the text without `text:` filters) as
    `terms` (or the error parsing them raised, given when the terms are needed), the `required` text
    every result's photo text must hold, and the positive `words` and phrases looked for in photo text."""

    rest: str
    terms: list[Term] | None
    error: PixseekError | None
    required: list[str]
    words: list[str]

    def checked_terms(self) -> list[Term]:
        if self.error is not None:
            raise self.error
        return self.terms


def split_place(query: str) -> tuple[str, str | None]:
    """Take `place:"..."` filters out of a query: (the rest of it, the place, several joined by commas so
    that all must hold, or None). `dog place:"New York"` is `dog` with place="New York"."""
    if not isinstance(query, str):
        raise PixseekError("a query is text, e.g. 'dog beach'")
    found = [(m.group(1) if m.group(1) is not None else m.group(2)).strip() for m in _PLACE.finditer(query)]
    if not found:
        return query, None
    if not all(name_key(p) for p in found):
        raise PixseekError('place: needs a name, e.g. place:"New York" or place:Sweden')
    return " ".join(_PLACE.sub(" ", query).split()), ", ".join(found)


def parse_text(query: str) -> ParsedText:
    """Take `text:"..."` filters out of a query and parse the rest once (see ParsedText)."""
    if not isinstance(query, str):
        raise PixseekError("a query is text, e.g. 'dog beach'")
    required = [(m.group(1) if m.group(1) is not None else m.group(2)).strip() for m in _TEXT.finditer(query)]
    if any(len(normalise(r)) == 0 for r in required):
        raise PixseekError('text: needs something to look for, e.g. text:"RE16"')
    rest = " ".join(_TEXT.sub(" ", query).split()) if required else query
    terms, error = None, None
    if rest.strip():
        try:
            terms = parse_query(rest)
        except PixseekError as exc:
            error = exc
    words = [t.text for t in terms or [] if t.weight > 0 and len(normalise(t.text)) >= MIN_CHARS
             and (t.phrase or t.text.lower() not in STOPWORDS)]
    return ParsedText(rest.strip() and rest, terms, error, required, list(dict.fromkeys(words)))
