"""Reading rows of large vector files (store/pages.py): positioned reads give the same rows as the map,
in the order asked, repeated and cut-short ids included; the last read's rows are reused; float16 rows
convert exactly; a damaged row read this way is still caught. `RELEASE_ABOVE` is lowered so that test-sized
files take the large-file path."""

from __future__ import annotations

import numpy as np
import pytest

from pixseek.store import pages
from pixseek.store.arrays import ArrayStore
from pixseek.store.vectors import LocalVectorStore


@pytest.fixture
def large(monkeypatch):
    monkeypatch.setattr(pages, "RELEASE_ABOVE", 0)


def unit_rows(n: int, dim: int, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_row_file_reads_what_the_map_holds(tmp_path, large):
    x = unit_rows(500, 24).astype(np.float16)
    path = tmp_path / "rows.float16"
    path.write_bytes(x.tobytes())
    ids = np.array([7, 8, 9, 400, 3, 3, 499, 10])
    assert np.array_equal(pages.RowFile(path, 24, np.float16).read(ids), x[ids])
    assert np.array_equal(pages.as_float32(x), x.astype(np.float32))
    path.write_bytes(x[:450].tobytes())  # cut short: the rows it no longer holds read as zeros
    got = pages.RowFile(path, 24, np.float16).read(np.array([449, 470]))
    assert np.array_equal(got[0], x[449]) and not got[1].any()


def test_float16_rows_become_float32_exactly_by_either_path():
    """Every one of the 65,536 float16 values (signed, infinite, NaN: the table), and every finite
    non-negative one alone (the bit path class probabilities take), in a strided view as a store slices."""
    every = np.arange(65536, dtype=np.uint32).astype(np.uint16).view(np.float16)
    for x in (every.reshape(256, 256), every[:0x7C00].reshape(-1, 64)[:, ::3]):
        got, want = pages.as_float32(x), x.astype(np.float32)
        assert got.dtype == np.float32 and got.flags.c_contiguous and got.shape == x.shape
        assert np.array_equal(got.view(np.uint32)[~np.isnan(want)], want.view(np.uint32)[~np.isnan(want)])
        assert np.array_equal(np.isnan(got), np.isnan(want))


def test_stores_read_scattered_rows_and_reuse_the_last_ones(tmp_path, large):
    x = unit_rows(600, 2280)
    store = LocalVectorStore(tmp_path, "visual", 2280, "float16", 0, [], writer=True)
    store.add(np.arange(600), x)
    reader = LocalVectorStore(tmp_path, "visual", 2280, "float16", 600, np.arange(600))
    ids = np.array([5, 590, 17, 5, 300])
    want = x[ids].astype(np.float16).astype(np.float32)
    assert np.array_equal(reader.get(ids), want)
    assert np.array_equal(reader.get(np.array([300, 17, 44])), x[[300, 17, 44]].astype(np.float16).astype(np.float32))
    arr = ArrayStore(np.memmap(store.path, np.float16, "r", shape=(600, 2280)), path=store.path)
    assert np.array_equal(arr.get(ids), want) and np.array_equal(arr.get(ids[::-1]), want[::-1])


def test_a_damaged_row_read_by_position_is_caught(tmp_path, large, capfd):
    x = unit_rows(300, 2280, seed=1)
    store = LocalVectorStore(tmp_path, "visual", 2280, "float16", 0, [], writer=True)
    store.add(np.arange(300), x)
    with open(store.path, "r+b") as f:
        f.seek(123 * 2280 * 2 + 40)
        f.write(b"\x12\x34\x56\x78")
    reader = LocalVectorStore(tmp_path, "visual", 2280, "float16", 300, np.arange(300))
    got = reader.get(np.array([200, 123, 7]))
    assert not got[1].any() and got[0].any() and got[2].any()  # a damaged row comes back as zeros
    assert reader.usable(np.array([123, 200])).tolist() == [False, True]
    assert "damaged rows (contents 123)" in capfd.readouterr().err
