"""From a typed query to what the bridges search with: content terms, sentence pieces, and what was ignored.

A query never fails on one word nobody knows: a misspelling with one confident correction is searched as
corrected and said so ("dgo" -> "showing results for dog"; `exact` searches as typed), any other unknown
word is dropped with a notice (and a suggestion when it has one, "did you mean ..."); stopwords ("the",
"in") are not terms of their own but stay inside the sentence a sentence encoder reads. Only a query
with nothing known left is an error, and so is a weight beyond +-MAX_WEIGHT (a huge one made every score NaN or -inf).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace

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
    corrected: str | None = None  # the query as searched, when a misspelt word was corrected ("dgo" -> "dog")
    kind: str = "keyword"  # or "sentence": which cut-off scale its scores are read on (terms_kind)

    def positive(self) -> list[Term]:
        return [t for t in self.terms if t.weight > 0]


def terms_kind(terms: list[Term]) -> str:
    """"sentence" when a query reads as one (a stopword among its words, or three or more unquoted words:
    "a dog on the beach"), else "keyword" ("dog beach", '"golden retriever"')."""
    plain = [t for t in terms if not t.phrase]
    return "sentence" if len(plain) >= 3 or any(t.text.lower() in STOPWORDS for t in plain) else "keyword"


def resolve(text: str, known: Callable[[str], bool], suggest: Callable[[str], str | None] | None = None,
            correct: Callable[[str, bool], str | None] | None = None, parsed: list[Term] | None = None) -> Query:
    """Drop from `text` (`parsed`: its terms, when the caller parsed it already) what no bridge can place.
    Raises PixseekError only when nothing is left. `correct(word, alone)`: a confident correction of an
    unknown word (`alone`: the query's only content word), searched in its place; None, or no `correct`,
    leaves the word out with a suggestion."""
    parsed = parse_query(text) if parsed is None else parsed
    for t in parsed:
        if not math.isfinite(t.weight) or abs(t.weight) > MAX_WEIGHT:
            shown = f"{t.weight:g}" if math.isfinite(t.weight) else "too large"
            raise PixseekError(f"weight of {t.text!r} is {shown}: weights go from -{MAX_WEIGHT:g} to {MAX_WEIGHT:g}")
    ignored: list[Ignored] = []
    kept: list[Term | None] = []
    fixed: dict[str, str] = {}
    alone = sum(t.phrase or t.text.lower() not in STOPWORDS for t in parsed) == 1
    for t in parsed:
        if t.text.lower() in STOPWORDS and not t.phrase:
            kept.append(t)
        elif known(t.text):
            kept.append(t)
        elif correct is not None and not t.phrase and (fix := correct(t.text, alone)) and known(fix):
            fixed[t.text] = fix
            kept.append(replace(t, text=fix))
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
    return Query(text, terms, phrases, ignored, _corrected(text, fixed) if fixed else None, terms_kind(parsed))


def _corrected(text: str, fixed: dict[str, str]) -> str:
    """The query as searched: each corrected word replaced where it was typed."""
    for word, fix in fixed.items():
        text = re.sub(rf"(?<![\w]){re.escape(word)}(?![\w])", fix, text)
    return text


def suggester(vocabulary: list[str], top: int = 60000) -> Suggester:
    """Spelling suggestions from a frequency-ordered vocabulary (GloVe's is); see Suggester."""
    return Suggester(vocabulary, top)


class Suggester:
    """A likely intended word for an unknown one: the most frequent word one swap of neighbours away
    ("dgo" -> "dog"), else one edit away ("kitchn" -> "kitchen"), else two known words run together
    ("corndogs" -> "corn dogs"), else two edits. Never a stopword. `correction` says when one is sure
    enough to search in the word's place."""

    RIVAL = 5  # a suggestion is confident when the next candidate of its kind is this many times rarer

    def __init__(self, vocabulary: list[str], top: int = 60000) -> None:
        self.rank = {w: i for i, w in enumerate(vocabulary[:top]) if w.isalpha() and w not in STOPWORDS}

    def __call__(self, word: str) -> str | None:
        return self.candidates(word)[0]

    def correction(self, word: str, alone: bool = False) -> str | None:
        """The suggestion to search instead of `word`, or None. Sure: a single word one edit away (a swap
        counts as one) that is the only candidate of its kind or far more frequent than the next (a Zipf
        rank RIVAL times lower: "brige" -> "bridge", not "bech" -> "beach" or "tech"). A query with no
        other content word (`alone`: else it could only fail) takes the best single-word suggestion."""
        best, rival = self.candidates(word)
        if best is None or " " in best:
            return None
        if alone:
            return best
        if best not in _edits(word.lower().strip()):
            return None
        if rival is None or self.rank[rival] + 1 >= self.RIVAL * (self.rank[best] + 1):
            return best
        return None

    def candidates(self, word: str) -> tuple[str | None, str | None]:
        """(best suggestion, the runner-up of the same kind or None)."""
        word = word.lower().strip()
        if not word.isalpha() or len(word) < 3:
            return None, None
        one = _edits(word)
        for tier in (self._swaps(word), one):
            found = self._ordered(tier)
            if found:
                return found[0], found[1] if len(found) > 1 else None
        halves = [(word[:i], word[i:]) for i in range(3, len(word) - 2)]
        split = [(a, b) for a, b in halves if a in self.rank and b in self.rank]
        if split:
            return " ".join(min(split, key=lambda ab: max(self.rank[ab[0]], self.rank[ab[1]]))), None
        if len(word) > 10:
            return None, None
        found = self._ordered({e2 for e1 in one for e2 in _edits(e1)})
        return (found[0], found[1] if len(found) > 1 else None) if found else (None, None)

    @staticmethod
    def _swaps(word: str) -> set[str]:
        return {word[:i] + word[i + 1] + word[i] + word[i + 2:] for i in range(len(word) - 1)} - {word}

    def _ordered(self, candidates: set[str]) -> list[str]:
        return sorted((c for c in candidates if c in self.rank), key=self.rank.__getitem__)[:2]


def _edits(word: str) -> set[str]:
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = [a + b[1:] for a, b in splits if b]
    swaps = [a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1]
    replaces = [a + c + b[1:] for a, b in splits if b for c in _LETTERS]
    inserts = [a + c + b for a, b in splits for c in _LETTERS]
    return set(deletes + swaps + replaces + inserts) - {word}
