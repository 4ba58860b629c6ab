"""Keep large vector files out of a process's resident memory.

Reading rows through a memory map leaves their pages mapped into the process: a server that re-ranks a
few thousand random rows per query would, after enough queries, hold most of a multi-GB file as resident
memory, although the kernel's page cache (shared, reclaimable) is what really keeps it. After a gather
from a large map its pages are dropped from the process (MADV_DONTNEED on a shared file mapping unmaps
them; the page cache keeps the data, so the next read is still a memory copy). Rows read by id go
through MappedRows, which bounds what they leave mapped.
"""

from __future__ import annotations

import mmap

import numpy as np

RELEASE_ABOVE = 64 * 2**20  # maps smaller than this stay mapped (their pages cost little)


def release_pages(matrix: np.ndarray | None) -> None:
    """Drop the resident pages of a large np.memmap (anything else: nothing to do)."""
    if not isinstance(matrix, np.memmap) or matrix.nbytes < RELEASE_ABOVE:
        return
    handle = matrix._mmap  # numpy's own mmap object for the file
    if handle is not None:
        handle.madvise(mmap.MADV_DONTNEED)


class MappedRows:
    """Scattered rows of a large memory-mapped file, read through the map with its resident pages bounded.

    The map is marked MADV_RANDOM (no read-ahead, no fault-around: a row costs the one or two pages it
    spans, not 64 KB around it), and once the rows read since the last time could have mapped more than
    BUDGET bytes, its pages are dropped (release_pages). A server's resident memory then stays bounded
    while a query's few thousand rows cost page-cache copies, not system calls."""

    BUDGET = 128 * 2**20

    def __init__(self, matrix: np.ndarray) -> None:
        self.matrix = matrix
        self.large = isinstance(matrix, np.memmap) and matrix.nbytes >= RELEASE_ABOVE and matrix._mmap is not None
        row_bytes = matrix.shape[1] * matrix.dtype.itemsize if matrix.ndim == 2 else 0
        self.row_pages = (row_bytes + 4095) // 4096 + 1
        self.mapped = 0
        if self.large:
            matrix._mmap.madvise(mmap.MADV_RANDOM)

    def take(self, ids: np.ndarray) -> np.ndarray:
        """Rows `ids` as stored (a copy)."""
        rows = self.matrix[ids]
        if self.large:
            self.mapped += len(ids) * self.row_pages * 4096
            if self.mapped > self.BUDGET:
                release_pages(self.matrix)
                self.mapped = 0
        return rows


_HALF = np.arange(65536, dtype=np.uint32).astype(np.uint16).view(np.float16).astype(np.float32)


def as_float32(rows: np.ndarray) -> np.ndarray:
    """float32 copy of stored rows; float16 through a 65,536-entry table (faster than numpy's cast)."""
    if rows.dtype == np.float16:
        return _HALF[np.ascontiguousarray(rows).view(np.uint16)]
    return np.asarray(rows, np.float32)
