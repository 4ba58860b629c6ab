"""Word search over class probabilities at scale: inverted lists of each photo's strongest classes.

A ConSE query is a weight per class; its score for a photo is the inner product with the photo's 1,000
probabilities. Exact, that reads every photo's row (2 GB of float16 at a million photos). Most of a
photo's probability sits on a few classes, so each photo's TOP strongest classes are kept as postings:
one list per class of (row, probability), strongest first. A query reads the heads of its heaviest
classes' lists, sums them per photo to nominate candidates, and re-scores those candidates exactly on
their stored rows: the scores it returns are exact, only the candidate pool is approximate (recall@10 against
the exact scan: docs/benchmarks.md).

Below POSTINGS_FROM rows the exact scan is fast enough and no postings exist. The file
(`probs.postings`, covering the first `rows` rows) is written by the writer (`save`, after an index
run); rows added since are kept as a second, in-memory segment built when the store opens, so adding
photos never rebuilds anything until the next `save` merges them in (one sort of the postings).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pixseek.atomic import atomic_path
from pixseek.store.topk import top_k
from pixseek.store.vectors import FileMeta, LocalVectorStore, StoreOver

POSTINGS_FROM = 100_000  # rows; below this, queries scan every row exactly
TOP = 16  # classes kept per photo
QUERY_MASS = 0.9  # a query reads the lists of its heaviest classes up to this share of its weight...
QUERY_CLASSES = 256  # ...and at most this many
MIN_POOL = 400  # candidates re-scored exactly: k, at least this many
CHUNK = 65536


@dataclass
class Segment:
    """Postings of rows [first, first + rows): for class c, rows ids[starts[c]:starts[c+1]] with values."""

    first: int
    rows: int
    starts: np.ndarray  # (classes + 1,) int64
    ids: np.ndarray  # int32 row ids
    values: np.ndarray  # float16 probabilities


class PostingsStore(StoreOver):
    """The probabilities store (add, remove, revive, get, search, save) with postings for search at scale."""

    def __init__(self, store: LocalVectorStore, folder: Path, writer: bool = False,
                 postings_from: int = POSTINGS_FROM) -> None:
        super().__init__(store)
        self.path = Path(folder) / f"{store.path.stem}.postings"
        self.writer, self.postings_from = writer, postings_from
        self.segments: list[Segment] = []
        self._on_disk = 0  # rows the file covers
        if store.rows >= postings_from:
            self._open()

    # -- the store interface (the rest is StoreOver's) --------------------------------------------
    def add(self, ids: np.ndarray, vectors: np.ndarray, meta: list[FileMeta] | None = None) -> None:
        self.store.add(ids, vectors, meta)  # searched exactly beside the postings until `save`

    def remove(self, ids: np.ndarray) -> None:
        self.store.remove(ids)

    def revive(self, ids: np.ndarray) -> None:
        self.store.revive(ids)

    def save(self) -> None:
        """Write the postings of every row (merging rows added since the file was written), once the
        store is large enough to use them."""
        rows = self.store.rows
        if not self.writer or rows < self.postings_from or self._on_disk == rows:
            return
        covered = self._covered()
        segments = self.segments + ([_build(self.store, covered, rows)] if covered < rows else [])
        merged = _merge(segments, self.dim) if len(segments) > 1 else segments[0]
        _save(self.path, merged)
        self.segments, self._on_disk = [merged], rows

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids), each (n_queries, k), best first, exact scores of the nominated candidates."""
        if not self.segments:
            return self.store.search(queries, k)
        queries = np.atleast_2d(np.asarray(queries, np.float32))
        covered = self._covered()
        pool = max(k, MIN_POOL)
        out_s, out_i = [], []
        for q in queries:
            cand = self._nominate(q, pool)
            if covered < self.store.rows:
                cand = np.concatenate([cand, np.arange(covered, self.store.rows)])
            scores = self.store.get(cand) @ q  # reads and checks the rows once
            keep = self.store.usable(cand)
            cand, scores = cand[keep], scores[keep]
            s, i = top_k(scores[None, :], k, cand[None, :])
            out_s.append(s[0])
            out_i.append(i[0])
        return np.stack(out_s), np.stack(out_i)

    # -- postings ---------------------------------------------------------------------------------
    def _covered(self) -> int:
        return sum(seg.rows for seg in self.segments)

    def _open(self) -> None:
        try:
            base = _load(self.path) if self.path.exists() else None
        except (OSError, ValueError):
            base = None  # damaged: rebuilt in memory now, and by the writer's next save
        if base is None or base.rows > self.store.rows or len(base.starts) != self.dim + 1:
            base = None
        self.segments = [base] if base is not None else []
        self._on_disk = base.rows if base is not None else 0
        covered = self._covered()
        if covered < self.store.rows:
            self.segments.append(_build(self.store, covered, self.store.rows))

    def _nominate(self, q: np.ndarray, pool: int) -> np.ndarray:
        """Rows whose strongest classes carry most of the query's weight (`pool` of them at most): the
        heads of the heaviest classes' lists (each list is ordered by probability, strongest first)."""
        order = np.argsort(-q)[:QUERY_CLASSES]
        weights = q[order]
        keep = weights > 0
        mass = np.cumsum(weights[keep])
        n = int(np.searchsorted(mass, QUERY_MASS * mass[-1]) + 1) if len(mass) else 0
        classes, weights = order[keep][:n], weights[keep][:n]
        found_ids, found_scores = [], []
        for seg in self.segments:
            lo = seg.starts[classes]
            hi = np.minimum(seg.starts[classes + 1], lo + pool)
            if not (hi > lo).any():
                continue
            idx = np.concatenate([np.arange(a, b) for a, b in zip(lo, hi)])
            w = np.repeat(weights, hi - lo)
            rows = seg.ids[idx] - seg.first
            summed = np.bincount(rows, weights=w * seg.values[idx], minlength=seg.rows)
            touched = np.flatnonzero(summed)
            take = min(pool, len(touched))
            if take:
                best = touched[np.argpartition(-summed[touched], take - 1)[:take]]
                found_ids.append(best + seg.first)
                found_scores.append(summed[best])
        if not found_ids:
            return np.zeros(0, np.int64)
        ids, scores = np.concatenate(found_ids), np.concatenate(found_scores)
        if len(ids) > pool:
            ids = ids[np.argpartition(-scores, pool - 1)[:pool]]
        return ids


def forget_postings(folder: Path) -> None:
    """Remove the postings files of a collection whose rows were repaired in place (they left the damaged
    rows out); the next open builds them again."""
    for path in Path(folder).glob("*.postings"):
        path.unlink(missing_ok=True)


def _build(store: LocalVectorStore, first: int, stop: int) -> Segment:
    """Postings of rows first..stop-1, read a chunk at a time (damaged rows left out)."""
    classes, ids, values = [], [], []
    for lo in range(first, stop, CHUNK):
        part = np.arange(lo, min(stop, lo + CHUNK))
        rows, ok = store.read(part)
        rows, part = rows[ok], part[ok]
        top = min(TOP, store.dim)
        best = np.argpartition(-rows, top - 1, axis=1)[:, :top]
        classes.append(best.astype(np.int16).ravel())
        ids.append(np.repeat(part.astype(np.int32), top))
        values.append(np.take_along_axis(rows, best, 1).astype(np.float16).ravel())
    cls = np.concatenate(classes) if classes else np.zeros(0, np.int16)
    ids_ = np.concatenate(ids) if ids else np.zeros(0, np.int32)
    values_ = np.concatenate(values) if values else np.zeros(0, np.float16)
    return _ordered(Segment(first, stop - first, np.zeros(0, np.int64), ids_, values_), cls, store.dim)


def _ordered(seg: Segment, cls: np.ndarray, dim: int) -> Segment:
    """`seg` with its postings sorted by class, strongest first within a class (the heads a query reads)."""
    order = np.lexsort((-seg.values.astype(np.float32), cls))
    starts = np.searchsorted(cls[order], np.arange(dim + 1)).astype(np.int64)
    return Segment(seg.first, seg.rows, starts, seg.ids[order], seg.values[order])


def _merge(segments: list[Segment], dim: int) -> Segment:
    """One segment from consecutive ones (row ids are global, so only the class order is rebuilt)."""
    cls = np.concatenate([np.repeat(np.arange(dim, dtype=np.int16), np.diff(s.starts)) for s in segments])
    ids = np.concatenate([np.asarray(s.ids) for s in segments])
    values = np.concatenate([np.asarray(s.values) for s in segments])
    return _ordered(Segment(segments[0].first, sum(s.rows for s in segments), np.zeros(0, np.int64), ids, values),
                    cls, dim)


MAGIC = b"pixseek-postings-1\0"


def _save(path: Path, seg: Segment) -> None:
    """One file: a header (magic, rows, classes, postings), then starts, ids and values as stored in memory,
    so that opening it maps them instead of reading 100 MB; written atomically."""
    header = np.array([seg.rows, len(seg.starts) - 1, len(seg.ids)], np.int64).tobytes()
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(MAGIC + header)
        for array, dtype in ((seg.starts, np.int64), (seg.ids, np.int32), (seg.values, np.float16)):
            f.write(np.ascontiguousarray(array, dtype).tobytes())


def _load(path: Path) -> Segment:
    """The file's segment, its arrays memory-mapped; ValueError when the file is not whole."""
    with open(path, "rb") as f:
        head = f.read(len(MAGIC) + 24)
    if len(head) < len(MAGIC) + 24 or not head.startswith(MAGIC):
        raise ValueError(f"{path} is not a postings file")
    rows, classes, n = (int(v) for v in np.frombuffer(head[len(MAGIC):], np.int64))
    offset = len(head)
    if path.stat().st_size != offset + 8 * (classes + 1) + 6 * n:
        raise ValueError(f"{path} is cut short")
    starts = np.memmap(path, np.int64, "r", offset, (classes + 1,))
    ids = np.memmap(path, np.int32, "r", offset + 8 * (classes + 1), (n,))
    values = np.memmap(path, np.float16, "r", offset + 8 * (classes + 1) + 4 * n, (n,))
    if n and (int(starts[-1]) != n or int(starts[0]) != 0):
        raise ValueError(f"{path} is damaged")
    return Segment(0, rows, np.asarray(starts), ids, values)
