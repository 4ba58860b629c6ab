"""Derived vectors (joint-space rows) at scale get the ANN index `auto` picks, kept beside their file:
built once, caught up with rows derived since, served by a reader as it is; small ones stay exact."""

from __future__ import annotations

import numpy as np

from pixseek.store.ann import IndexedVectorStore
from pixseek.store.arrays import ArrayStore
from pixseek.store.derived import derived_store

DIM = 32


def rows_of(ids: np.ndarray) -> np.ndarray:
    """Deterministic unit rows (row i is always the same vector), as a derivation is."""
    out = np.stack([np.random.default_rng(int(i)).normal(size=DIM) for i in ids]).astype(np.float32)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_small_derived_stores_are_searched_exactly(tmp_path):
    store = derived_store(tmp_path / "joint.float16", DIM, 500, np.arange(500), rows_of)
    assert isinstance(store, ArrayStore)
    assert not list(tmp_path.glob("joint.ann*"))


def test_large_derived_stores_get_an_index_built_once_and_caught_up(tmp_path):
    path = tmp_path / "joint.float16"
    n = 20_000  # the size from which `auto` stops searching exactly
    first = derived_store(path, DIM, n, np.arange(n), rows_of)
    assert isinstance(first, IndexedVectorStore) and first.rebuilt
    assert (tmp_path / "joint.ann").is_file()
    q = rows_of(np.array([123]))
    assert first.search(q, 1)[1][0, 0] == 123
    again = derived_store(path, DIM, n, np.arange(n), rows_of)
    assert not again.rebuilt and again.caught_up == 0  # loaded, not built
    grown = derived_store(path, DIM, n + 300, np.arange(n + 300), rows_of)
    assert not grown.rebuilt and grown.caught_up == 300
    assert grown.search(rows_of(np.array([n + 7])), 1)[1][0, 0] == n + 7
    live = np.setdiff1d(np.arange(n + 300), [123])
    later = derived_store(path, DIM, n + 300, live, rows_of)  # the saved index covers the new rows
    assert later.caught_up == 0 and 123 not in later.search(q, 10)[1][0]
