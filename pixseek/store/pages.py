"""Keep memory-mapped vector files out of a process's resident memory.

Reading rows through a memory map leaves their pages mapped into the process: a server that re-ranks a
few thousand random rows per query would, after enough queries, hold most of a multi-GB file as resident
memory, although the kernel's page cache (shared, reclaimable) is what really keeps it. After a gather
from a large map its pages are dropped from the process (MADV_DONTNEED on a shared file mapping unmaps
them; the page cache keeps the data, so the next read is still a memory copy).
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
