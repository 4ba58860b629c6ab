"""What an image file is to pixseek, in one table: the formats it decodes (name, extensions, media type,
signature), the ones it recognises but cannot decode, and a file's content hash (the identity the catalog,
query images and uploads share)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class ImageFormat:
    name: str  # what a type filter and the page call it: "jpg", "png", ...
    extensions: tuple[str, ...]  # lower case, with the dot
    media_type: str
    signatures: tuple[bytes, ...]  # what the file starts with (WebP: RIFF....WEBP, see `format_of_bytes`)


FORMATS: tuple[ImageFormat, ...] = (
    ImageFormat("jpg", (".jpg", ".jpeg", ".jpe"), "image/jpeg", (b"\xff\xd8\xff",)),
    ImageFormat("png", (".png",), "image/png", (b"\x89PNG\r\n\x1a\n",)),
    ImageFormat("webp", (".webp",), "image/webp", ()),
    ImageFormat("gif", (".gif",), "image/gif", (b"GIF87a", b"GIF89a")),
    ImageFormat("bmp", (".bmp",), "image/bmp", (b"BM",)),
    ImageFormat("tiff", (".tif", ".tiff"), "image/tiff", (b"II*\x00", b"MM\x00*")),
)
BY_EXTENSION = {ext: f for f in FORMATS for ext in f.extensions}
IMAGE_EXTENSIONS = frozenset(BY_EXTENSION)

# photo formats pixseek cannot decode: such files are listed by `status` as failed, with this reason
UNSUPPORTED_IMAGE_EXTENSIONS = {
    ".heic": "HEIF", ".heif": "HEIF", ".avif": "AVIF", ".jxl": "JPEG XL", ".jp2": "JPEG 2000", ".psd": "Photoshop",
    ".svg": "SVG", ".dng": "camera raw", ".cr2": "camera raw", ".cr3": "camera raw", ".nef": "camera raw",
    ".arw": "camera raw", ".orf": "camera raw", ".raf": "camera raw", ".rw2": "camera raw",
}


def format_of_bytes(head: bytes) -> ImageFormat | None:
    """The format a file's first bytes (12 are enough) say it is, or None."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return BY_EXTENSION[".webp"]
    return next((f for f in FORMATS if any(head.startswith(s) for s in f.signatures)), None)


def content_hasher():
    """A running content hash (update with blocks, then hexdigest): the same as content_hash of their join."""
    return hashlib.blake2b(digest_size=16)


def content_hash(data: bytes) -> str:
    """A file's identity: 32 hex digits of BLAKE2b over its bytes."""
    h = content_hasher()
    h.update(data)
    return h.hexdigest()
