"""Near-duplicate photos: copies of one picture (resized, re-encoded, cropped, re-coloured), verified on
their pixels, and bursts (shots of one scene seconds apart), told apart by their dates.

Candidate pairs come from the image features (the first `feature_dims` of a visual vector, re-normalised):
a search in a PCA-reduced copy (exact up to EXACT_UP_TO photos, an HNSW graph above), CANDIDATES per
photo, re-scored exactly; each photo keeps its NEIGHBOURS closest at or above CANDIDATE. Features alone
cannot tell the same picture from the same kind of thing (two laptops on white, two ibises, a metronome
whose arm moved), so every candidate pair is then checked on the photos themselves (search/
duplicate_check.py: aligned small copies compared block by block) and its score is that check's.

Verified pairs are joined closest first, and two groups merge only when every pair across them is
verified too (complete linkage): a group never chains distinct photos, whatever the threshold. A group's
score is its weakest pair. Photos not in such a group whose dates taken (from their EXIF, not their file
times) lie within BURST_SECONDS of each other and whose features are alike form a burst: distinct
shots, for the user to choose from, never a copy to delete. The thresholds were measured on labelled real
photos and the costs at scale (benchmarks/duplicates.py, benchmarks/duplicates_scale.py, docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from pixseek.search.duplicate_check import Match, Small, compare, read_small, small_from
from pixseek.store.id_sets import unique_ids
from pixseek.store.pixel_signatures import Thumbnail
from pixseek.store.vectors import Vectors

Thumbnails = Callable[[list[int]], Mapping[int, Thumbnail | None]]  # content ids -> those with a kept thumbnail
THRESHOLD = 0.5  # verified score of a pair (duplicate_check), calibrated: benchmarks/duplicates.py
MIN_THRESHOLD = 0.45  # the lowest threshold accepted: at 0.4 two consecutive street shots of a walk
# passed the check as a crop of each other (benchmarks/duplicates.py, docs/benchmarks.md)
CANDIDATE = 0.75  # feature cosine from which a pair is checked (planted copies against their original
# measured: 0.79 and above for photos over SMALL pixels; 0.70 checked 3.5 times as many pairs)
CANDIDATE_SMALL = 0.70  # the same where either photo has at most SMALL pixels: the features of a 32 px copy
# of a 64 px photo lie 0.54-0.78 from the original and its other copies (Tiny ImageNet); 0.70 joins every one
# measured through at least one of them (10,516 candidate pairs on 10,000 Tiny ImageNet photos, 3,031 at 0.74)
SMALL = 128 * 128
NEIGHBOURS = 10  # candidate pairs kept per photo, its closest at or above CANDIDATE
CANDIDATES = 40  # neighbours per photo found in the reduced space and re-scored exactly (pair recall
# against an exact join at 100,000 photos: 0.997 with 40, 0.86 with 10; docs/benchmarks.md)
REDUCED_DIM = 128  # PCA dimensions of the candidate search (64 gave pair recall 0.990)
EXACT_UP_TO = 20_000  # photos up to which the candidate search is exact; an HNSW graph above
BATCH = 1024
BURST_SECONDS = 10  # the longest gap between two shots of one burst (dates taken from EXIF)
BURST_SPAN = 60  # the longest a burst lasts, first shot to last
BURST_COSINE = 0.5  # feature cosine two consecutive shots of one burst reach at least
READERS = 2  # threads reading and checking the photos of candidate pairs (decoding and OpenCV release the GIL)


@dataclass
class Group:
    ids: list[int]  # content ids, in id order
    score: float  # copies: the lowest verified score of two members; a burst: the lowest feature cosine
    kind: str = "copies"  # or "burst"
    matches: dict[tuple[int, int], Match] = field(default_factory=dict)  # copies: every pair (a < b)
    seconds: float | None = None  # a burst: first shot to last


def check_threshold(threshold: float) -> None:
    """Refuse a threshold outside [MIN_THRESHOLD, 1] (ValueError, in the user's words)."""
    if not MIN_THRESHOLD <= threshold <= 1:  # NaN fails too
        raise ValueError(f"the duplicate threshold is a verified similarity from {MIN_THRESHOLD} to 1 "
                         f"(default {THRESHOLD}), not {threshold}")


def near_duplicates(store: Vectors, ids: np.ndarray, paths: Mapping[int, str], threshold: float = THRESHOLD,
                    progress: Callable[[int], None] | None = None, feature_dims: int | None = None,
                    exact_up_to: int = EXACT_UP_TO, taken: Mapping[int, float] | None = None,
                    pixels: Mapping[int, int] | None = None, thumbnails: Thumbnails | None = None) -> list[Group]:
    """Groups of two or more of `ids` (live content ids), largest first. paths: a file of each content,
    read to verify its pairs where `thumbnails` (content ids -> their kept pixel thumbnails) gives none;
    taken: seconds of each content's EXIF date taken, where it has one; pixels: each content's pixel count
    (small photos get a lower candidate cosine); feature_dims: the part of a visual vector that holds the
    image features (None: the whole vector)."""
    ids = unique_ids(np.asarray(ids, np.int64))
    if len(ids) < 2:
        return []
    return group_features(unit_features(store, ids, feature_dims), ids, paths, threshold, progress, exact_up_to,
                          taken, pixels, thumbnails)


def group_features(f: np.ndarray, ids: np.ndarray, paths: Mapping[int, str], threshold: float = THRESHOLD,
                   progress: Callable[[int], None] | None = None, exact_up_to: int = EXACT_UP_TO,
                   taken: Mapping[int, float] | None = None, pixels: Mapping[int, int] | None = None,
                   thumbnails: Thumbnails | None = None) -> list[Group]:
    """near_duplicates on unit feature rows `f` of `ids`, already read: needs no store and no lock."""
    check_threshold(threshold)
    if len(ids) < 2:
        return []
    pixels = pixels or {}
    floor = np.array([CANDIDATE_SMALL if 0 < pixels.get(int(i), SMALL + 1) <= SMALL else CANDIDATE for i in ids],
                     np.float32)
    pairs = scored_pairs(f, candidates(f, min(CANDIDATES, len(ids) - 1), exact_up_to), floor, progress)
    rows = sorted({i for pair in pairs for i in pair})
    kept = thumbnails([int(ids[i]) for i in rows]) if thumbnails is not None else {}
    checker = Checker({i: paths.get(int(ids[i])) for i in rows}, {i: kept[int(ids[i])] for i in rows if int(ids[i]) in kept})
    verified = {p: m for p, m in checker.many(pairs).items() if m is not None and m.score >= threshold}
    groups = [Group(sorted(ids[g].tolist()), min(m.score for m in ms.values()), "copies",
                    {(int(ids[a]), int(ids[b])): m for (a, b), m in ms.items()})
              for g, ms in link(verified, checker, threshold)]
    grouped = {i for g in groups for i in g.ids}
    groups += bursts(f, ids, taken or {}, grouped)
    return sorted(groups, key=lambda g: (g.kind != "copies", -len(g.ids), -g.score, g.ids[0]))


class Checker:
    """The pixel check of pairs of rows, each photo read once (in READERS threads) and each pair once.
    thumbnails: row -> the photo's kept pixel thumbnail (store/pixel_signatures.py), used instead of its file."""

    def __init__(self, paths: Mapping[int, str | None], thumbnails: Mapping[int, Thumbnail | None] | None = None) -> None:
        self.paths = dict(paths)
        self.thumbnails = dict(thumbnails or {})
        self.small: dict[int, Small | None] = {}
        self.done: dict[tuple[int, int], Match | None] = {}

    def many(self, pairs) -> dict[tuple[int, int], Match | None]:
        """The check of each of `pairs`, in READERS threads (OpenCV releases the GIL)."""
        self.read({i for pair in pairs for i in pair})
        pairs = list(pairs)
        with ThreadPoolExecutor(READERS) as pool:
            return dict(zip(pairs, pool.map(lambda pair: self.pair(*pair), pairs, chunksize=64)))

    def pair(self, a: int, b: int) -> Match | None:
        key = (min(a, b), max(a, b))
        if key not in self.done:
            self.read(key)
            one, other = self.small.get(key[0]), self.small.get(key[1])
            self.done[key] = compare(one, other) if one is not None and other is not None else None
        return self.done[key]

    def read(self, rows) -> None:
        """Read the photos of `rows` not read yet."""
        todo = [i for i in rows if i not in self.small]
        if not todo:
            return
        with ThreadPoolExecutor(READERS) as pool:
            self.small.update(zip(todo, pool.map(self._small, todo)))

    def _small(self, row: int) -> Small | None:
        if row in self.thumbnails:
            kept = self.thumbnails[row]
            return None if kept is None else small_from(*kept)
        return read_small(self.paths[row]) if self.paths.get(row) else None


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


def scored_pairs(f: np.ndarray, cand: np.ndarray, threshold: float | np.ndarray,
                 progress: Callable[[int], None] | None = None) -> dict[tuple[int, int], float]:
    """Each row's NEIGHBOURS best candidates at or above the threshold, by exact cosine: {(a, b): s}, a < b.
    threshold: one for all, or one per row (a pair needs the lower of its two rows')."""
    floor = np.broadcast_to(np.asarray(threshold, np.float32), (len(f),))
    pairs: dict[tuple[int, int], float] = {}
    for start in range(0, len(f), BATCH):
        c = cand[start:start + BATCH]
        me = np.arange(start, start + len(c))
        s = np.matmul(f[np.maximum(c, 0)], f[start:start + len(c), :, None])[:, :, 0]
        s[(c < 0) | (c == me[:, None])] = -2.0
        best = np.argsort(-s, axis=1, kind="stable")[:, :NEIGHBOURS]
        keep_s, keep_c = np.take_along_axis(s, best, 1), np.take_along_axis(c, best, 1)
        rows, cols = np.nonzero(keep_s >= np.minimum(floor[me][:, None], floor[np.maximum(keep_c, 0)]))
        for a, b, score in zip(me[rows].tolist(), keep_c[rows, cols].tolist(), keep_s[rows, cols].tolist()):
            pairs[(min(a, b), max(a, b))] = score
        if progress is not None:
            progress(len(c))
    return pairs


def link(verified: dict[tuple[int, int], Match], checker: Checker, threshold: float
         ) -> list[tuple[np.ndarray, dict[tuple[int, int], Match]]]:
    """(row positions, every pair's match) of each group: the best verified pairs join first; two groups
    merge only when every pair across them is verified at or above the threshold (complete linkage)."""
    group_of: dict[int, list[int]] = {}
    for (a, b), _ in sorted(verified.items(), key=lambda kv: (-kv[1].score, kv[0])):
        ga, gb = group_of.get(a, [a]), group_of.get(b, [b])
        if ga is gb:
            continue
        across = [checker.pair(x, y) for x in ga for y in gb] if len(ga) * len(gb) > 1 else [verified[(a, b)]]
        if any(m is None or m.score < threshold for m in across):
            continue
        merged = ga + gb
        for i in merged:
            group_of[i] = merged
    out, seen = [], set()
    for members in group_of.values():
        if id(members) not in seen:
            seen.add(id(members))
            rows = sorted(members)
            out.append((np.array(rows, np.int64),
                        {(a, b): checker.pair(a, b) for k, a in enumerate(rows) for b in rows[k + 1:]}))
    return out


def bursts(f: np.ndarray, ids: np.ndarray, taken: Mapping[int, float], grouped: set[int]) -> list[Group]:
    """Shots dated (EXIF) within BURST_SECONDS of the previous one, alike in features, a burst lasting at
    most BURST_SPAN; photos already grouped as copies are left out."""
    rows = sorted((taken[int(c)], r) for r, c in enumerate(ids) if int(c) in taken and int(c) not in grouped)
    out: list[Group] = []
    run: list[tuple[float, int]] = []
    weakest = 1.0

    def close() -> None:
        if len(run) > 1:
            out.append(Group(sorted(int(ids[r]) for _, r in run), round(weakest, 6), "burst",
                             seconds=run[-1][0] - run[0][0]))

    for t, r in rows:
        if run:
            cosine = float(f[run[-1][1]] @ f[r])
            if t - run[-1][0] <= BURST_SECONDS and t - run[0][0] <= BURST_SPAN and cosine >= BURST_COSINE:
                run.append((t, r))
                weakest = min(weakest, cosine)
                continue
            close()
        run, weakest = [(t, r)], 1.0
    close()
    return out
