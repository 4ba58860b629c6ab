"""Near-duplicate photos (burst shots, resized and recompressed copies, small crops) from the stored visual
vectors: a self-join through the store's own search (the ANN index when the collection has one), pairs
at or above a similarity threshold, joined into groups.

Each photo asks for its `neighbours` nearest; pairs at or above the threshold are joined closest first,
and two groups merge only if every pair across them is at or above the threshold too (complete
linkage), so a chain of look-alikes (64-pixel beaches, a lake, a coast...) never grows into one large
group; the group's score is its weakest pair. The default threshold was calibrated on labelled real
photos (benchmarks/duplicates.py, docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from pixseek.store.vectors import Vectors

THRESHOLD = 0.825  # pair similarity (cosine of visual vectors), calibrated: benchmarks/duplicates.py


@dataclass
class Group:
    ids: list[int]  # content ids, in id order
    score: float  # the lowest similarity between two members


def near_duplicates(store: Vectors, ids: np.ndarray, threshold: float = THRESHOLD, neighbours: int = 10,
                    batch: int = 512, progress: Callable[[int], None] | None = None) -> list[Group]:
    """Groups of two or more live ids in which every pair is at or above `threshold`, largest first."""
    ids = np.asarray(ids, np.int64)
    pairs: dict[tuple[int, int], float] = {}
    for start in range(0, len(ids), batch):
        chunk = ids[start:start + batch]
        scores, found = store.search(store.get(chunk), neighbours + 1)
        for me, row_s, row_i in zip(chunk.tolist(), scores, found):
            for s, other in zip(row_s.tolist(), row_i.tolist()):
                if other >= 0 and other != me and s >= threshold:
                    pairs[(min(me, other), max(me, other))] = s
        if progress is not None:
            progress(len(chunk))
    group_of: dict[int, list[int]] = {}
    for (a, b), _ in sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0])):  # closest pairs join first
        ga, gb = group_of.get(a, [a]), group_of.get(b, [b])
        if ga is gb:
            continue
        if len(ga) * len(gb) > 1 and (store.get(np.array(ga)) @ store.get(np.array(gb)).T).min() < threshold:
            continue  # a merge that would put two members below the threshold: kept apart (no chaining)
        merged = ga + gb
        for i in merged:
            group_of[i] = merged
    groups, seen = [], set()
    for members in group_of.values():
        if id(members) in seen:
            continue
        seen.add(id(members))
        members = sorted(members)
        vectors = store.get(np.array(members))
        groups.append(Group(members, float((vectors @ vectors.T)[np.triu_indices(len(members), 1)].min())))
    return sorted(groups, key=lambda g: (-len(g.ids), -g.score, g.ids[0]))
