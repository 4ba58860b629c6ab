"""From a typed query to what the bridges search with: content terms, sentence pieces, and what was ignored.

A query never fails on one word nobody knows: such a word is dropped with a notice (and a suggestion
when it looks like a misspelling, "dgo" -> "dog"); stopwords ("the", "in") are not terms of their own
but stay inside the sentence a sentence encoder reads. Only a query with nothing known left is an error,
and so is a weight beyond +-MAX_WEIGHT (a huge one made every score NaN or -inf).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from pixseek.errors import PixseekError
from pixseek.search.query import Term, parse_query

STOPWORDS = frozenset("""
a an the and or but nor of in on at to into onto with without by for from as is are was were be been being
am do does did has have had having this that these those there here it its it's their his her they them he she
we you i me my our your while during over under near some any each very just than then so not no up down off out
""".split())

_LETTERS = "abcdefghijklmnopqrstuvwxyz"
MAX_WEIGHT = 100.0  # |W| in W:term; far more than any ranking needs, far from float32 overflow


@dataclass(frozen=True)
class Ignored:
    word: str
    suggestion: str | None = None

    def to_dict(self) -> dict:
        return {"word": self.word, "suggestion": self.suggestion}

    def message(self) -> str:
        hint = f" (did you mean {self.suggestion!r}?)" if self.suggestion else ""
        return f"ignored unknown word {self.word!r}{hint}"


@dataclass
class Query:
    text: str
    terms: list[Term]  # content terms: stopwords and unknown words removed
    phrases: list[Term]  # for sentence encoders: runs of plain positive words kept together, stopwords included
    ignored: list[Ignored]

    def positive(self) -> list[Term]:
        return [t for t in self.terms if t.weight > 0]


def resolve(text: str, known: Callable[[str], bool], suggest: Callable[[str], str | None] | None = None) -> Query:
    """Parse `text` and drop what no bridge can place. Raises PixseekError only when nothing is left."""
    parsed = parse_query(text)
    for t in parsed:
        if not math.isfinite(t.weight) or abs(t.weight) > MAX_WEIGHT:
            shown = f"{t.weight:g}" if math.isfinite(t.weight) else "too large"
            raise PixseekError(f"weight of {t.text!r} is {shown}: weights go from -{MAX_WEIGHT:g} to {MAX_WEIGHT:g}")
    ignored: list[Ignored] = []
    kept: list[Term | None] = []
    for t in parsed:
        if t.text.lower() in STOPWORDS and not t.phrase:
            kept.append(t)
        elif known(t.text):
            kept.append(t)
        else:
            ignored.append(Ignored(t.text, suggest(t.text) if suggest and not t.phrase else None))
            kept.append(None)
    terms = [t for t in kept if t is not None and (t.phrase or t.text.lower() not in STOPWORDS)]
    phrases: list[Term] = []
    run: list[str] = []
    for t in kept + [None]:
        plain = t is not None and t.weight == 1.0 and not t.phrase
        if plain:
            run.append(t.text)
            continue
        if run and any(w.lower() not in STOPWORDS for w in run):
            phrases.append(Term(" ".join(run)))
        run = []
        if t is not None and (t.phrase or t.text.lower() not in STOPWORDS):
            phrases.append(t)
    if not any(t.weight > 0 for t in terms):
        if ignored:
            raise PixseekError("; ".join(i.message() for i in ignored) + ": nothing left to search for")
        raise PixseekError(f"nothing to search for in {text!r}: give a word that names something, e.g. 'dog beach'")
    return Query(text, terms, phrases, ignored)


def suggester(vocabulary: list[str], top: int = 60000) -> Callable[[str], str | None]:
    """A likely intended word for an unknown one, from a frequency-ordered vocabulary (GloVe's is): the most
    frequent word one swap of neighbours away ("dgo" -> "dog"), else one edit away ("kitchn" -> "kitchen"),
    else two known words run together ("corndogs" -> "corn dogs"), else two edits. Never a stopword."""
    rank = {w: i for i, w in enumerate(vocabulary[:top]) if w.isalpha() and w not in STOPWORDS}

    def best(candidates) -> str | None:
        found = [c for c in candidates if c in rank]
        return min(found, key=rank.__getitem__) if found else None

    def suggest(word: str) -> str | None:
        word = word.lower().strip()
        if not word.isalpha() or len(word) < 3:
            return None
        swaps = {word[:i] + word[i + 1] + word[i] + word[i + 2:] for i in range(len(word) - 1)} - {word}
        one = _edits(word)
        found = best(swaps) or best(one)
        if found:
            return found
        halves = [(word[:i], word[i:]) for i in range(3, len(word) - 2)]
        split = [(a, b) for a, b in halves if a in rank and b in rank]
        if split:
            return " ".join(min(split, key=lambda ab: max(rank[ab[0]], rank[ab[1]])))
        return best({e2 for e1 in one for e2 in _edits(e1)}) if len(word) <= 10 else None

    return suggest


def _edits(word: str) -> set[str]:
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = [a + b[1:] for a, b in splits if b]
    swaps = [a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1]
    replaces = [a + c + b[1:] for a, b in splits if b for c in _LETTERS]
    inserts = [a + c + b for a, b in splits for c in _LETTERS]
    return set(deletes + swaps + replaces + inserts) - {word}
