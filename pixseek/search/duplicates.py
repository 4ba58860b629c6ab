"""Near-duplicate photos (burst shots, resized and recompressed copies, small crops) from the stored visual
vectors: a self-join over the image features, pairs at or above a similarity threshold, joined into groups.

Pairs are scored by the cosine of the image features alone (the first `feature_dims` of a visual vector,
re-normalised): two photos of one class share their class probabilities, a copy shares its features.
Candidates come from a search in a PCA-reduced copy of the features (exact up to EXACT_UP_TO photos, an
HNSW graph above), CANDIDATES per photo, each then re-scored exactly on the full features: 100,000
photos take seconds, not the minutes of an exact all-pairs join, and re-scoring keeps the scores exact.

Pairs at or above the threshold are joined closest first, and two groups merge only if every pair
across them stays within SPREAD of the threshold (a bounded complete linkage): the copies of one photo
stay together although they differ more among themselves than from the original, while a chain of
look-alikes (64-pixel beaches, a lake, a coast...) cannot grow into one large group. The group's score
is its weakest pair. The threshold and the search sizes were measured on labelled real photos and on
100,000 photos (benchmarks/duplicates.py, docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from pixseek.store.id_sets import unique_ids
from pixseek.store.vectors import Vectors

THRESHOLD = 0.74  # feature cosine of a pair, calibrated: benchmarks/duplicates.py (docs/benchmarks.md)
SPREAD = 0.1  # how far below the threshold two members of one group may be (the copies of one photo differ
# more among themselves than each differs from the original; a long chain of look-alikes differs far more)
NEIGHBOURS = 10  # pairs kept per photo, its closest at or above the threshold
CANDIDATES = 40  # neighbours per photo found in the reduced space and re-scored exactly (pair recall
# against an exact join at 100,000 photos: 0.997 with 40, 0.86 with 10; docs/benchmarks.md)
REDUCED_DIM = 128  # PCA dimensions of the candidate search (64 gave pair recall 0.990)
EXACT_UP_TO = 20_000  # photos up to which the candidate search is exact; an HNSW graph above
BATCH = 1024


@dataclass
class Group:
    ids: list[int]  # content ids, in id order
    score: float  # the lowest similarity between two members


def near_duplicates(store: Vectors, ids: np.ndarray, threshold: float = THRESHOLD,
                    progress: Callable[[int], None] | None = None, feature_dims: int | None = None,
                    exact_up_to: int = EXACT_UP_TO) -> list[Group]:
    """Groups of two or more of `ids` (live content ids), largest first. feature_dims: the part of a
    visual vector that holds the image features (None: the whole vector)."""
    ids = unique_ids(np.asarray(ids, np.int64))
    if len(ids) < 2:
        return []
    f = unit_features(store, ids, feature_dims)
    pairs = scored_pairs(f, candidates(f, min(CANDIDATES, len(ids) - 1), exact_up_to), threshold, progress)
    return [Group(sorted(ids[g].tolist()), score) for g, score in link(f, pairs, threshold)]


def unit_features(store: Vectors, ids: np.ndarray, feature_dims: int | None, batch: int = 8192) -> np.ndarray:
    """(len(ids), dims) float32 rows of unit length, read from the store in batches (no full-width copy)."""
    first = store.get(ids[:1])
    out = np.empty((len(ids), feature_dims or first.shape[1]), np.float32)
    for start in range(0, len(ids), batch):
        v = store.get(ids[start:start + batch])[:, :feature_dims]
        out[start:start + len(v)] = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
    return out


def reduced(f: np.ndarray, dims: int = REDUCED_DIM, sample: int = 20_000, seed: int = 0) -> np.ndarray:
    """PCA to `dims` (fitted on a sample), rows re-normalised: where the candidate search runs."""
    if f.shape[1] <= dims or len(f) <= dims:
        return f
    rng = np.random.default_rng(seed)
    fit = f[rng.choice(len(f), sample, replace=False)] if len(f) > sample else f
    mean = fit.mean(axis=0)
    _, vectors = np.linalg.eigh((fit - mean).T @ (fit - mean))
    basis = np.ascontiguousarray(vectors[:, ::-1][:, :dims], np.float32)
    x = np.empty((len(f), dims), np.float32)
    for start in range(0, len(f), 8192):
        x[start:start + 8192] = (f[start:start + 8192] - mean) @ basis
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def candidates(f: np.ndarray, k: int, exact_up_to: int = EXACT_UP_TO) -> np.ndarray:
    """(n, k + 1) row positions of each row's nearest rows in the reduced space (itself among them), -1 where none."""
    from pixseek.store.ann.backends import backend_for
    from pixseek.store.ann.spec import parse_spec

    x = reduced(f)
    spec = parse_spec("flat" if len(f) <= exact_up_to else "hnsw16")
    index = backend_for(spec).build(spec, x)
    if spec.kind == "hnsw":
        index.set_knobs({"ef": k + 1})
    out = np.empty((len(f), k + 1), np.int64)
    for start in range(0, len(f), 8192):
        out[start:start + 8192] = index.search(x[start:start + 8192], k + 1)[1]
    return out


def scored_pairs(f: np.ndarray, cand: np.ndarray, threshold: float,
                 progress: Callable[[int], None] | None = None) -> dict[tuple[int, int], float]:
    """Each row's NEIGHBOURS best candidates at or above the threshold, by exact cosine: {(a, b): s}, a < b."""
    pairs: dict[tuple[int, int], float] = {}
    for start in range(0, len(f), BATCH):
        c = cand[start:start + BATCH]
        me = np.arange(start, start + len(c))
        s = np.matmul(f[np.maximum(c, 0)], f[start:start + len(c), :, None])[:, :, 0]
        s[(c < 0) | (c == me[:, None])] = -2.0
        best = np.argsort(-s, axis=1, kind="stable")[:, :NEIGHBOURS]
        keep_s, keep_c = np.take_along_axis(s, best, 1), np.take_along_axis(c, best, 1)
        rows, cols = np.nonzero(keep_s >= threshold)
        for a, b, score in zip(me[rows].tolist(), keep_c[rows, cols].tolist(), keep_s[rows, cols].tolist()):
            pairs[(min(a, b), max(a, b))] = score
        if progress is not None:
            progress(len(c))
    return pairs


def link(f: np.ndarray, pairs: dict[tuple[int, int], float], threshold: float) -> list[tuple[np.ndarray, float]]:
    """(row positions, weakest pair) of each group, largest first: the closest pairs join first; a merge
    that would put two members more than SPREAD below the threshold is refused (no chaining)."""
    group_of: dict[int, list[int]] = {}
    for (a, b), _ in sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0])):
        ga, gb = group_of.get(a, [a]), group_of.get(b, [b])
        if ga is gb:
            continue
        if len(ga) * len(gb) > 1 and (f[ga] @ f[gb].T).min() < threshold - SPREAD:
            continue
        merged = ga + gb
        for i in merged:
            group_of[i] = merged
    out, seen = [], set()
    for members in group_of.values():
        if id(members) not in seen:
            seen.add(id(members))
            rows = np.array(sorted(members), np.int64)
            sims = f[rows] @ f[rows].T
            out.append((rows, float(sims[np.triu_indices(len(rows), 1)].min())))
    return sorted(out, key=lambda g: (-len(g[0]), -g[1], int(g[0][0])))
