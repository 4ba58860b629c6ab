"""LocalVectorStore's row checks on real files: checksums written with the rows, damaged rows (flipped
bytes, NaN, out-of-range values, a cut-short file) kept out of search, get() and an IVF index."""

from __future__ import annotations

import numpy as np
import pytest

from pixseek.store.ann import IndexedVectorStore
from pixseek.store.checksums import read_sums, row_sums, sums_path, values_ok
from pixseek.store.vectors import LocalVectorStore

DIM = 64


def _unit(n: int, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _store(folder, n: int, seed: int = 0, writer: bool = True, log=None) -> LocalVectorStore:
    """A visual store of n unit vectors, written through add() as indexing does; returns a fresh open."""
    if n and not (folder / "visual.float16").exists():
        LocalVectorStore(folder, "visual", DIM, "float16", 0, [], writer=True).add(np.arange(n), _unit(n, seed))
    logs = [] if log is None else log
    return LocalVectorStore(folder, "visual", DIM, "float16", n, list(range(n)), writer=writer, log=logs.append)


def _flip(path, offset: int) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)[0]
        f.seek(offset)
        f.write(bytes([b ^ 0x01]))  # the least significant bit: invisible to a value check, not to a checksum


def test_add_writes_a_checksum_per_row(tmp_path):
    logs: list[str] = []
    LocalVectorStore(tmp_path, "visual", DIM, "float16", 0, [], writer=True, log=logs.append).add(np.arange(50), _unit(50))
    assert logs == []  # nothing damaged, nothing said
    store = _store(tmp_path, 50)
    raw = np.fromfile(tmp_path / "visual.float16", np.float16).reshape(50, DIM)
    assert sums_path(store.path).stat().st_size == 50 * 4
    assert (read_sums(store.path, 50) == row_sums(raw, 0)).all()
    assert not store.damaged_ids().size


def test_a_flipped_bit_is_left_out_of_search_and_reported_once(tmp_path):
    _store(tmp_path, 100)
    _flip(tmp_path / "visual.float16", 7 * DIM * 2 + 3)
    logs: list[str] = []
    store = _store(tmp_path, 100, writer=False, log=logs)
    vectors = _unit(100)
    scores, ids = store.search(vectors[7:8], 5)
    assert 7 not in ids[0]
    assert (store.get(np.array([7, 8]))[0] == 0).all() and np.abs(store.get(np.array([8]))[0] - vectors[8]).max() < 1e-2
    assert not store.live[7] and store.live[8]
    store.search(vectors[:3], 5)
    assert len(logs) == 1 and "1 damaged rows (contents 7)" in logs[0] and "pixseek verify" in logs[0]
    assert store.damaged_ids().tolist() == [7]


def test_memory_mapped_search_checks_each_chunk(tmp_path, monkeypatch):
    monkeypatch.setenv("PIXSEEK_RAM_MB", "0")  # stream over the memory map, not the float32 copy
    _store(tmp_path, 300)
    _flip(tmp_path / "visual.float16", 250 * DIM * 2)
    store = _store(tmp_path, 300, writer=False)
    store.CHUNK = 64
    _, ids = store.search(_unit(300)[250:251], 10)
    assert 250 not in ids[0] and store._ram is None
    assert store.damaged_ids().tolist() == [250]


def test_nan_and_out_of_range_rows_are_damaged_even_without_sums(tmp_path):
    _store(tmp_path, 20)
    sums_path(tmp_path / "visual.float16").unlink()  # a collection written before sums existed
    mat = np.memmap(tmp_path / "visual.float16", np.float16, "r+", shape=(20, DIM))
    mat[3, 5] = np.nan
    mat[4] *= 3  # finite, but not unit length
    mat.flush()
    del mat
    reader = _store(tmp_path, 20, writer=False)
    assert reader.damaged_ids().tolist() == [3, 4]  # the others are unverified, not damaged
    assert not sums_path(tmp_path / "visual.float16").exists()  # a reader writes nothing
    writer = _store(tmp_path, 20)
    assert sums_path(tmp_path / "visual.float16").stat().st_size == 20 * 4
    assert writer.damaged_ids().tolist() == [3, 4]  # value rules still apply to rows whose sums it computed


def test_the_float32_copy_is_checked_as_it_serves_rows(tmp_path):
    """The in-memory copy is loaded unchecked: a search that would serve a damaged row (NaN, or a flipped
    bit) checks every row once and answers without it; a search that serves none checks only what it serves."""
    _store(tmp_path, 40)
    mat = np.memmap(tmp_path / "visual.float16", np.float16, "r+", shape=(40, DIM))
    mat[3, 5] = np.nan
    mat.flush()
    del mat
    _flip(tmp_path / "visual.float16", 30 * DIM * 2 + 3)
    logs: list[str] = []
    store = _store(tmp_path, 40, writer=False, log=logs)
    vectors = _unit(40)
    scores, ids = store.search(vectors[10:11], 1)
    assert ids[0].tolist() == [10] and store._ram is not None and not store._checked[30] and logs == []
    scores, ids = store.search(vectors[30:31], 40)  # every row: the NaN row and row 30 would be served
    assert 3 not in ids[0] and 30 not in ids[0] and (ids[0] >= 0).sum() == 38 and np.isfinite(scores[0][:38]).all()
    assert len(logs) == 2 and "(contents 30)" in logs[0] and "(contents 3)" in logs[1]  # each said once
    assert (store.get(np.array([3, 30])) == 0).all()
    store.search(vectors[:5], 40)
    assert len(logs) == 2 and store.damaged_ids().tolist() == [3, 30]


def test_probability_rule():
    p = np.full((4, 10), 0.1, np.float32)
    p[1, 0] = 0.5  # sums to 1.4
    p[2, :2] = (-0.1, 0.3)  # negative
    p[3, 0] = np.inf
    assert values_ok("probs", p).tolist() == [True, False, False, False]


def test_a_cut_short_file_opens_with_its_missing_rows_damaged(tmp_path):
    _store(tmp_path, 40)
    with open(tmp_path / "visual.float16", "r+b") as f:
        f.truncate(30 * DIM * 2 + 17)
    reader = _store(tmp_path, 40, writer=False)
    assert reader.damaged_ids().tolist() == list(range(30, 40))
    _, ids = reader.search(_unit(40)[35:36], 40)
    assert set(ids[0][ids[0] >= 0].tolist()) == set(range(30))
    assert reader.matrix().shape == (40, DIM)
    writer = _store(tmp_path, 40)  # pads to the committed rows so that appends stay at their row
    assert (tmp_path / "visual.float16").stat().st_size == 40 * DIM * 2
    assert writer.damaged_ids().tolist() == list(range(30, 40))
    writer.add(np.array([40]), _unit(1, 5))
    assert writer.damaged_ids().tolist() == list(range(30, 40)) and writer.live[40]
    bad = _unit(1, 6)
    bad[0, 0] = np.nan  # an encoder output that is not a vector: stored (the row is taken) but never served
    writer.add(np.array([41]), bad)
    assert not writer.live[41] and 41 in writer.damaged_ids()


@pytest.mark.parametrize("spec", ["ivf16,pq8", "hnsw16"])
def test_a_nan_row_never_reaches_the_ann_index(tmp_path, spec):
    """faiss refuses to train on NaN ("input contains NaN's or Inf's"): the row must be left out."""
    n = 1200
    _store(tmp_path, n)
    mat = np.memmap(tmp_path / "visual.float16", np.float16, "r+", shape=(n, DIM))
    mat[10] = np.nan
    mat.flush()
    del mat
    for persist in (True, False):
        store = _store(tmp_path, n, writer=persist)
        indexed = IndexedVectorStore(store, tmp_path, spec, persist=persist, log=lambda m: None)
        scores, ids = indexed.search(_unit(n)[:20], 10)
        assert np.isfinite(scores).all() and 10 not in ids
        if persist:
            assert indexed.index is not None and 10 not in indexed.index.live_ids()


def test_rows_asked_for_out_of_order_come_back_in_that_order(tmp_path):
    """ids spanning a block from its first to its last row but not in order (a caller's own order, e.g.
    photos sorted by name) are scattered rows, not a block read in file order."""
    logs: list[str] = []
    store = _store(tmp_path, 20, log=logs)
    ids = np.array([0, 1, 5, 3, 2, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19])
    np.testing.assert_allclose(store.get(ids), _unit(20)[ids], atol=2e-3)
    assert logs == [] and len(store) == 20  # nothing called damaged
