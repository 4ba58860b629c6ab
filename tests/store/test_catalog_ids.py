"""The catalog's live content ids: read as row count and tombstones when ids have no gaps (a million ids
one by one cost half a second), one by one otherwise; both give the same ascending ids."""

from __future__ import annotations

import numpy as np

from pixseek.store.catalog import Catalog


def catalog_with(tmp_path, ids: list[int], dead: list[int]) -> Catalog:
    cat = Catalog(tmp_path / "catalog.sqlite")
    cat.begin()
    for cid in ids:
        cat.add_content(cid, f"hash-{cid}", 64, 64)
    for cid in dead:
        cat.release_content(cid)
    cat.commit()
    return cat


def test_dense_ids_with_tombstones(tmp_path):
    cat = catalog_with(tmp_path, list(range(10)), dead=[3, 9])
    ids = cat.live_ids()
    assert ids.dtype == np.int64 and ids.tolist() == [0, 1, 2, 4, 5, 6, 7, 8]
    assert cat.rows() == 10 == cat.counts()["rows"]


def test_ids_with_gaps_are_read_one_by_one(tmp_path):
    cat = catalog_with(tmp_path, [0, 1, 5, 7, 8], dead=[7])
    assert cat.live_ids().tolist() == [0, 1, 5, 8]
    assert cat.rows() == 9


def test_an_empty_catalog(tmp_path):
    cat = catalog_with(tmp_path, [], dead=[])
    assert cat.live_ids().tolist() == [] and cat.rows() == 0
