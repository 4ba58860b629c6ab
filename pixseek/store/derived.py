"""Vectors computed from a collection's stored rows (joint-space vectors, mapped word vectors), kept beside them.

A derived file holds one float16 row per catalog row, in row order, and `<file>.from` the fingerprint of the
stored rows each was computed from (store/provenance.py). A row counts only while its fingerprint matches
the stored rows now: row ids are reused after a catalog goes back to an earlier state (a backup restored,
a lost -wal), so rows of photos that are gone are derived again, as are rows never derived and rows
derived from a damaged stored row (never live: they reach no result).

Only a writer writes the file (indexing, `reindex`, `verify`: the explicit steps), under a lock, rows first
and their fingerprints after, so an interrupted write leaves rows that read as stale, never as current.
A reader (a search, a server) never writes: it serves the file's current rows and derives the others in
memory, so searching works the same on a full disk or a read-only mount. The data file never shrinks
(a reader on an older snapshot may map a longer prefix).

LEGACY: a file from before rows recorded their sources (no `.from` at all) is served by readers as it is,
as it was before (deriving a million rows in memory for every search would be minutes); the next writer
derives all of it again, and `verify` counts it as a problem until then.
"""

from __future__ import annotations

import errno
import fcntl
import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from pixseek.config import DEFAULT_MAX_MEMORY
from pixseek.store.arrays import ArrayStore
from pixseek.store.overlay import Overlay
from pixseek.store.provenance import UNKNOWN, fingerprint_of, from_path, read_from, stale_rows, write_from
from pixseek.store.vectors import Vectors

BLOCK = 8192
DERIVED_DIR = "derived"  # inside the collection folder
# ids -> (derived rows, True where the stored rows they came from are intact)
Compute = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def derived_store(path: Path, dim: int, rows: int, live_ids: np.ndarray | list[int], compute: Compute,
                  sources: np.ndarray, writer: bool = False, progress: bool | None = None,
                  label: str = "deriving") -> Vectors:
    """Vectors over path (rows x dim float16; an ANN index over them at scale) for the stored rows whose
    fingerprints are `sources` (provenance.row_fingerprints). `writer`: bring the file up to date first
    (a writer that cannot write, full disk or read-only, serves as a reader does)."""
    current = np.asarray(sources[:rows], np.uint64)
    assert len(current) == rows, (len(current), rows)
    if writer:
        try:
            _bring_up_to_date(path, dim, current, compute, progress, label)
        except OSError as exc:
            if not cannot_write(exc):
                raise
            writer = False
    present = _present(path, dim, rows)
    marks = read_from(path, rows) if from_path(path).exists() else current[:present]  # see LEGACY
    stale = stale_rows(marks, current, present)
    live = _live(rows, live_ids)
    fresh_ids, fresh_rows = [], []
    for ids, block, ok in _blocks(np.flatnonzero(stale), compute, dim):  # derived in memory, never written
        live[ids[~ok]] = False  # from a damaged stored row: never served, and read as zeros (as stores do)
        block[~ok] = 0
        fresh_ids.append(ids)
        fresh_rows.append(block)
    matrix = np.memmap(path, np.float16, "r", shape=(present, dim)) if present else np.zeros((0, dim), np.float16)
    fresh = np.concatenate(fresh_ids) if fresh_ids else np.zeros(0, np.int64)
    if not len(fresh):
        return _indexed(ArrayStore(matrix, live, path), marks, writer)
    base_live = live[:present].copy()
    base_live[fresh[fresh < present]] = False  # the file's stale rows: their replacements serve instead
    base = _indexed(ArrayStore(matrix, base_live, path), marks[:present], writer, size=int(live.sum()))
    return Overlay(base, fresh, np.concatenate(fresh_rows), live)


def cannot_write(exc: OSError) -> bool:
    """A folder that takes no writes now (full, over quota, read-only): read paths go on without writing."""
    return isinstance(exc, PermissionError) or exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES)


def _present(path: Path, dim: int, rows: int) -> int:
    try:
        return min(path.stat().st_size // (2 * dim), rows)
    except FileNotFoundError:
        return 0


def _blocks(ids: np.ndarray, compute: Compute, dim: int, bar=None):
    """(ids, float16 rows, source intact) for `ids`, BLOCK at a time."""
    for start in range(0, len(ids), BLOCK):
        part = ids[start:start + BLOCK]
        block, ok = compute(part)
        block = np.asarray(block, np.float32)
        assert block.shape == (len(part), dim), (block.shape, dim)
        if bar is not None:
            bar.update(len(part))
        yield part, np.nan_to_num(block).astype(np.float16), np.asarray(ok, bool)


def _bring_up_to_date(path: Path, dim: int, current: np.ndarray, compute: Compute, progress, label: str) -> None:
    """Derive, under the file's lock, every row that is missing or stale; rows written (fsynced) before
    their fingerprints."""
    path.parent.mkdir(parents=True, exist_ok=True)
    row_bytes, rows = 2 * dim, len(current)
    with open(path.with_name(path.name + ".lock"), "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            marks = read_from(path)
            stale = stale_rows(marks, current, _present(path, dim, rows))
            todo = np.flatnonzero(stale)
            if not len(todo):
                return
            show = (sys.stderr.isatty() if progress is None else progress) and len(todo) > 4 * BLOCK
            bar = None
            if show:
                from tqdm import tqdm

                bar = tqdm(total=len(todo), unit="img", desc=label, file=sys.stderr)
            new = np.zeros(max(len(marks), rows), np.uint64)
            new[:len(marks)] = marks
            with open(path, "r+b" if path.exists() else "wb") as f:
                if os.fstat(f.fileno()).st_size < rows * row_bytes:
                    f.truncate(rows * row_bytes)  # never shorter: a reader may map a longer prefix
                for ids, block, ok in _blocks(todo, compute, dim, bar):
                    for run in np.split(np.arange(len(ids)), np.flatnonzero(np.diff(ids) != 1) + 1):
                        f.seek(int(ids[run[0]]) * row_bytes)
                        f.write(block[run].tobytes())
                    new[ids] = np.where(ok, current[ids], np.uint64(UNKNOWN))
                f.flush()
                os.fsync(f.fileno())
            write_from(path, new)
            if bar is not None:
                bar.close()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _indexed(store: ArrayStore, marks: np.ndarray, writer: bool, size: int | None = None) -> Vectors:
    """The store behind the ANN index `auto` picks for its size (none, under 20,000 rows: exact search;
    `size`: the live rows of the whole store when some are served beside this one, store/overlay.py).
    The index file sits beside the derived file and records which derived rows it was built over; a
    writer builds, catches up or rebuilds it under the file's lock, a reader serves it only when it was
    built over the rows there now (else it searches exactly)."""
    from pixseek.store.ann import IndexedVectorStore, resolve_index
    from pixseek.store.ann.files import header_meta

    text, _ = resolve_index(len(store) if size is None else size, store.dim, "auto", DEFAULT_MAX_MEMORY)
    if text == "flat":
        return store
    assert store.path is not None
    index_path = store.path.with_suffix(".ann")
    writable = writer and os.access(store.path.parent, os.W_OK)
    try:
        lock = open(store.path.with_name(store.path.name + ".lock"), "a+" if writable else "r")  # noqa: SIM115
    except OSError:  # a read-only folder without a lock file: nobody writes its index
        lock = None
    try:
        if lock is not None:
            fcntl.flock(lock, fcntl.LOCK_EX if writable else fcntl.LOCK_SH)
        meta = header_meta(index_path)
        covered = int(meta.get("rows", -1)) if meta else -1
        built_over = meta is not None and 0 <= covered <= len(marks) and (
            meta.get("from") == fingerprint_of(marks, covered) or ("from" not in meta and not writable))  # LEGACY
        if meta is not None and not built_over:
            if not writable:
                return store  # an index over rows derived since: exact search until a writer rebuilds it
            index_path.unlink()  # the writer builds it afresh below
        indexed = IndexedVectorStore(store, store.path.parent, "auto", persist=writable, log=lambda msg: None)
        if writable and indexed.index is not None:
            indexed.index.meta["from"] = fingerprint_of(marks, store.rows)
            if indexed.caught_up or indexed.rebuilt or not built_over:
                indexed.save()
    finally:
        if lock is not None:
            lock.close()  # closing releases the lock
    return indexed


def _live(rows: int, live_ids: np.ndarray | list[int]) -> np.ndarray:
    live = np.zeros(rows, bool)
    if live_ids is not None and len(live_ids):
        live[np.asarray(live_ids, np.int64)] = True
    return live


def derived_files(folder: Path) -> list[Path]:
    """The collection's derived vector files."""
    return sorted((folder / DERIVED_DIR).glob("*.float16"))


def forget_derived(folder: Path, only: list[Path] | None = None) -> list[Path]:
    """Remove derived files (all, or `only` these) and what records their rows' sources; each is derived
    again by the next writer (an index run, `reindex`, `verify`) and, meanwhile, in memory by readers.
    Returns the files removed."""
    removed = []
    for path in derived_files(folder) if only is None else only:
        with open(path.with_name(path.name + ".lock"), "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                from_path(path).unlink(missing_ok=True)  # first: a data file without it reads as stale
                path.unlink(missing_ok=True)
                removed.append(path)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
    return removed
