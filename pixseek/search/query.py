"""The query language: `dog beach`, `dog -grass`, `2:sunset`, `"golden retriever" -0.5:snow`.

A query is a list of weighted terms. Terms add their meanings; a leading `-` makes the weight
negative; `W:term` sets the weight; quotes keep a phrase together as one term.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pixseek.errors import PixseekError

_TOKEN = re.compile(r'(-?)(?:(\d+(?:\.\d+)?|\.\d+):)?(?:"([^"]*)"|(\S+))')
MAX_TERMS = 128  # words, stopwords included: a long caption must still work


@dataclass(frozen=True)
class Term:
    text: str
    weight: float = 1.0
    phrase: bool = False  # came in quotes


def parse_query(query: str) -> list[Term]:
    """Split a query into weighted terms. Raises PixseekError on an empty or malformed query."""
    if not isinstance(query, str) or not query.strip():
        raise PixseekError("empty query: give one or more words, e.g. 'dog beach' or 'dog -grass'")
    if query.count('"') % 2:
        raise PixseekError('unbalanced quote in query: close the phrase with "')
    terms = []
    for m in _TOKEN.finditer(query):
        neg, weight, phrase, word = m.groups()
        text = (phrase if phrase is not None else word).strip()
        if phrase is None:
            text = text.strip(".,;!?()[]{}'")
        if not text:
            continue
        w = float(weight) if weight else 1.0
        terms.append(Term(text, -w if neg else w, phrase is not None))
    if not terms:
        raise PixseekError(f"no words in query {query!r}")
    if len(terms) > MAX_TERMS:
        raise PixseekError(f"too many terms ({len(terms)}); at most {MAX_TERMS}")
    if all(t.weight <= 0 for t in terms):
        raise PixseekError("a query needs at least one positive term; '-word' only pushes results away")
    return terms
