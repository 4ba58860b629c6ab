"""The one exact top-k: best first, stable among equal scores, -inf slots as id -1, padded to k."""

from __future__ import annotations

import numpy as np
import pytest

from pixseek.store.topk import TopK, top_k


def reference(scores: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    s, i = np.take_along_axis(scores, order, 1), np.take_along_axis(np.broadcast_to(ids, scores.shape), order, 1)
    return s, np.where(np.isfinite(s), i, -1)


@pytest.mark.parametrize("n,k,chunk", [(1, 5, 1), (7, 10, 3), (300, 10, 64), (300, 1, 300), (50, 50, 7)])
def test_blocks_give_the_exact_top_k(n, k, chunk):
    rng = np.random.default_rng(n + k + chunk)
    scores = rng.standard_normal((4, n)).astype(np.float32)
    scores[:, rng.random(n) < 0.3] = -np.inf  # removed rows
    ids = rng.permutation(10 * n)[:n].astype(np.int64)
    want_s, want_i = reference(scores, ids, k)
    got_s, got_i = top_k(scores, k, ids, pad=False)
    assert np.array_equal(got_s, want_s) and np.array_equal(got_i, want_i)
    best = TopK(4, k)
    for start in range(0, n, chunk):
        best.push(scores[:, start:start + chunk], start)
    s, i = best.result()
    assert s.shape == i.shape == (4, k) and s.dtype == np.float32 and i.dtype == np.int64
    want_s, want_i = reference(scores, np.arange(n), k)
    m = want_s.shape[1]
    assert np.array_equal(s[:, :m], want_s) and np.array_equal(i[:, :m], want_i)
    assert np.all(s[:, m:] == -np.inf) and np.all(i[:, m:] == -1)


def test_equal_scores_keep_their_order_when_nothing_is_cut():
    s, i = top_k(np.array([[1.0, 2.0, 1.0, 2.0]], np.float32), 4, np.array([10, 11, 12, 13]))
    assert i.tolist() == [[11, 13, 10, 12]] and s.tolist() == [[2.0, 2.0, 1.0, 1.0]]
