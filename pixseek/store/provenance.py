"""What a derived row was computed from: one fingerprint per stored row, kept beside each derived file.

Row ids are reused: a catalog put back from a backup, or one that lost its -wal, forgets the rows committed
since, and the next photos indexed get those ids again, while files derived from the stored rows (joint
vectors, postings, the indexes over them) still hold rows computed from the photos that are gone. So every
derived row records the fingerprint of the stored rows it came from, and a row counts only while that
matches the stored rows now.

A row's fingerprint is its image vector's checksum and its class probabilities' checksum (the `.sums`
files, store/checksums.py: CRC-32 of the row's bytes seeded with the row number), read in milliseconds for
a million rows; a row without sums (a collection whose vectors live elsewhere, or written before sums
existed) is fingerprinted by its content hash in the catalog. UNKNOWN (0) is never a row's fingerprint:
it marks a derived row computed from a damaged stored row, derived again whenever it is next opened.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

from pixseek.atomic import atomic_write
from pixseek.store.checksums import read_sums, row_sums

UNKNOWN = 0
SOURCES = ("visual.float16", "probs.float16")  # the stored vector files whose rows are derived from
FROM_SUFFIX = ".from"  # <derived file>.from: one little-endian uint64 fingerprint per derived row


def row_fingerprints(folder: Path, rows: int, dims: tuple[int, int | None], catalog=None) -> np.ndarray:
    """(rows,) uint64, never UNKNOWN: what the first `rows` stored rows of the collection at `folder` hold
    now; dims: (image vector dimension, number of classes or None)."""
    out = np.zeros(rows, np.uint64)
    vis = read_sums(Path(folder) / SOURCES[0], rows)
    probs = read_sums(Path(folder) / SOURCES[1], rows) if dims[1] else None
    n = len(vis) if probs is None else min(len(vis), len(probs))
    if n < rows:  # rows written before sums existed: the sums they would have, from the rows themselves
        vis = np.concatenate([vis[:n], _sums_of(Path(folder) / SOURCES[0], 2 * dims[0], n, rows)])
        if probs is not None:
            probs = np.concatenate([probs[:n], _sums_of(Path(folder) / SOURCES[1], 2 * dims[1], n, rows)])
        n = len(vis) if probs is None else min(len(vis), len(probs))
    out[:n] = vis[:n].astype(np.uint64) << np.uint64(32)
    if probs is not None:
        out[:n] |= probs[:n].astype(np.uint64)
    if n < rows and catalog is not None:  # vectors kept elsewhere (Milvus): which photo the row holds
        for cid, digest in catalog.db.execute("SELECT id, hash FROM contents WHERE id >= ? AND id < ?", (n, rows)):
            out[cid] = np.uint64(zlib.crc32(digest.encode()) | (1 << 63))  # never equal to a sums fingerprint's form
    out[out == UNKNOWN] = 1
    return out


def _sums_of(path: Path, row_bytes: int, start: int, stop: int) -> np.ndarray:
    """row_sums of float16 rows start..stop-1 of a vector file, as far as the file holds them (none for a
    file that is not there)."""
    try:
        stop = min(stop, path.stat().st_size // row_bytes)
    except FileNotFoundError:
        return np.zeros(0, np.uint32)
    if stop <= start:
        return np.zeros(0, np.uint32)
    raw = np.memmap(path, np.uint8, "r", shape=(stop, row_bytes))[start:stop]
    return np.concatenate([row_sums(raw[i:i + 8192], start + i) for i in range(0, len(raw), 8192)] or
                          [np.zeros(0, np.uint32)])


def rows_fingerprint(path: Path, row_bytes: int, rows: int) -> str:
    """One value for the first `rows` rows of one stored vector file (their sums, or the sums they would
    have): what a file derived from all of them (class postings) records."""
    sums = read_sums(path, rows)
    if len(sums) < rows:
        sums = np.concatenate([sums, _sums_of(path, row_bytes, len(sums), rows)])
    return f"{rows}:{zlib.crc32(np.ascontiguousarray(sums, '<u4').tobytes()):08x}"


def from_path(path: Path) -> Path:
    return path.with_name(path.name + FROM_SUFFIX)


def read_from(path: Path, rows: int | None = None) -> np.ndarray:
    """The fingerprints recorded for a derived file's rows (the first `rows`; fewer where none are recorded)."""
    p = from_path(path)
    try:
        n = p.stat().st_size // 8
    except FileNotFoundError:
        return np.zeros(0, np.uint64)
    n = n if rows is None else min(n, rows)
    return np.fromfile(p, "<u8", count=n).astype(np.uint64) if n else np.zeros(0, np.uint64)


def write_from(path: Path, marks: np.ndarray) -> None:
    """Record the fingerprints of a derived file's rows (after the rows themselves are on disk), atomically."""
    atomic_write(from_path(path), np.asarray(marks, "<u8").tobytes())


def stale_rows(marks: np.ndarray, current: np.ndarray, present: int) -> np.ndarray:
    """(len(current),) True where the derived row is missing (row `present` on), has no record, or was
    derived from other stored rows than those there now (or from a damaged one)."""
    stale = np.ones(len(current), bool)
    n = min(len(marks), len(current), present)
    stale[:n] = marks[:n] != current[:n]
    return stale


def fingerprint_of(marks: np.ndarray, rows: int) -> str:
    """One value for the first `rows` derived rows' records: what an index built over them keeps in its
    header, so that an index over rows derived again is rebuilt too."""
    return f"{rows}:{zlib.crc32(np.ascontiguousarray(marks[:rows], '<u8').tobytes()):08x}"
