"""WordNet 3.0 nouns, read straight from the Princeton data files (Debian `wordnet-base`).

Noun synset offsets are ImageNet wnids ("n" + 8-digit offset), so WordNet tells which ImageNet
classes a broader word covers: "vehicle" reaches fire engine, tractor and canoe. No NLTK needed.

Two ways in: `load_wordnet()` gives the tables as dicts (parsed once, then cached with marshal; ~0.2 s
to load), for code that walks all of WordNet (datasets, training); `open_wordnet()` gives the same
tables as read-only views of a SQLite cache (lexicon/word_cache.py; ~1 ms to open, a few µs per
lookup), for queries, which touch a few hundred synsets: a cold `pixseek search` pays only for those.
"""

from __future__ import annotations

import gc
import marshal
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from pixseek.atomic import atomic_write
from pixseek.config import cache_dir, wordnet_candidates
from pixseek.lexicon import word_cache

SEARCH_PATHS = ("/usr/share/wordnet", "/usr/local/share/wordnet", "/usr/share/WordNet-3.0/dict")
_SUFFIXES = (("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"),
             ("men", "man"), ("ies", "y"), ("s", ""))


@dataclass
class WordNet:
    lemmas: Mapping[str, list[str]]  # wnid -> lemma names ("hot_dog" style)
    hypernyms: Mapping[str, list[str]]  # wnid -> parent wnids (class and instance hypernyms)
    index: Mapping[str, list[str]]  # lemma (lowercase, underscores) -> wnids, most frequent sense first
    exceptions: Mapping[str, str]  # irregular plural -> singular
    _children: Mapping[str, list[str]] = field(default_factory=dict, repr=False)  # derived if empty
    _below: Callable[[str], set[str]] | None = field(default=None, repr=False)  # a faster descendants()
    _lemmas_of: Callable[[list[str]], dict[str, list[str]]] | None = field(default=None, repr=False)  # many at once

    def synsets(self, word: str) -> list[str]:
        """Noun senses of a word or phrase, trying its singular form too ("geese" -> "goose")."""
        key = "_".join(word.lower().split())
        if key in self.index:
            return self.index[key]
        if key.replace("-", "_") in self.index:
            return self.index[key.replace("-", "_")]
        base = self.exceptions.get(key) or next(
            (key[: -len(a)] + b for a, b in _SUFFIXES if key.endswith(a) and key[: -len(a)] + b in self.index), None
        )
        return self.index.get(base, []) if base else []

    def children(self, wnid: str) -> list[str]:
        if isinstance(self._children, dict) and not self._children:
            for child, parents in self.hypernyms.items():
                for p in parents:
                    self._children.setdefault(p, []).append(child)
        return self._children.get(wnid) or []

    def descendants(self, wnid: str) -> set[str]:
        """The synset and everything below it."""
        if self._below is not None:
            return self._below(wnid)
        seen, stack = {wnid}, [wnid]
        while stack:
            for c in self.children(stack.pop()):
                if c not in seen:
                    seen.add(c)
                    stack.append(c)
        return seen

    def ancestors(self, wnid: str) -> list[str]:
        """Hypernym closure, nearest first."""
        out, frontier, seen = [], [wnid], {wnid}
        while frontier:
            nxt = []
            for w in frontier:
                for p in self.hypernyms.get(w, []):
                    if p not in seen:
                        seen.add(p)
                        out.append(p)
                        nxt.append(p)
            frontier = nxt
        return out

    def depth(self, wnid: str) -> int:
        """Shortest number of hypernym steps up to a root ("entity" is 0)."""
        level, frontier, seen = 0, [wnid], {wnid}
        while frontier:
            if any(not self.hypernyms.get(w) for w in frontier):
                return level
            frontier = [p for w in frontier for p in self.hypernyms[w] if p not in seen]
            seen.update(frontier)
            level += 1
        return level

    def lemmas_of(self, wnids: list[str]) -> dict[str, list[str]]:
        """{wnid: lemmas} of the ids WordNet has, looked up together (a classifier's 1,000 classes)."""
        if self._lemmas_of is not None:
            return self._lemmas_of(wnids)
        return {w: self.lemmas[w] for w in wnids if w in self.lemmas}

    def name(self, wnid: str) -> str:
        return self.lemmas[wnid][0].replace("_", " ") if wnid in self.lemmas else wnid


def find_wordnet_dir() -> Path | None:
    candidates = wordnet_candidates() + list(SEARCH_PATHS)
    for c in candidates:
        if c and (Path(c) / "data.noun").is_file():
            return Path(c)
    return None


def parse(folder: Path) -> WordNet:
    lemmas: dict[str, list[str]] = {}
    hypernyms: dict[str, list[str]] = {}
    with open(folder / "data.noun", encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("  "):
                continue  # licence header
            parts = line.split(" | ", 1)[0].split()
            wnid = "n" + parts[0]
            n_words = int(parts[3], 16)
            words = [parts[4 + 2 * i] for i in range(n_words)]
            lemmas[wnid] = [_clean_lemma(w) for w in words]
            pos = 4 + 2 * n_words
            n_ptr = int(parts[pos])
            ptrs = parts[pos + 1 : pos + 1 + 4 * n_ptr]
            hypernyms[wnid] = ["n" + ptrs[i + 1] for i in range(0, len(ptrs), 4) if ptrs[i] in ("@", "@i") and ptrs[i + 2] == "n"]
    index: dict[str, list[str]] = {}
    with open(folder / "index.noun", encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("  "):
                continue
            parts = line.split()
            n_senses, n_ptr = int(parts[2]), int(parts[3])
            offsets = parts[4 + n_ptr + 2 :]
            index[parts[0].lower()] = ["n" + o for o in offsets[:n_senses]]
    exceptions = {}
    exc = folder / "noun.exc"
    if exc.is_file():
        for line in exc.read_text(encoding="utf-8", errors="replace").splitlines():
            bits = line.split()
            if len(bits) >= 2:
                exceptions[bits[0]] = bits[1]
    return WordNet(lemmas, hypernyms, index, exceptions)


def _clean_lemma(word: str) -> str:
    return word.split("(")[0]  # adjective markers like "(p)" appear on some lemmas


@lru_cache(maxsize=1)
def load_wordnet() -> WordNet | None:
    """The parsed WordNet (cached with marshal), or None where no WordNet is installed."""
    folder = find_wordnet_dir()
    if folder is None:
        return None
    stamp = int((folder / "data.noun").stat().st_mtime)
    # marshal's format may differ between Python versions, so each version keeps its own file.
    tag = f"m{marshal.version}-py{sys.version_info[0]}{sys.version_info[1]}"
    cached = cache_dir() / f"wordnet-nouns-{stamp}-{tag}.marshal"
    if cached.exists():
        try:
            return WordNet(*_read_tables(cached))
        except Exception:
            pass  # stale or broken cache: parse again
    wn = _shared(parse(folder))
    atomic_write(cached, marshal.dumps((wn.lemmas, wn.hypernyms, wn.index, wn.exceptions)))
    return wn


@lru_cache(maxsize=1)
def open_wordnet() -> WordNet | None:
    """The WordNet tables as views of the SQLite cache (built once from `load_wordnet()`'s), or None
    where no WordNet is installed. Same answers as `load_wordnet()`, without loading every table."""
    folder = find_wordnet_dir()
    if folder is None:
        return None
    sources = [folder / n for n in ("data.noun", "index.noun", "noun.exc") if (folder / n).is_file()]
    key = word_cache.key(f"v{word_cache.WORDNET_FORMAT}", *map(word_cache.stamp, sources))
    path = cache_dir() / "words" / f"wordnet-nouns-{key}.sqlite"

    def build(tmp: Path) -> None:  # parsed afresh (~3 s, once): the marshal cache is keyed by data.noun alone
        wn = parse(folder)
        word_cache.write_wordnet(tmp, wn.lemmas, wn.hypernyms, wn.index, wn.exceptions)

    db = word_cache.open_sqlite(word_cache.ensure(path, build, word_cache.wordnet_valid))
    lemmas = word_cache.SqlTable(db, "synset", "lemmas")
    return WordNet(lemmas, word_cache.SqlTable(db, "synset", "hypernyms"),
                   word_cache.SqlTable(db, "lemma", "wnids"), word_cache.SqlTable(db, "lemma", "base", split=False),
                   word_cache.SqlTable(db, "synset", "children"), word_cache.descendants(db), lemmas.many)


def _shared(wn: WordNet) -> WordNet:
    """The same tables with each distinct string a single object (a wnid is parsed afresh at every
    mention). marshal keeps shared objects shared, so the loaded tables take ~25% less memory."""
    memo: dict[str, str] = {}
    one = memo.setdefault
    lemmas, hypernyms, index = (
        {one(k, k): [one(x, x) for x in v] for k, v in t.items()} for t in (wn.lemmas, wn.hypernyms, wn.index)
    )
    return WordNet(lemmas, hypernyms, index, {one(k, k): one(v, v) for k, v in wn.exceptions.items()})


def _read_tables(path: Path) -> tuple[dict, dict, dict, dict]:
    """The four tables, loaded with the cyclic GC paused. Otherwise it rescans the growing heap
    while ~300k lists arrive (most of pickle's 0.4 s), or, if merely paused, rescans them young a
    few times during the first query (~0.1 s); freeze + unfreeze files them as old at once."""
    data = path.read_bytes()
    enabled = gc.isenabled()
    gc.disable()
    try:
        tables = marshal.loads(data)
        if gc.get_freeze_count() == 0:  # unfreeze would thaw what an application froze on purpose
            gc.freeze()
            gc.unfreeze()
    finally:
        if enabled:
            gc.enable()
    if not (isinstance(tables, tuple) and len(tables) == 4 and all(isinstance(t, dict) for t in tables)):
        raise ValueError(f"{path}: not a WordNet table cache")
    return tables
