"""Near-duplicate photos (burst shots, resized and recompressed copies, small crops) from the stored visual
vectors: a self-join through the store's own search (the ANN index when the collection has one), pairs
at or above a similarity threshold, joined into groups.

Each photo asks for its `neighbours` nearest; pairs at or above the threshold are joined closest first,
and two groups merge only if every pair across them stays within SPREAD of the threshold (a bounded
complete linkage): the copies of one photo stay together although they differ more among themselves
than from the original, while a chain of look-alikes (64-pixel beaches, a lake, a coast...) cannot grow
into one large group. The group's score is its weakest pair. The default threshold was calibrated on labelled real
photos (benchmarks/duplicates.py, docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from pixseek.store.vectors import Vectors

THRESHOLD = 0.74  # feature cosine of a pair, calibrated: benchmarks/duplicates.py (docs/benchmarks.md)
SPREAD = 0.1  # how far below the threshold two members of one group may be (the copies of one photo differ
# more among themselves than each differs from the original; a long chain of look-alikes differs far more)


@dataclass
class Group:
    ids: list[int]  # content ids, in id order
    score: float  # the lowest similarity between two members


def near_duplicates(store: Vectors, ids: np.ndarray, threshold: float = THRESHOLD, neighbours: int = 10,
                    batch: int = 512, progress: Callable[[int], None] | None = None,
                    feature_dims: int | None = None) -> list[Group]:
    """Groups of two or more live ids, largest first: linked by pairs at or above `threshold`, and no two
    members more than SPREAD below it. feature_dims: score pairs by the first this many dimensions only
    (the image features of a visual vector, without its class half: two photos of one class share their
    class probabilities, a copy shares its features), re-normalised; candidates still come from the
    store's search over whole vectors."""
    ids = np.asarray(ids, np.int64)

    def part(rows: np.ndarray) -> np.ndarray:
        v = store.get(np.asarray(rows, np.int64))
        if feature_dims is None:
            return v
        v = v[:, :feature_dims]
        return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)

    pairs: dict[tuple[int, int], float] = {}
    for start in range(0, len(ids), batch):
        chunk = ids[start:start + batch]
        _, found = store.search(store.get(chunk), neighbours + 1)
        mine = part(chunk)
        for n, (me, row_i) in enumerate(zip(chunk.tolist(), found)):
            others = [o for o in row_i.tolist() if o >= 0 and o != me]
            if not others:
                continue
            for other, s in zip(others, (part(others) @ mine[n]).tolist()):
                if s >= threshold:
                    pairs[(min(me, other), max(me, other))] = s
        if progress is not None:
            progress(len(chunk))
    group_of: dict[int, list[int]] = {}
    for (a, b), _ in sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0])):  # closest pairs join first
        ga, gb = group_of.get(a, [a]), group_of.get(b, [b])
        if ga is gb:
            continue
        if len(ga) * len(gb) > 1 and (part(ga) @ part(gb).T).min() < threshold - SPREAD:
            continue  # a merge that would put two members far apart: kept apart (no chaining)
        merged = ga + gb
        for i in merged:
            group_of[i] = merged
    groups, seen = [], set()
    for members in group_of.values():
        if id(members) in seen:
            continue
        seen.add(id(members))
        members = sorted(members)
        vectors = part(members)
        groups.append(Group(members, float((vectors @ vectors.T)[np.triu_indices(len(members), 1)].min())))
    return sorted(groups, key=lambda g: (-len(g.ids), -g.score, g.ids[0]))
