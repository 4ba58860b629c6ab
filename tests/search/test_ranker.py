"""search/ranker.py: one ranking rule for every bridge, checked on small real stores (store/arrays.py)."""

from __future__ import annotations

import numpy as np

from pixseek.search.bridges.base import Part, Unit
from pixseek.search.ranker import part_scores, rank
from pixseek.store.arrays import ArrayStore


def _unit(v, w=1.0, text="t") -> Unit:
    return Unit(np.asarray(v, np.float32), w, text)


def _store() -> ArrayStore:
    # rows: 0 dog only, 1 beach only, 2 dog on a beach, 3 grass, 4 dog on grass
    return ArrayStore(np.array([[1, 0, 0], [0, 1, 0], [0.7, 0.7, 0], [0, 0, 1], [0.7, 0, 0.7]], np.float32))


def test_one_unit_is_one_inner_product_search():
    store = _store()
    found = rank([Part(store, [_unit([1, 0, 0])])], k=3)
    assert [i for i, _ in found] == [0, 2, 4] and np.isclose(found[0][1], 1.0)


def test_two_words_are_a_soft_and():
    found = rank([Part(_store(), [_unit([1, 0, 0]), _unit([0, 1, 0])])], k=5)
    assert found[0][0] == 2  # dog AND beach beats either alone


def test_a_negative_word_pushes_its_images_down():
    found = dict(rank([Part(_store(), [_unit([1, 0, 0]), _unit([0, 0, 1], -1.0)])], k=5))
    assert found[0] > found[2] > found[4]  # dog on grass falls below dog on a beach


def test_weights_decide_between_words():
    beach = rank([Part(_store(), [_unit([1, 0, 0], 1.0), _unit([0, 1, 0], 5.0)])], k=1)
    dog = rank([Part(_store(), [_unit([1, 0, 0], 5.0), _unit([0, 1, 0], 1.0)])], k=5)
    assert beach[0][0] == 2 and dict(dog)[0] > dict(dog)[1]


def test_parts_add_by_weight_and_scores_agree_with_part_scores():
    store = _store()
    a, b = Part(store, [_unit([1, 0, 0])], 0.8), Part(store, [_unit([0, 1, 0])], 0.2)
    found = rank([a, b], k=5)
    ids = np.array([i for i, _ in found])
    assert np.allclose([s for _, s in found], 0.8 * part_scores(a, ids) + 0.2 * part_scores(b, ids))


def test_a_part_without_positive_units_ranks_nothing():
    assert rank([Part(_store(), [_unit([1, 0, 0], -1.0)])], k=3) == []


def test_ranker_leaves_out_non_finite_scores():

    rows = np.eye(4, dtype=np.float32)
    rows[2] = np.nan  # a damaged row
    store = ArrayStore(rows)
    units = [Unit(np.array([1, 1, 1, 0], np.float32), 1.0, "a"), Unit(np.array([0, 0, 1, 1], np.float32), -1.0, "b")]
    found = rank([Part(store, units)], k=4)
    assert found and all(np.isfinite(s) for _, s in found) and 2 not in [i for i, _ in found]


