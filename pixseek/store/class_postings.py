"""Word search over class probabilities at scale: inverted lists of each photo's strongest classes.

A ConSE query is a weight per class; its score for a photo is the inner product with the photo's 1,000
probabilities. Exact, that reads every photo's row (2 GB of float16 at a million photos). Most of a
photo's probability sits on a few classes, so each photo's TOP strongest classes are kept as postings:
one list per class of (row, probability), strongest first. A query reads the heads of its heaviest
classes' lists, sums them per photo to nominate candidates, and re-scores those candidates exactly on
their stored rows: the scores it returns are exact, only the candidate pool is approximate (recall@10 against
the exact scan: docs/benchmarks.md). The same classes are also kept per photo (a forward copy, 64 bytes a
photo), so a ranker can estimate any photo's score from them before it reads exact rows (`estimate`).

Below POSTINGS_FROM rows the exact scan is fast enough and no postings exist. The file
(`probs.postings`, covering the first `rows` rows, and `probs.postings.from`, the fingerprint of the stored
rows it was built over: a file built over other rows is built again) is written by the writer (`save`, after an index
run); rows added since are kept as a second, in-memory segment built when the store opens, so adding
photos never rebuilds anything until the next `save` merges them in (one sort of the postings).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pixseek.atomic import atomic_path, atomic_write
from pixseek.store.provenance import from_path, rows_fingerprint
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
    classes: np.ndarray  # (rows, TOP) int16: row first + r's strongest classes (forward copy)...
    strengths: np.ndarray  # (rows, TOP) float16: ...and their probabilities (0 for a row left out)


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
        atomic_write(from_path(self.path), rows_fingerprint(self.store.path, self.store.row_bytes, rows))
        self.segments, self._on_disk = [merged], rows

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids), each (n_queries, k), best first, exact scores of the nominated candidates."""
        if not self.segments:
            return self.store.search(queries, k)
        queries = np.atleast_2d(np.asarray(queries, np.float32))
        out_s, out_i = [], []
        for q in queries:
            cand = self._candidates(q, max(k, MIN_POOL))
            scores = self.store.get(cand) @ q  # reads and checks the rows once
            keep = self.store.usable(cand)
            cand, scores = cand[keep], scores[keep]
            s, i = top_k(scores[None, :], k, cand[None, :])
            out_s.append(s[0])
            out_i.append(i[0])
        return np.stack(out_s), np.stack(out_i)

    def shortlist(self, queries: np.ndarray, n: int) -> np.ndarray:
        """(n_queries, n) live ids nominated by the postings (no rows read), -1 where fewer."""
        if not self.segments:
            return self.store.shortlist(queries, n)
        queries = np.atleast_2d(np.asarray(queries, np.float32))
        out = np.full((len(queries), n), -1, np.int64)
        live = self.store.live
        for r, q in enumerate(queries):
            cand = self._candidates(q, max(n, MIN_POOL))
            cand = cand[live[cand]]
            if len(cand) > n:
                cand = cand[np.argpartition(-self.estimate(cand, q)[:, 0], n - 1)[:n]]
            out[r, :len(cand)] = cand
        return out

    def estimate(self, ids: np.ndarray, vectors: np.ndarray) -> np.ndarray:
        """From each photo's strongest classes (a lower bound: the rest of its probability is left out);
        rows no segment covers yet are the underlying store's estimates (its exact rows, unchecked)."""
        vectors = np.atleast_2d(np.asarray(vectors, np.float32))
        ids = np.asarray(ids, np.int64)
        out = np.empty((len(ids), len(vectors)), np.float32)
        done = np.zeros(len(ids), bool)
        for seg in self.segments:
            at = np.flatnonzero((ids >= seg.first) & (ids < seg.first + seg.rows))
            if len(at):
                rows = ids[at] - seg.first
                cls, val = np.asarray(seg.classes[rows], np.int64), np.asarray(seg.strengths[rows], np.float32)
                out[at] = np.einsum("nt,unt->nu", val, vectors[:, cls])
                done[at] = True
        if not done.all():
            out[~done] = self.store.estimate(ids[~done], vectors)
        return out

    # -- postings ---------------------------------------------------------------------------------
    def _candidates(self, q: np.ndarray, pool: int) -> np.ndarray:
        """The postings' nominees for one query, and every row added since the segments were made."""
        cand = self._nominate(q, pool)
        covered = self._covered()
        if covered < self.store.rows:
            cand = np.concatenate([cand, np.arange(covered, self.store.rows)])
        return cand

    def _covered(self) -> int:
        return sum(seg.rows for seg in self.segments)

    def _open(self) -> None:
        try:
            base = _load(self.path) if self.path.exists() else None
        except (OSError, ValueError):
            base = None  # damaged: rebuilt in memory now, and by the writer's next save
        if base is None or base.rows > self.store.rows or len(base.starts) != self.dim + 1 or not self._built_over(base):
            base = None  # also postings of rows that other photos hold now (a catalog restored): built again
        self.segments = [base] if base is not None else []
        self._on_disk = base.rows if base is not None else 0
        covered = self._covered()
        if covered < self.store.rows:
            self.segments.append(_build(self.store, covered, self.store.rows))

    def _built_over(self, base: Segment) -> bool:
        """Whether the file's postings were built over the stored rows there now (it records their
        fingerprint, store/provenance.py: row ids are reused after a catalog goes back to an earlier state).
        A file from before postings recorded it is used as it was (rebuilding a million rows' postings
        for every search would be minutes) until the writer's next save."""
        try:
            recorded = from_path(self.path).read_text()
        except FileNotFoundError:
            return True
        except OSError:
            return False
        return recorded == rows_fingerprint(self.store.path, self.store.row_bytes, base.rows)

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
            touched, where = np.unique(seg.ids[idx], return_inverse=True)  # only the rows the heads name
            summed = np.bincount(where, weights=w * seg.values[idx], minlength=len(touched))
            take = min(pool, len(touched))
            if take:
                best = np.argpartition(-summed, take - 1)[:take]
                found_ids.append(touched[best].astype(np.int64))
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
        from_path(path).unlink(missing_ok=True)


def _build(store: LocalVectorStore, first: int, stop: int) -> Segment:
    """Postings of rows first..stop-1, read a chunk at a time (damaged rows left out)."""
    top = min(TOP, store.dim)
    forward_cls = np.zeros((stop - first, top), np.int16)
    forward_val = np.zeros((stop - first, top), np.float16)
    for lo in range(first, stop, CHUNK):
        part = np.arange(lo, min(stop, lo + CHUNK))
        rows, ok = store.read(part)
        rows, part = rows[ok], part[ok]
        best = np.argpartition(-rows, top - 1, axis=1)[:, :top]
        forward_cls[part - first] = best
        forward_val[part - first] = np.take_along_axis(rows, best, 1)
    kept = forward_val.any(1)
    cls = forward_cls[kept].ravel()
    ids = np.repeat(np.arange(first, stop, dtype=np.int32)[kept], top)
    return _ordered(Segment(first, stop - first, np.zeros(0, np.int64), ids, forward_val[kept].ravel(),
                            forward_cls, forward_val), cls, store.dim)


def _ordered(seg: Segment, cls: np.ndarray, dim: int) -> Segment:
    """`seg` with its postings sorted by class, strongest first within a class (the heads a query reads)."""
    order = np.lexsort((-seg.values.astype(np.float32), cls))
    starts = np.searchsorted(cls[order], np.arange(dim + 1)).astype(np.int64)
    return Segment(seg.first, seg.rows, starts, seg.ids[order], seg.values[order], seg.classes, seg.strengths)


def _merge(segments: list[Segment], dim: int) -> Segment:
    """One segment from consecutive ones (row ids are global, so only the class order is rebuilt)."""
    cls = np.concatenate([np.repeat(np.arange(dim, dtype=np.int16), np.diff(s.starts)) for s in segments])
    ids = np.concatenate([np.asarray(s.ids) for s in segments])
    values = np.concatenate([np.asarray(s.values) for s in segments])
    classes = np.concatenate([np.asarray(s.classes) for s in segments])
    strengths = np.concatenate([np.asarray(s.strengths) for s in segments])
    return _ordered(Segment(segments[0].first, sum(s.rows for s in segments), np.zeros(0, np.int64), ids, values,
                            classes, strengths), cls, dim)


MAGIC = b"pixseek-postings-2\0"  # 2: with the forward copy (a file of 1 is rebuilt when opened)


def _save(path: Path, seg: Segment) -> None:
    """One file: a header (magic, rows, classes, postings, classes kept per row), then starts, ids, values
    and the forward copy as stored in memory, so that opening it maps them instead of reading 160 MB;
    written atomically."""
    top = seg.classes.shape[1]
    header = np.array([seg.rows, len(seg.starts) - 1, len(seg.ids), top], np.int64).tobytes()
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(MAGIC + header)
        for array, dtype in ((seg.starts, np.int64), (seg.ids, np.int32), (seg.values, np.float16),
                             (seg.classes, np.int16), (seg.strengths, np.float16)):
            f.write(np.ascontiguousarray(array, dtype).tobytes())


def _load(path: Path) -> Segment:
    """The file's segment, its arrays memory-mapped; ValueError when the file is not whole."""
    with open(path, "rb") as f:
        head = f.read(len(MAGIC) + 32)
    if len(head) < len(MAGIC) + 32 or not head.startswith(MAGIC):
        raise ValueError(f"{path} is not a postings file of this version")
    rows, classes, n, top = (int(v) for v in np.frombuffer(head[len(MAGIC):], np.int64))
    offset = len(head)
    if path.stat().st_size != offset + 8 * (classes + 1) + 6 * n + 4 * rows * top:
        raise ValueError(f"{path} is cut short")
    starts = np.memmap(path, np.int64, "r", offset, (classes + 1,))
    offset += 8 * (classes + 1)
    ids = np.memmap(path, np.int32, "r", offset, (n,))
    values = np.memmap(path, np.float16, "r", offset + 4 * n, (n,))
    offset += 6 * n
    forward_cls = np.memmap(path, np.int16, "r", offset, (rows, top))
    forward_val = np.memmap(path, np.float16, "r", offset + 2 * rows * top, (rows, top))
    if n and (int(starts[-1]) != n or int(starts[0]) != 0):
        raise ValueError(f"{path} is damaged")
    return Segment(0, rows, np.asarray(starts), ids, values, forward_cls, forward_val)
