"""Derived vectors (joint-space rows) at scale get the ANN index `auto` picks, kept beside their file:
built once, caught up with rows derived since, served by a reader as it is; small ones stay exact."""

from __future__ import annotations

import numpy as np

from pixseek.store.ann import IndexedVectorStore
from pixseek.store.arrays import ArrayStore
from pixseek.store.derived import derived_store
from pixseek.store.overlay import Overlay

DIM = 32


def rows_of(ids: np.ndarray) -> np.ndarray:
    """Deterministic unit rows (row i is always the same vector), as a derivation is."""
    out = np.stack([np.random.default_rng(int(i)).normal(size=DIM) for i in ids]).astype(np.float32)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def derive(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return rows_of(ids), np.ones(len(ids), bool)


def sources(n: int) -> np.ndarray:
    """Fingerprints of n stored rows that never change."""
    return np.arange(1, n + 1, dtype=np.uint64)


def open_store(path, n: int, live=None, writer: bool = True):
    return derived_store(path, DIM, n, np.arange(n) if live is None else live, derive, sources(n), writer)


def test_small_derived_stores_are_searched_exactly(tmp_path):
    store = open_store(tmp_path / "joint.float16", 500)
    assert isinstance(store, ArrayStore)
    assert not list(tmp_path.glob("joint.ann*"))


def test_large_derived_stores_get_an_index_built_once_and_caught_up(tmp_path):
    path = tmp_path / "joint.float16"
    n = 20_000  # the size from which `auto` stops searching exactly
    first = open_store(path, n)
    assert isinstance(first, IndexedVectorStore) and first.rebuilt
    assert (tmp_path / "joint.ann").is_file()
    q = rows_of(np.array([123]))
    assert first.search(q, 1)[1][0, 0] == 123
    again = open_store(path, n)
    assert not again.rebuilt and again.caught_up == 0  # loaded, not built
    grown = open_store(path, n + 300)
    assert not grown.rebuilt and grown.caught_up == 300
    assert grown.search(rows_of(np.array([n + 7])), 1)[1][0, 0] == n + 7
    live = np.setdiff1d(np.arange(n + 300), [123])
    later = open_store(path, n + 300, live)  # the saved index covers the new rows
    assert later.caught_up == 0 and 123 not in later.search(q, 10)[1][0]


def test_a_reader_writes_nothing_and_derives_in_memory(tmp_path):
    path = tmp_path / "derived" / "joint.float16"
    store = open_store(path, 300, writer=False)
    assert not path.parent.exists()
    assert np.allclose(store.get(np.arange(300)), rows_of(np.arange(300)), atol=1e-3)
    assert store.search(rows_of(np.array([42])), 1)[1][0, 0] == 42


def test_rows_derived_from_other_stored_rows_are_derived_again(tmp_path):
    """Row ids reused (a catalog restored from a backup): the rows whose stored rows changed since, and only
    those, are derived again; a reader serves them right without writing."""
    path = tmp_path / "joint.float16"
    open_store(path, 400)
    now = sources(400)
    now[100:150] += 1000  # other photos at rows 100..149 now

    def other(ids):
        return rows_of(ids + 10_000), np.ones(len(ids), bool)

    asked = []

    def counting(ids):
        asked.extend(ids.tolist())
        return other(ids)

    before = path.read_bytes()
    reader = derived_store(path, DIM, 400, np.arange(400), counting, now)
    assert path.read_bytes() == before and sorted(asked) == list(range(100, 150))
    assert np.allclose(reader.get(np.arange(100, 150)), rows_of(np.arange(100, 150) + 10_000), atol=1e-3)
    asked.clear()
    derived_store(path, DIM, 400, np.arange(400), counting, now, writer=True)
    assert sorted(asked) == list(range(100, 150))
    asked.clear()
    again = derived_store(path, DIM, 400, np.arange(400), counting, now)
    assert asked == [] and np.allclose(again.get(np.arange(100, 150)), rows_of(np.arange(100, 150) + 10_000), atol=1e-3)
    assert np.allclose(again.get(np.arange(100)), rows_of(np.arange(100)), atol=1e-3)


def test_rows_derived_from_damaged_stored_rows_are_never_live(tmp_path):
    path = tmp_path / "joint.float16"

    def damaged_7(ids):
        return rows_of(ids), ids != 7

    store = derived_store(path, DIM, 50, np.arange(50), damaged_7, sources(50), writer=True)
    assert 7 not in store.search(rows_of(np.array([7])), 50)[1][0]
    repaired = open_store(path, 50, writer=False)  # the stored row repaired: derived again, live
    assert repaired.search(rows_of(np.array([7])), 1)[1][0, 0] == 7


def test_an_index_over_rows_derived_since_is_not_served(tmp_path):
    """An index file put back from before rows were derived again (a restored folder) is rebuilt by a
    writer; a reader searches exactly meanwhile, never from the index's copies of the old rows."""
    path = tmp_path / "joint.float16"
    n = 20_000
    open_store(path, n)
    old = {p.name: p.read_bytes() for p in tmp_path.glob("joint.ann*")}
    now = sources(n)
    now[:10] += 10**6

    def other(ids):
        return rows_of(ids + 10**6), np.ones(len(ids), bool)

    rebuilt = derived_store(path, DIM, n, np.arange(n), other, now, writer=True)
    assert isinstance(rebuilt, IndexedVectorStore) and rebuilt.rebuilt
    for p in tmp_path.glob("joint.ann*"):
        p.unlink()
    for name, data in old.items():
        (tmp_path / name).write_bytes(data)
    reader = derived_store(path, DIM, n, np.arange(n), other, now)
    assert isinstance(reader, ArrayStore)
    assert reader.search(rows_of(np.array([3]) + 10**6), 1)[1][0, 0] == 3
    writer = derived_store(path, DIM, n, np.arange(n), other, now, writer=True)
    assert isinstance(writer, IndexedVectorStore) and writer.rebuilt
    assert writer.search(rows_of(np.array([3]) + 10**6), 1)[1][0, 0] == 3


def test_a_reader_serves_the_index_with_rows_derived_since_beside_it(tmp_path):
    """At scale a reader that finds a few stale rows keeps the file's index for the rest and serves the rows
    derived in memory beside it (no copy of the file); rows from damaged stored rows read as zeros."""
    path = tmp_path / "joint.float16"
    n = 20_100  # above the size from which `auto` indexes, with one damaged row left out
    open_store(path, n)
    now = sources(n)
    now[5:10] += 10**6

    def other(ids):
        rows = np.where((ids >= 5) & (ids < 10))[0]
        out = rows_of(ids)
        out[rows] = rows_of(ids[rows] + 10**6)
        return out, ids != 6  # row 6's new stored row is damaged

    reader = derived_store(path, DIM, n, np.arange(n), other, now)
    assert isinstance(reader, Overlay) and isinstance(reader.base, IndexedVectorStore)
    assert reader.search(rows_of(np.array([7]) + 10**6), 1)[1][0, 0] == 7
    assert 7 not in reader.search(rows_of(np.array([7])), 5)[1][0]  # the row derived from the photo gone
    assert reader.search(rows_of(np.array([1234])), 1)[1][0, 0] == 1234
    assert 6 not in reader.search(rows_of(np.array([6]) + 10**6), 20)[1][0] and not reader.get(np.array([6])).any()
