"""Each photo's pixel thumbnail (media/pixel_thumbnail.py), kept beside the collection's vectors, so that
grouping near-duplicates checks pairs on their pixels without decoding a single photo.

`<collection>/derived/pixels.u8` holds one fixed-size record per content id, in id order: the content's
key (the first 8 bytes of its content hash; 0: none), the photo's upright width and height, the
thumbnail's width and height, and its RGB pixels (top left of a SIDE x SIDE box). A record counts only
while its key matches the catalog's hash of that content id now, so ids reused after a catalog goes back
to an earlier state (a backup restored) are never served another photo's pixels.

Only a writer writes (an index run, under the collection's lock): pixels first, fsynced, keys after, so an
interrupted write leaves records that read as missing, never as another photo's, and the next index run
fills them. A reader never writes: a content without a record is read from its file instead.
About 27.7 KB a photo (2.8 GB at 100,000 photos).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from pixseek.media.pixel_thumbnail import SIDE
from pixseek.store.derived import DERIVED_DIR

FILE = "pixels.u8"
RECORD = np.dtype([("key", "<u8"), ("size", "<u4", 2), ("shape", "u1", 2), ("rgb", "u1", (SIDE, SIDE, 3))])
Thumbnail = tuple[np.ndarray, tuple[int, int]]  # (RGB uint8, the photo's (width, height))


def signature_path(folder: Path) -> Path:
    return folder / DERIVED_DIR / FILE


def key_of(digest: str) -> int:
    """The record key of a content hash (hex): its first 8 bytes, never 0 (0 marks no record)."""
    return int(digest[:16], 16) or 1


def content_keys(db, ids: Iterable[int] | None = None) -> dict[int, int]:
    """content id -> record key of the live contents (all, or those of `ids`), from the catalog's hashes."""
    rows = db.execute("SELECT id, hash FROM contents WHERE live=1").fetchall()
    wanted = None if ids is None else {int(i) for i in ids}
    return {cid: key_of(h) for cid, h in rows if h and (wanted is None or cid in wanted)}


def _records(path: Path) -> np.ndarray:
    try:
        n = path.stat().st_size // RECORD.itemsize
    except FileNotFoundError:
        return np.zeros(0, RECORD)
    return np.memmap(path, RECORD, "r", shape=(n,)) if n else np.zeros(0, RECORD)


def missing(folder: Path, keys: Mapping[int, int]) -> list[int]:
    """The content ids of `keys` without a current record, ascending."""
    records = _records(signature_path(folder))
    ids = np.array(sorted(keys), np.int64)
    if not len(ids):
        return []
    want = np.array([keys[int(i)] for i in ids], np.uint64)
    have = np.zeros(len(ids), np.uint64)
    inside = ids < len(records)
    have[inside] = records["key"][ids[inside]]
    return ids[have != want].tolist()


class KeptThumbnails:
    """The thumbnails a collection keeps for the contents of `keys` (content_keys, read at one moment),
    read on demand: reading needs no lock (records are only appended or filled, each checked by its key)."""

    def __init__(self, folder: Path, keys: Mapping[int, int]) -> None:
        self.folder, self.keys = folder, keys

    def __call__(self, ids: Iterable[int]) -> dict[int, Thumbnail | None]:
        return read(self.folder, {int(i): self.keys[int(i)] for i in ids if int(i) in self.keys})


def read(folder: Path, keys: Mapping[int, int]) -> dict[int, Thumbnail | None]:
    """content id -> its thumbnail (None: recorded empty), for the contents of `keys` with a current record
    (copied out of the file)."""
    records = _records(signature_path(folder))
    out: dict[int, Thumbnail | None] = {}
    for cid in sorted(keys):
        if cid < len(records):
            rec = records[cid]
            if int(rec["key"]) == keys[cid]:
                w, h = int(rec["shape"][0]), int(rec["shape"][1])
                size = (int(rec["size"][0]), int(rec["size"][1]))
                out[cid] = (np.array(rec["rgb"][:h, :w]), size) if w and h else None
    return out


def write(folder: Path, found: Mapping[int, tuple[int, Thumbnail | None]]) -> None:
    """Write records: content id -> (key, thumbnail; None: recorded empty, a photo that cannot be compared).
    Pixels are written and fsynced before the keys that make them count."""
    if not found:
        return
    path = signature_path(folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    ids = sorted(found)
    with open(path, "r+b" if path.exists() else "wb") as f:
        if os.fstat(f.fileno()).st_size < (ids[-1] + 1) * RECORD.itemsize:
            f.truncate((ids[-1] + 1) * RECORD.itemsize)  # never shorter
        for cid in ids:
            _, thumb = found[cid]
            rec = np.zeros(1, RECORD)
            if thumb is not None:
                rgb, size = thumb
                h, w = rgb.shape[:2]
                rec["size"], rec["shape"] = size, (w, h)
                rec["rgb"][0, :h, :w] = rgb
            f.seek(cid * RECORD.itemsize)
            f.write(rec.tobytes())  # key 0: not counted yet
        f.flush()
        os.fsync(f.fileno())
        for cid in ids:
            f.seek(cid * RECORD.itemsize)
            f.write(np.array([found[cid][0]], "<u8").tobytes())
        f.flush()
        os.fsync(f.fileno())
