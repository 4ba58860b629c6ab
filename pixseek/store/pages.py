"""Keep large vector files out of a process's resident memory.

Reading rows through a memory map leaves their pages mapped into the process: a server that re-ranks a
few thousand random rows per query would, after enough queries, hold most of a multi-GB file as resident
memory, although the kernel's page cache (shared, reclaimable) is what really keeps it. So rows read by
id from a large file go through RowFile's positioned reads, which map nothing, and a scan drops the
pages of each block it read from the map (MADV_DONTNEED on a shared file mapping unmaps them; the page
cache keeps the data, so the next read is still a memory copy).
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

RELEASE_ABOVE = 64 * 2**20  # maps smaller than this stay mapped (their pages cost little)


def release_pages(matrix: np.ndarray | None) -> None:
    """Drop the resident pages of a large np.memmap (anything else: nothing to do)."""
    if not isinstance(matrix, np.memmap) or matrix.nbytes < RELEASE_ABOVE:
        return
    handle = matrix._mmap  # numpy's own mmap object for the file
    if handle is not None:
        handle.madvise(mmap.MADV_DONTNEED)


class RowFile:
    """Scattered rows of a large vector file read by id with positioned reads (os.preadv), not through its
    memory map: nothing stays mapped, so a server's resident memory does not grow with the rows its
    queries read (a few thousand per query), and on the machines measured a read per row was about twice
    as fast as numpy gathering the same rows from the map."""

    def __init__(self, path: Path, dim: int, dtype: np.dtype) -> None:
        self.path, self.dim, self.dtype = path, dim, np.dtype(dtype)
        self.row_bytes = dim * self.dtype.itemsize
        self._file = None

    def read(self, ids: np.ndarray) -> np.ndarray:
        """(len(ids), dim) rows as stored, in the order asked; consecutive ids are read in one call. Rows
        past the end of the file come back as zeros."""
        ids = np.asarray(ids, np.int64)
        if self._file is None:
            self._file = open(self.path, "rb", buffering=0)  # noqa: SIM115 (kept open; closed with the store)
        order = np.argsort(ids, kind="stable")
        sorted_ids = ids[order]
        rows = np.zeros((len(ids), self.dim), self.dtype)
        view = memoryview(rows.reshape(-1).view(np.uint8))
        cuts = np.flatnonzero(np.diff(sorted_ids) != 1) + 1
        rb, fd = self.row_bytes, self._file.fileno()
        for a, b in zip([0, *cuts.tolist()], [*cuts.tolist(), len(ids)]):
            os.preadv(fd, [view[a * rb : b * rb]], int(sorted_ids[a]) * rb)
        out = np.empty_like(rows)
        out[order] = rows
        return out


def row_reader(matrix: np.ndarray, path: Path | None) -> Callable[[np.ndarray], np.ndarray]:
    """How to read scattered rows of `matrix` (the file at `path` maps it): positioned reads for a large
    memory-mapped file, plain indexing for anything else."""
    if isinstance(matrix, np.memmap) and path is not None and matrix.nbytes >= RELEASE_ABOVE:
        return RowFile(path, matrix.shape[1], matrix.dtype).read
    return matrix.__getitem__


class RecentRows:
    """The float32 rows of a store's last read (at most LIMIT): one query reads the same rows more than once
    (an index's candidates, then the ranker's scoring of the same ids, then the words that explain them)."""

    LIMIT = 4096

    def __init__(self) -> None:
        self.ids = np.zeros(0, np.int64)
        self.rows: np.ndarray | None = None

    def get(self, ids: np.ndarray, read: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """Rows `ids`, the ones not kept from the last call read by `read` (float32 rows of the ids given)."""
        ids = np.asarray(ids, np.int64)
        if self.rows is None or not len(self.ids):
            out = read(ids)
        else:
            pos = np.minimum(np.searchsorted(self.ids, ids), len(self.ids) - 1)
            hit = self.ids[pos] == ids
            if hit.all():
                return self.rows[pos]
            if hit.any():
                out = np.empty((len(ids), self.rows.shape[1]), np.float32)
                out[hit] = self.rows[pos[hit]]
                out[~hit] = read(ids[~hit])
            else:
                out = read(ids)
        if 0 < len(ids) <= self.LIMIT:
            self.ids, first = np.unique(ids, return_index=True)
            self.rows = out[first]
        return out

    def clear(self) -> None:
        self.ids, self.rows = np.zeros(0, np.int64), None


_HALF = np.arange(65536, dtype=np.uint32).astype(np.uint16).view(np.float16).astype(np.float32)


def as_float32(rows: np.ndarray) -> np.ndarray:
    """Stored rows as C-contiguous float32, exactly. float16 goes through a 65,536-entry table (faster than
    numpy's cast), or, where every value is finite and not negative (class probabilities), through its
    bits: shifted into a float32's places and scaled by 2**112 (exponent bias 127 - 15), subnormals and
    zero included; twice the table's speed, ~10 ms of a cold keyword search over 10,000 photos."""
    if rows.dtype == np.float16:
        bits = np.ascontiguousarray(rows).view(np.uint16)
        if bits.size and bits.max() < 0x7C00:  # no sign bit, no infinity or NaN
            out = bits.astype(np.uint32)
            out <<= 13
            out = out.view(np.float32)
            out *= np.float32(2.0**112)
            return out
        return _HALF[bits]
    return np.ascontiguousarray(rows, np.float32)
