"""Reading the collection's own files for a server, and their thumbnails cached on disk.

A server must never become a way to read any file on the machine. Everything here starts from a catalog
record (a file the indexer accepted) and re-checks the file before reading it: a symlink is followed only
to another catalogued file, and a file whose size or mtime changed since indexing is refused (it may
have been replaced by something the catalog never vouched for). When size and mtime agree but the inode
or ctime does not (a same-size replacement, or a restored copy), the bytes are served only if they hash
to the indexed content.
"""

from __future__ import annotations

import io
import os
import stat
import warnings
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageOps

from pixseek.atomic import atomic_write
from pixseek.errors import PixseekError
from pixseek.media.formats import content_hash
from pixseek.media.images import MAX_PIXELS, ImageError, check_decoded_size, to_rgb
from pixseek.store.catalog import FileRecord

Lookup = Callable[[str], "FileRecord | None"]


class NotInCollection(PixseekError):
    """The path is not a readable file of the collection (unknown, failed, changed, or a link out of it)."""


def indexed(lookup: Lookup, path: str) -> FileRecord:
    """The catalog record of an indexed file, by its exact catalog path; nothing else is ever looked up."""
    rec = lookup(path) if isinstance(path, str) and path.startswith("/") and "\0" not in path else None
    if rec is None or rec.status != "ok":
        raise NotInCollection(f"not an indexed image of this collection: {path!r}")
    return rec


def read_indexed(rec: FileRecord, lookup: Lookup) -> bytes:
    """The bytes of an indexed file, after checking it is still the file the catalog describes."""
    path = rec.path
    if os.path.islink(path):
        target = os.path.realpath(path)
        if not (t := lookup(target)) or t.status != "ok":
            raise NotInCollection(f"{path} links outside the indexed folders")
        path = target
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise NotInCollection(f"cannot read {rec.path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        changed = NotInCollection(f"{rec.path} changed since it was indexed; run `pixseek index` again")
        if not stat.S_ISREG(st.st_mode) or st.st_size != rec.size or st.st_mtime_ns != rec.mtime_ns:
            raise changed
        data = f.read(rec.size + 1)
    if len(data) != rec.size or ((st.st_ino, st.st_ctime_ns) != (rec.inode, rec.ctime_ns)
                                 and content_hash(data) != rec.hash):
        raise changed  # not the same file: served only when its bytes are the indexed ones
    return data


def make_thumbnail(data: bytes, size: int) -> bytes:
    """A JPEG no larger than size x size, upright. JPEGs decode at reduced scale, so large photos stay fast."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))
            if im.width * im.height > MAX_PIXELS:
                raise ImageError(f"image too large ({im.width}x{im.height} pixels)")
            if im.format == "JPEG":
                im.draft("RGB", (size, size))
            im.seek(0)
            check_decoded_size(im)
            im.load()
            im = to_rgb(ImageOps.exif_transpose(im))
    except ImageError:
        raise
    except Exception as exc:  # any decoder failure: corrupt data, bomb, unknown format
        raise ImageError(str(exc) or type(exc).__name__) from None
    im.thumbnail((size, size), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    im.save(out, "JPEG", quality=82, optimize=True)
    return out.getvalue()


class ThumbnailCache:
    """Thumbnails as files under <collection>/thumbs/, named by content hash, so a renamed or duplicated
    photo shares one, and a changed photo gets a new one. Written atomically; safe with many readers.
    A cache that cannot be written (disk full, read-only folder) costs speed, not the thumbnail."""

    def __init__(self, folder: Path, size: int = 256) -> None:
        self.folder = folder
        self.size = size

    def path_for(self, digest: str) -> Path:
        return self.folder / digest[:2] / f"{digest}-{self.size}.jpg"

    def get(self, rec: FileRecord, read: Callable[[], bytes]) -> Path | bytes:
        """The cached thumbnail of `rec`, made from `read()` on first use; its JPEG bytes instead when
        the cache cannot be written (atomic_write leaves no temp file behind)."""
        if not rec.hash or not rec.hash.isalnum():
            raise NotInCollection(f"{rec.path} has no content hash in the catalog")
        dest = self.path_for(rec.hash)
        if dest.is_file():
            return dest
        try:
            jpeg = make_thumbnail(read(), self.size)
        except ImageError as exc:
            raise NotInCollection(f"cannot make a thumbnail of {rec.path}: {exc}") from None
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(dest, jpeg)
        except OSError:
            return jpeg
        return dest
