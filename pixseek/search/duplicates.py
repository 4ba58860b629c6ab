"""Near-duplicate photos (burst shots, resized and recompressed copies, small crops) from the stored visual
vectors: a self-join through the store's own search (the ANN index when the collection has one), pairs
at or above a similarity threshold, joined into groups.

Each photo asks for its `neighbours` nearest; a pair at or above the threshold links the two. Groups are
the connected components of those links, so a burst A~B~C is one group even when A and C are further
apart than the threshold; the group's score is its weakest pair, so such chaining stays visible. The
default threshold was calibrated on labelled real photos (benchmarks/duplicates.py, docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from pixseek.store.vectors import Vectors

THRESHOLD = 0.85  # pair similarity (cosine of visual vectors); see the calibration in docs/benchmarks.md


@dataclass
class Group:
    ids: list[int]  # content ids, in id order
    score: float  # the lowest similarity between two members


def near_duplicates(store: Vectors, ids: np.ndarray, threshold: float = THRESHOLD, neighbours: int = 10,
                    batch: int = 512, progress: Callable[[int], None] | None = None) -> list[Group]:
    """Groups of two or more live ids whose vectors are near-duplicates, largest groups first."""
    ids = np.asarray(ids, np.int64)
    parent: dict[int, int] = {}

    def root(i: int) -> int:
        while parent.get(i, i) != i:
            parent[i] = parent.get(parent[i], parent[i])
            i = parent[i]
        return i

    for start in range(0, len(ids), batch):
        chunk = ids[start:start + batch]
        scores, found = store.search(store.get(chunk), neighbours + 1)
        for me, row_s, row_i in zip(chunk.tolist(), scores, found):
            for s, other in zip(row_s.tolist(), row_i.tolist()):
                if other >= 0 and other != me and s >= threshold:
                    a, b = root(me), root(other)
                    if a != b:
                        parent[max(a, b)] = min(a, b)
        if progress is not None:
            progress(len(chunk))
    members: dict[int, set[int]] = {}
    for i in list(parent):
        r = root(i)
        members.setdefault(r, {r}).add(i)
    groups = []
    for group in members.values():
        group = sorted(group)
        vectors = store.get(np.array(group))
        sims = vectors @ vectors.T
        groups.append(Group(group, float(sims[np.triu_indices(len(group), 1)].min())))
    return sorted(groups, key=lambda g: (-len(g.ids), -g.score, g.ids[0]))

