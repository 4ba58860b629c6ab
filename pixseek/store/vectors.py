"""Vector stores: the seam between search code and where vectors live (local files, arrays, an ANN index
over either, Milvus: store/registry.py).

A store maps integer ids (catalog content ids) to fixed-size vectors and answers inner-product top-k
queries over the live ones. The local store keeps rows in an append-only raw file: writes are appended
and fsynced before the catalog commits them, and rows past the committed count (from a crash) are cut
off when the store opens. Search is exact, streamed over a memory map in chunks so memory stays bounded.

Every row carries a checksum (store/checksums.py). A row is checked once per process, when it is first
read (loaded into the float32 copy, streamed past, or fetched by id); a damaged row (checksum, values
out of range, or missing from a cut-short file) is reported once on stderr and is not live for search:
it never reaches a result or an ANN index. `pixseek verify` repairs it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np

from pixseek.config import ram_limit_bytes
from pixseek.store.allowed import Allowed, search_allowed
from pixseek.store.checksums import append_sums, damaged, read_sums, row_sums, values_ok
from pixseek.store.id_sets import unique_ids
from pixseek.store.pages import RecentRows, as_float32, release_pages, row_reader

FileMeta = tuple[str, int, int]  # (path, mtime_ns, size) of the file a new vector came from


class Vectors(Protocol):
    """What search needs: rows by id and inner-product top-k over the live ones."""

    dim: int
    rows: int  # ids below this are committed; the live ones among them are searched

    def __len__(self) -> int:
        """How many live vectors."""
        ...

    def get(self, ids: np.ndarray) -> np.ndarray:
        """(len(ids), dim) float32."""
        ...

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids), each (n_queries, k), best first; missing slots have id -1."""
        ...

    def shortlist(self, queries: np.ndarray, n: int) -> np.ndarray:
        """(n_queries, n) candidate ids (-1 where none) for a caller that scores them itself: a store with
        an index or postings skips reading exact rows here."""
        ...

    def estimate(self, ids: np.ndarray, vectors: np.ndarray) -> np.ndarray:
        """(len(ids), len(vectors)) inner products, from a compact copy in memory where the store keeps one
        (an index's 8-bit copy, class postings), exact otherwise: what a ranker narrows candidates on
        before it reads exact rows."""
        ...

    def search_within(self, queries: np.ndarray, k: int, allow: Allowed) -> tuple[np.ndarray, np.ndarray]:
        """`search` among the ids a filter allows (store/allowed.py); a store that filters itself pushes
        the filter down."""
        ...


class ExactScoring:
    """shortlist and estimate for stores that keep no compact copy: both exact (search, get); and
    filtered search from search and get (store/allowed.py)."""

    def search_within(self, queries: np.ndarray, k: int, allow: Allowed) -> tuple[np.ndarray, np.ndarray]:
        return search_allowed(self, queries, k, allow)

    def shortlist(self, queries: np.ndarray, n: int) -> np.ndarray:
        return self.search(queries, n)[1]

    def estimate(self, ids: np.ndarray, vectors: np.ndarray) -> np.ndarray:
        return self.get(ids) @ np.atleast_2d(np.asarray(vectors, np.float32)).T


class VectorStore(Vectors, Protocol):
    """A collection's durable vectors (local files, Milvus): what indexing writes through."""

    def add(self, ids: np.ndarray, vectors: np.ndarray, meta: list[FileMeta] | None = None) -> None:
        """Append rows for new ids (in order), durable before the catalog commits them; `meta` lets a store
        keep filter fields beside the vectors (Milvus), others ignore it."""
        ...

    def remove(self, ids: np.ndarray) -> None: ...

    def revive(self, ids: np.ndarray) -> None:
        """Make removed ids live again (a deleted photo's content came back)."""
        ...

    def save(self) -> None:
        """Persist what is derived from the rows (an ANN index) after a batch of changes; may do nothing."""
        ...


class StoreOver(ExactScoring):
    """A store that adds something over another (an ANN index, class postings) and hands the rest to it:
    length, row count, rows by id, which ids are usable, the stored matrix, estimates."""

    def __init__(self, store) -> None:
        self.store, self.dim = store, store.dim

    def __len__(self) -> int:
        return len(self.store)

    @property
    def rows(self) -> int:
        return self.store.rows

    def get(self, ids: np.ndarray) -> np.ndarray:
        return self.store.get(ids)

    def usable(self, ids: np.ndarray) -> np.ndarray:
        return self.store.usable(ids)

    def matrix(self) -> np.ndarray:
        return self.store.matrix()

    def estimate(self, ids: np.ndarray, vectors: np.ndarray) -> np.ndarray:
        return self.store.estimate(ids, vectors)


class LocalVectorStore(ExactScoring):
    """Rows in `<folder>/<name>.<dtype>`, row i = id i, their checksums in `<file>.sums`; a live mask
    marks removed ids."""

    CHUNK = 65536

    def __init__(self, folder: Path, name: str, dim: int, dtype: str = "float32", committed_rows: int = 0,
                 live_ids: list[int] | None = None, writer: bool = False,
                 log: Callable[[str], None] | None = None) -> None:
        """`writer=True` only under the collection's index lock: it cuts off rows an interrupted run
        appended but never committed, pads a cut-short file with zero rows (damaged, so that appends
        stay at their row) and computes the sums of rows written before sums existed. Readers leave the
        files alone (an indexer may be about to commit more rows) and never look past the committed count."""
        self.path = folder / f"{name}.{np.dtype(dtype).name}"
        self.kind, self.dim, self.dtype = name, dim, np.dtype(dtype)
        self.row_bytes = dim * self.dtype.itemsize
        self.log = log or (lambda msg: print(msg, file=sys.stderr))
        self._map: np.ndarray | None = None
        self._rows: tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]] | None = None  # (map, its reader)
        self._recent = RecentRows()
        self._ram: np.ndarray | None = None
        if writer:
            self.path.touch(exist_ok=True)
        size = self.path.stat().st_size if self.path.exists() else 0
        self.rows = committed_rows
        if writer and size != committed_rows * self.row_bytes:
            with open(self.path, "r+b") as f:
                f.truncate(committed_rows * self.row_bytes)
                os.fsync(f.fileno())
            size = committed_rows * self.row_bytes
        self._present = min(size // self.row_bytes, committed_rows)  # rows the file holds
        self._sums = read_sums(self.path, committed_rows)
        if writer and (len(self._sums) < committed_rows or self._sums_size() != committed_rows * 4):
            have = len(self._sums)
            append_sums(self.path, row_sums(self._file_rows()[have:], have), have)
            self._sums = read_sums(self.path, committed_rows)
        self._live = np.zeros(committed_rows, bool)
        if live_ids is not None and len(live_ids):
            self._live[np.asarray(live_ids, np.int64)] = True
        self._checked = np.zeros(committed_rows, bool)
        self._bad = np.zeros(committed_rows, bool)
        self._checked[self._present:] = self._bad[self._present:] = True
        self._reported = np.zeros(committed_rows, bool)
        self._report(np.arange(self._present, committed_rows))

    def __len__(self) -> int:
        return int(self._live.sum())

    @property
    def live(self) -> np.ndarray:
        """Ids that are live and not known to be damaged. Rows are checked when first read, not here: opening
        a million-photo collection must not read every row (`check_all` does)."""
        return self._live & ~self._bad

    def check_all(self) -> None:
        """Check every row not checked yet (`pixseek verify`, `damaged_ids`)."""
        for start in range(0, self.rows, self.CHUNK):
            self._check(np.arange(start, min(self.rows, start + self.CHUNK)))
            release_pages(self._map)

    def usable(self, ids: np.ndarray) -> np.ndarray:
        """(len(ids),) True where the row is live and undamaged, checking the rows not checked yet: an ANN
        index answers from its own copy, so its results are checked here before they are served."""
        ids = np.asarray(ids, np.int64)
        self._check(unique_ids(ids[~self._checked[ids]]))
        return self._live[ids] & ~self._bad[ids]

    def read(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(float32 rows, usable mask) of `ids`, checked: what an index build reads."""
        rows = self._rows32(ids)
        return rows, self._live[ids] & ~self._bad[ids]

    def damaged_ids(self) -> np.ndarray:
        """Every damaged row, live or not (checks every row)."""
        self.check_all()
        return np.flatnonzero(self._bad)

    def _sums_size(self) -> int:
        p = self.path.with_name(self.path.name + ".sums")
        return p.stat().st_size if p.exists() else 0

    def _file_rows(self) -> np.ndarray:
        """The rows the file holds, as stored (memory-mapped)."""
        if self._map is None or len(self._map) != self._present:
            self._map = (np.memmap(self.path, self.dtype, "r", shape=(self._present, self.dim))
                         if self._present else np.zeros((0, self.dim), self.dtype))
        return self._map

    def _take(self, ids: np.ndarray) -> np.ndarray:
        """Scattered rows as stored (store/pages.py: read, not mapped, from a large file)."""
        rows = self._file_rows()
        if self._rows is None or self._rows[0] is not rows:
            self._rows = (rows, row_reader(rows, self.path))
        return self._rows[1](ids)

    def _check(self, ids: np.ndarray, rows32: np.ndarray | None = None, raw: np.ndarray | None = None) -> None:
        """Check the rows `ids` not checked yet (rows32, raw: the float32 and stored values of `ids`, when
        read already)."""
        fresh = ~self._checked[ids]
        if not fresh.any():
            return
        every = bool(fresh.all())
        todo = ids if every else ids[fresh]
        if raw is not None:
            raw = raw if every else raw[fresh]
        elif _block(todo):
            raw = self._file_rows()[todo[0] : todo[-1] + 1]
        else:
            raw = self._take(todo)
        values = None if rows32 is None else rows32 if every else rows32[fresh]
        self._bad[todo] = damaged(self.kind, raw, todo, self._sums, values)
        self._checked[todo] = True
        if self._ram is not None:  # the float32 copy holds rows unchecked: a damaged one scores 0 from now on
            self._ram[todo[self._bad[todo] & (todo < len(self._ram))]] = 0
        self._report(todo[self._bad[todo]])

    def _report(self, ids: np.ndarray) -> None:
        """Tell once about damaged rows that a search would have served."""
        ids = ids[self._live[ids] & ~self._reported[ids]]
        if len(ids):
            self._reported[ids] = True
            shown = ", ".join(map(str, ids[:5])) + (", ..." if len(ids) > 5 else "")
            self.log(f"pixseek: warning: {self.path.name}: {len(ids)} damaged rows (contents {shown}) are left out "
                     "of results; run `pixseek verify` to repair them")

    def _dense(self) -> np.ndarray | None:
        """The float32 rows in RAM when they fit under $PIXSEEK_RAM_MB (converting float16 on every query
        costs more than the search itself), else None: queries stream over the memory map chunk by chunk.
        Rows are not checked as they are loaded (every checksum of 10,000 rows is ~20 ms of a cold search)
        but when served (`get`, `search`); rows known to be damaged, and rows found so later, are zero."""
        if self.rows * self.dim * 4 > ram_limit_bytes():
            self._ram = None
            return None
        if self._ram is None or len(self._ram) != self.rows:
            have = 0 if self._ram is None else len(self._ram)
            stop = max(have, min(self.rows, self._present))
            fresh = as_float32(self._file_rows()[have:stop])
            if np.may_share_memory(fresh, self._map):  # float32 rows come back as the map itself
                fresh = fresh.copy()
            release_pages(self._map)
            if stop < self.rows:  # rows the file lacks (damaged since opened)
                fresh = np.concatenate([fresh, np.zeros((self.rows - stop, self.dim), np.float32)])
            fresh[self._bad[have:]] = 0
            self._ram = fresh if self._ram is None else np.concatenate([self._ram, fresh])
        return self._ram

    def _rows32(self, ids: np.ndarray) -> np.ndarray:
        """Rows `ids` as float32, checked; damaged (or missing) rows are zero."""
        ids = np.asarray(ids, np.int64)
        there = ids < self._present
        if there.all() and _block(ids):  # a block of a scan
            out = as_float32(self._file_rows()[ids[0] : ids[-1] + 1])
            self._check(ids, out)
            release_pages(self._map)
        else:  # scattered rows, read once for both the values and their check
            raw = np.zeros((len(ids), self.dim), self.dtype)
            raw[there] = self._take(ids[there])
            out = as_float32(raw)
            self._check(ids, out, raw)
        bad = self._bad[ids]
        if bad.any():
            out[bad] = 0
        return out

    def _matrix(self) -> np.ndarray:
        """All committed rows as stored; a cut-short file is padded with zero rows in memory."""
        mat = self._file_rows()
        if self._present < self.rows:
            mat = np.concatenate([mat, np.zeros((self.rows - self._present, self.dim), self.dtype)])
        return mat

    def add(self, ids: np.ndarray, vectors: np.ndarray, meta: list[FileMeta] | None = None) -> None:
        ids = np.asarray(ids, np.int64)
        assert vectors.shape == (len(ids), self.dim), (vectors.shape, self.dim)
        assert len(ids) == 0 or (ids == np.arange(self.rows, self.rows + len(ids))).all(), "ids must be appended in order"
        assert self._present == self.rows, "a reader cannot append"
        raw = np.ascontiguousarray(vectors, self.dtype)
        with open(self.path, "ab") as f:
            f.write(raw.tobytes())
            f.flush()
            os.fsync(f.fileno())
        append_sums(self.path, row_sums(raw, self.rows), self.rows)  # durable before the catalog commits
        self._sums = np.concatenate([self._sums, row_sums(raw, self.rows)])
        n = len(ids)
        self.rows += n
        self._present += n
        self._live = np.concatenate([self._live, np.ones(n, bool)])
        self._bad = np.concatenate([self._bad, ~values_ok(self.kind, np.asarray(raw, np.float32))])
        self._checked = np.concatenate([self._checked, np.ones(n, bool)])
        self._reported = np.concatenate([self._reported, np.zeros(n, bool)])
        self._report(ids[self._bad[ids]])  # an encoder output out of range (NaN) is stored but never served

    def revive(self, ids: np.ndarray) -> None:
        self._live[np.asarray(ids, np.int64)] = True

    def save(self) -> None:
        """Every add is fsynced already."""

    def remove(self, ids: np.ndarray) -> None:
        self._live[np.asarray(ids, np.int64)] = False

    def get(self, ids: np.ndarray) -> np.ndarray:
        """(len(ids), dim) float32; damaged rows come back as zeros (they score 0 against anything)."""
        ids = np.asarray(ids, np.int64)
        if self._ram is not None and len(self._ram) == self.rows:
            self.usable(ids)  # the copy's rows are checked when first served
            return self._ram[ids]
        return self._recent.get(ids, self._rows32)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        scores, ids = self._scan(queries, k)
        if self._ram is not None and not self.usable(ids[ids >= 0]).all():
            self.check_all()  # a damaged row was about to be served: find them all (once), then search again
            scores, ids = self._scan(queries, k)
        return scores, ids

    def shortlist(self, queries: np.ndarray, n: int) -> np.ndarray:
        """Candidates from the copy as it is: the caller scores them with `get`, which checks them."""
        return self._scan(queries, n)[1]

    def estimate(self, ids: np.ndarray, vectors: np.ndarray) -> np.ndarray:
        """From the float32 copy, unchecked (a ranker reads exact, checked rows for what it returns)."""
        dense = self._dense()
        if dense is None:
            return super().estimate(ids, vectors)
        with np.errstate(invalid="ignore", over="ignore"):
            return dense[np.asarray(ids, np.int64)] @ np.atleast_2d(np.asarray(vectors, np.float32)).T

    def _scan(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Exact top-k over the live rows: the float32 copy's rows unchecked, the memory map's checked."""
        queries = np.atleast_2d(np.asarray(queries, np.float32))
        assert queries.shape[1] == self.dim, (queries.shape, self.dim)
        from pixseek.store.topk import TopK

        best = TopK(len(queries), k)
        dense = self._dense()
        chunk = self.rows if dense is not None else self.CHUNK
        for start in range(0, self.rows, max(chunk, 1)):
            stop = min(self.rows, start + chunk)
            block = dense[start:stop] if dense is not None else self._rows32(np.arange(start, stop))
            with np.errstate(invalid="ignore", over="ignore"):  # an unchecked damaged row scores NaN: never served
                scores = queries @ block.T
            scores[:, ~(self._live[start:stop] & ~self._bad[start:stop])] = -np.inf
            best.push(scores, start)  # column j is row start + j
        return best.result()

    def matrix(self) -> np.ndarray:
        """All rows (memory-mapped, unchecked) for bulk scoring, e.g. re-ranking an ANN index's candidates
        (which never include a damaged row: the index only holds `live` ones)."""
        return self._matrix()


def _block(ids: np.ndarray) -> bool:
    """Whether ids are consecutive rows in file order (first to last with no gap, ascending): only then are
    they read as one slice; ids in any other order are scattered rows, whatever their span."""
    return len(ids) > 0 and ids[-1] - ids[0] == len(ids) - 1 and bool((np.diff(ids) == 1).all())
