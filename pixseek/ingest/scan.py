"""Walk folders for image files (by extension or by content signature). Knows nothing else."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pixseek.media.formats import IMAGE_EXTENSIONS, UNSUPPORTED_IMAGE_EXTENSIONS
from pixseek.media.images import looks_like_image

SUPPORTED = "JPEG, PNG, WebP, GIF, BMP and TIFF"


@dataclass
class Found:
    path: str
    size: int
    mtime_ns: int
    error: str | None = None  # set when the file is an image candidate we cannot even stat/read
    inode: int | None = None  # with ctime_ns: tells a same-size, same-mtime replacement from the old file
    ctime_ns: int | None = None


def scan(roots: list[Path], skip: Path | None = None) -> Iterator[Found]:
    """Yield image candidates below each root, depth-first, not following directory symlinks (no loops)."""
    for root in roots:
        if root.is_file():
            yield from _one(str(root))
            continue
        for dirpath, dirnames, filenames in os.walk(root, onerror=_warn):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")
                                 and (skip is None or Path(dirpath, d) != skip))
            for name in sorted(filenames):
                if not name.startswith("."):
                    yield from _one(os.path.join(dirpath, name))


def _one(path: str) -> Iterator[Found]:
    try:
        st = os.stat(path)
    except OSError as exc:
        if Path(path).suffix.lower() in IMAGE_EXTENSIONS:
            yield Found(path, 0, 0, f"cannot read: {exc.strerror or exc}")
        return
    if not os.path.isfile(path):
        return
    identity = (signed_inode(st.st_ino), st.st_ctime_ns)
    if looks_like_image(Path(path)) or not os.access(path, os.R_OK):
        yield Found(path, st.st_size, st.st_mtime_ns, None, *identity)
    elif (kind := UNSUPPORTED_IMAGE_EXTENSIONS.get(Path(path).suffix.lower())) is not None:
        yield Found(path, st.st_size, st.st_mtime_ns, f"unsupported image type ({kind}); pixseek reads "
                    f"{SUPPORTED}: convert it to one of those to index it", *identity)


def signed_inode(ino: int) -> int:
    """An inode number as the catalog's signed 64-bit integer holds it (some file systems use all 64 bits)."""
    return ino - 2**64 if ino >= 2**63 else ino


def _warn(exc: OSError) -> None:
    print(f"skipping {exc.filename}: {exc.strerror}", file=sys.stderr)
