"""When a tag counts as right: the one rule that fits tag calibration and measures tag precision.

Against captions (Flickr8k): a tag is right when any of its accepted words appears in any of the photo's
captions. Its accepted words are the tag itself, the lemmas (synonyms) of its first WordNet noun sense, and the
lemmas of that sense's hypernyms at most HYPERNYM_STEPS steps up, which reaches the everyday (basic-level) word
of ImageNet's fine names ("golden retriever" -> retriever, sporting dog, hunting dog, dog; "tabby" -> domestic
cat, cat). Caption words are lowercased letters runs, each also in its singular form (WordNet's exceptions and
plural endings: "dogs" -> dog, "men" -> man), and two- and three-word runs for multi-word lemmas ("ice cream").

Against a class (Tiny ImageNet): right when the tag's first noun sense is the class or any hypernym of it, or
the tag is one of the class's lemmas.
"""

from __future__ import annotations

import re
from functools import lru_cache

from pixseek.lexicon.wordnet import _SUFFIXES, WordNet

HYPERNYM_STEPS = 4
_WORD = re.compile(r"[a-z]+")


class TagTruth:
    def __init__(self, wordnet: WordNet) -> None:
        self.wordnet = wordnet
        self.accepted = lru_cache(maxsize=None)(self._accepted)

    def singular(self, word: str) -> str:
        base = self.wordnet.exceptions.get(word)
        if base:
            return base
        if word in self.wordnet.index:
            return word
        return next((word[: -len(a)] + b for a, b in _SUFFIXES
                     if word.endswith(a) and word[: -len(a)] + b in self.wordnet.index), word)

    def caption_words(self, captions: list[str]) -> set[str]:
        """Every word and two- and three-word run of the captions, singular too, joined with "_"."""
        out: set[str] = set()
        for caption in captions:
            raw = _WORD.findall(caption.lower())
            for words in (raw, [self.singular(w) for w in raw]):
                out.update(words)
                for n in (2, 3):
                    out.update("_".join(words[i:i + n]) for i in range(len(words) - n + 1))
        return out

    def first_sense(self, tag: str) -> str | None:
        senses = self.wordnet.synsets(tag)
        return senses[0] if senses else None

    def _accepted(self, tag: str) -> frozenset[str]:
        key = "_".join(tag.lower().replace("-", " ").split())
        out = {key}
        sense = self.first_sense(tag)
        if sense is not None:
            level, seen = [sense], {sense}
            for _ in range(HYPERNYM_STEPS + 1):
                for s in level:
                    out.update(lemma.lower() for lemma in self.wordnet.lemmas.get(s, []))
                level = [p for s in level for p in self.wordnet.hypernyms.get(s, []) if p not in seen]
                seen.update(level)
        return frozenset(out)

    def right_by_captions(self, tag: str, caption_words: set[str]) -> bool:
        return not self.accepted(tag).isdisjoint(caption_words)

    def right_by_class(self, tag: str, wnid: str) -> bool:
        key = "_".join(tag.lower().split())
        if key in (lemma.lower() for lemma in self.wordnet.lemmas.get(wnid, [])):
            return True
        sense = self.first_sense(tag)
        return sense is not None and (sense == wnid or sense in self.wordnet.ancestors(wnid))
