"""Per-row checksums and value rules for vector files: how a damaged row is told from a good one.

`<file>.sums` (e.g. visual.float16.sums) holds one little-endian uint32 per row: the CRC-32 of the row's
bytes seeded with the row number, so a row copied to the wrong place fails too. It is appended and
fsynced with the rows, before the catalog commits them. Rows past the end of the sums file (a collection
written before sums existed) are "unverified": only the value rules apply to them until a writing open
computes their sums. The value rules catch what no checksum can see in such rows and what a bad encoder
output would be: non-finite numbers, image vectors that are not unit length (they are by construction,
see encoders/visual.py), class probabilities outside [0, 1] or not summing to 1.
"""

from __future__ import annotations

import os
import zlib
from pathlib import Path

import numpy as np

TOLERANCE = 1e-2  # float16 rounding moves norms and sums by < 1e-3
# concat(f/|f|, sqrt(p)/|sqrt(p)|)/sqrt(2) has length 1, or 1/sqrt(2) when the features are all zero
_NORMS = np.array([1.0, 2 ** -0.5])


def sums_path(path: Path) -> Path:
    return path.with_name(path.name + ".sums")


def row_sums(raw: np.ndarray, ids: np.ndarray | int) -> np.ndarray:
    """CRC-32 of each row of `raw` (rows as stored on disk) seeded with its row number: `ids`, or
    consecutive numbers from an int."""
    raw = np.ascontiguousarray(raw)
    ids = np.arange(ids, ids + len(raw)) if isinstance(ids, (int, np.integer)) else np.asarray(ids, np.int64)
    return np.fromiter((zlib.crc32(raw[i], int(ids[i]) & 0xFFFFFFFF) for i in range(len(raw))), np.uint32, len(raw))


def read_sums(path: Path, rows: int) -> np.ndarray:
    """The stored sums of the first `rows` rows (fewer where the sums file is shorter: unverified rows)."""
    p = sums_path(path)
    try:
        n = min(p.stat().st_size // 4, rows)
    except FileNotFoundError:
        return np.zeros(0, np.uint32)
    return np.fromfile(p, "<u4", count=n).astype(np.uint32) if n else np.zeros(0, np.uint32)


def append_sums(path: Path, sums: np.ndarray, at: int) -> None:
    """Write sums for rows from `at` on (cutting anything after them), fsynced."""
    p = sums_path(path)
    with open(p, "r+b" if p.exists() else "wb") as f:
        f.truncate(at * 4)
        f.seek(at * 4)
        f.write(np.asarray(sums, "<u4").tobytes())
        f.flush()
        os.fsync(f.fileno())


def write_rows(path: Path, dtype: np.dtype, ids: np.ndarray, vectors: np.ndarray) -> None:
    """Overwrite rows `ids` in place (a repair) and their sums; both fsynced. The vector file and the sums
    file must reach past these rows already (a hole in the sums would read as damage)."""
    dtype = np.dtype(dtype)
    raw = np.ascontiguousarray(vectors, dtype)
    row_bytes = raw.shape[1] * dtype.itemsize
    with open(path, "r+b") as f:
        for i, cid in enumerate(np.asarray(ids, np.int64)):
            f.seek(int(cid) * row_bytes)
            f.write(raw[i].tobytes())
        f.flush()
        os.fsync(f.fileno())
    p = sums_path(path)
    with open(p, "r+b" if p.exists() else "wb") as f:
        for i, cid in enumerate(np.asarray(ids, np.int64)):
            f.seek(int(cid) * 4)
            f.write(np.asarray(row_sums(raw[i : i + 1], int(cid)), "<u4").tobytes())
        f.flush()
        os.fsync(f.fileno())


def values_ok(kind: str, block: np.ndarray) -> np.ndarray:
    """(n,) True where a float32 row could have come out of the encoder for this kind of file. A NaN or
    infinity makes a row's sum (of squares) non-finite: float16 values cannot overflow it."""
    with np.errstate(invalid="ignore", over="ignore"):  # damaged rows are what this looks for
        if kind == "probs":
            total = block.sum(axis=1)
            ok = np.isfinite(total) & (np.abs(total - 1) <= TOLERANCE)
            return ok & (block.min(axis=1, initial=0.0) >= 0) & (block.max(axis=1, initial=0.0) <= 1 + TOLERANCE)
        squares = np.einsum("ij,ij->i", block, block)
        if kind != "visual":
            return np.isfinite(squares)
        return (np.abs(np.sqrt(squares)[:, None] - _NORMS) <= TOLERANCE).any(axis=1)


def damaged(kind: str, raw: np.ndarray, ids: np.ndarray | int, stored: np.ndarray,
            values: np.ndarray | None = None) -> np.ndarray:
    """(n,) True for damaged rows of `raw` (rows as stored, numbered `ids` or consecutively from an int):
    values out of range, or a checksum mismatch where `stored` (the sums file's array) holds a sum.
    `values`: the rows as float32 when the caller has converted them already."""
    ids = np.arange(ids, ids + len(raw)) if isinstance(ids, (int, np.integer)) else np.asarray(ids, np.int64)
    bad = ~values_ok(kind, np.asarray(raw, np.float32) if values is None else values)
    have = ids < len(stored)
    if have.all():
        bad |= row_sums(raw, ids) != stored[ids]
    elif have.any():
        bad[have] |= row_sums(np.asarray(raw)[have], ids[have]) != stored[ids[have]]
    return bad
