"""Vectors computed from a collection's stored rows (joint-space vectors, mapped word vectors), kept beside them.

A derived file holds one float16 row per catalog row, in row order. Opening it computes only the rows
indexed since the last time (so indexing, a search or `pixseek reindex` brings it up to date without
decoding a photo) and drops a torn row an interrupted append left. Rows only grow (row i is content id i),
so a reader on an older snapshot uses a prefix of a longer file. A lock keeps two processes from appending
at once; a read-only collection derives in memory.
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
from pixseek.store.vectors import Vectors

BLOCK = 8192
DERIVED_DIR = "derived"  # inside the collection folder


def derived_store(path: Path, dim: int, rows: int, live_ids: np.ndarray | list[int], compute: Callable[[np.ndarray], np.ndarray],
                  progress: bool | None = None, label: str = "deriving") -> Vectors:
    """Vectors over path (rows x dim float16; an ANN index over them at scale); `compute(ids)` gives the
    vectors of rows not yet there."""
    row_bytes = 2 * dim
    if not path.exists() or path.stat().st_size < rows * row_bytes:
        try:
            _extend(path, dim, rows, compute, progress, label)
        except OSError as exc:
            if not isinstance(exc, PermissionError) and exc.errno != errno.EROFS:
                raise
            return ArrayStore(compute(np.arange(rows)), _live(rows, live_ids))  # a read-only collection: in memory
    matrix = np.memmap(path, np.float16, "r", shape=(rows, dim)) if rows else np.zeros((0, dim), np.float16)
    return _indexed(ArrayStore(matrix, _live(rows, live_ids), path))


def _indexed(store: ArrayStore) -> Vectors:
    """The store behind the ANN index `auto` picks for its size (none, under 20,000 rows: exact search).
    The index file sits beside the derived file; it is built or caught up under the same lock, by any
    process that may write the folder (a read-only one serves the index as it is, or searches exactly)."""
    from pixseek.store.ann import IndexedVectorStore, resolve_index

    text, _ = resolve_index(len(store), store.dim, "auto", DEFAULT_MAX_MEMORY)
    if text == "flat":
        return store
    assert store.path is not None
    writable = os.access(store.path.parent, os.W_OK)
    try:
        lock = open(store.path.with_name(store.path.name + ".lock"), "a+" if writable else "r")  # noqa: SIM115
    except OSError:  # a read-only folder without a lock file: nobody writes its index
        lock = None
    try:
        if lock is not None:
            fcntl.flock(lock, fcntl.LOCK_EX if writable else fcntl.LOCK_SH)
        indexed = IndexedVectorStore(store, store.path.parent, "auto", persist=writable, log=lambda msg: None)
        if writable and indexed.caught_up:
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


def _extend(path: Path, dim: int, rows: int, compute, progress, label: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    row_bytes = 2 * dim
    with open(path.with_name(path.name + ".lock"), "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            have = path.stat().st_size // row_bytes if path.exists() else 0
            if have >= rows:
                return  # another process got there first (rows only grow: a longer file's prefix is this snapshot)
            todo = rows - have
            show = (sys.stderr.isatty() if progress is None else progress) and todo > 4 * BLOCK
            bar = None
            if show:
                from tqdm import tqdm

                bar = tqdm(total=todo, unit="img", desc=label, file=sys.stderr)
            with open(path, "ab") as f:
                f.truncate(have * row_bytes)
                for start in range(have, rows, BLOCK):
                    ids = np.arange(start, min(rows, start + BLOCK))
                    block = np.asarray(compute(ids), np.float32)
                    assert block.shape == (len(ids), dim), (block.shape, dim)
                    f.write(np.nan_to_num(block).astype(np.float16).tobytes())
                    if bar is not None:
                        bar.update(len(ids))
            if bar is not None:
                bar.close()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def forget_derived(folder: Path) -> list[Path]:
    """Remove the collection's derived files (after rows they were computed from were repaired in place:
    rows only ever grow, so a repaired row would otherwise keep its old derived row). Each is computed
    again, from the stored vectors, when a search next needs it. Returns the files removed."""
    removed = []
    for path in sorted((folder / DERIVED_DIR).glob("*.float16")):
        with open(path.with_name(path.name + ".lock"), "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                path.unlink(missing_ok=True)
                removed.append(path)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
    return removed
