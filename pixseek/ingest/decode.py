"""The read stage's unit of work, done in decoding worker processes: read the bytes once, hash them,
decode once into the encoder's crop and the pixel thumbnail, and read the date taken from the same bytes
(`prepare`). A file that could not be read or decoded comes back with its `error`. Everything done here
is taken off the indexing process, whose cores the encoder needs: the EXIF date read there cost a second
open of every photo, and the thumbnail made after embedding a second decode."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from pixseek.config import MAX_FILE_BYTES, env_int
from pixseek.encoders.base import Preprocess
from pixseek.media.exif import mtime_wall_ns, taken_ns
from pixseek.media.formats import content_hash
from pixseek.media.images import ImageError
from pixseek.media.pixel_thumbnail import thumbnail_of
from pixseek.regular_files import read_regular


@dataclass
class Prepared:
    path: str
    size: int
    mtime_ns: int
    hash: str | None
    pixels: np.ndarray | None
    width: int = 0
    height: int = 0
    error: str | None = None
    features: np.ndarray | None = None  # set when the reader embedded the photo itself (Ray); pixels are then None
    probs: np.ndarray | None = None
    taken: int | None = None  # date taken (exif.taken_ns), read from the bytes decoded; None: not read yet
    thumbnail: np.ndarray | None = None  # media/pixel_thumbnail.py, from the same decode; None: made later


Task = tuple[str, int, int, Preprocess]  # (path, size, mtime_ns, the encoder's preprocessing)


def init_worker() -> None:
    """Decoding workers yield to the encoder: on a small machine ONNX Runtime's threads wait for their
    slowest peer, so a decoder holding a core stalls every operator for the length of its time slice;
    at the lowest priority it runs in the gaps the encoder leaves instead (and, unlike SCHED_IDLE, still
    gets its share when other programs keep the machine busy)."""
    try:
        os.nice(env_int("PIXSEEK_WORKER_NICE"))
    except OSError:
        pass


def taken_from(data: bytes, mtime_ns: int) -> int:
    """exif.taken_ns of a photo's bytes. A JPEG holding no EXIF block (no APP1 "Exif" header anywhere in
    it, so no DateTimeOriginal) is dated by its mtime without opening it a second time (~0.16 ms)."""
    if data[:3] != b"\xff\xd8\xff" or b"Exif\x00\x00" in data:
        return taken_ns(data, mtime_ns)
    return mtime_wall_ns(mtime_ns)  # exif.taken_ns's own fallback


def prepare(task: Task) -> Prepared:
    """task = (path, size, mtime_ns, preprocess). Never raises: failures come back as `error`."""
    path, size, mtime_ns, preprocess = task
    try:
        if size > MAX_FILE_BYTES:
            return Prepared(path, size, mtime_ns, None, None, error=f"file too large ({size:,} bytes)")
        if size == 0:
            return Prepared(path, size, mtime_ns, None, None, error="empty file (0 bytes)")
        data = read_regular(path)  # a FIFO or device put there since the scan is refused, not waited on
        digest = content_hash(data)
        im, (w, h) = preprocess.open(data)
        return Prepared(path, size, mtime_ns, digest, preprocess.apply(im), w, h, taken=taken_from(data, mtime_ns),
                        thumbnail=thumbnail_of(im))
    except ImageError as exc:
        return Prepared(path, size, mtime_ns, None, None, error=str(exc))
    except OSError as exc:
        return Prepared(path, size, mtime_ns, None, None, error=f"cannot read: {exc.strerror or exc}")
    except Exception as exc:  # a worker must never take the run down with it
        return Prepared(path, size, mtime_ns, None, None, error=f"unexpected {type(exc).__name__}: {exc}")
