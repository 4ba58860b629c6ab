"""Sorted distinct ids, as `np.unique(ids)` gives them, without its cost on a cold start: numpy 2.4's
`unique` asks `np.ma.is_masked`, which imports `numpy.ma` (~20 ms, more than the search it serves)."""

from __future__ import annotations

import numpy as np


def unique_ids(ids: np.ndarray) -> np.ndarray:
    """The distinct values of a 1-d integer array, ascending (a new array)."""
    out = np.sort(np.asarray(ids).ravel())
    if len(out) > 1:
        out = out[np.concatenate(([True], out[1:] != out[:-1]))]
    return out
