"""Builders for hostile and unusual image files, generated on the fly (no committed binaries)."""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np
from conftest import HAVE_DATA, PHOTOS
from PIL import Image


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims width x height (a decompression bomb) with a tiny compressed body."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 1024)) + chunk(b"IEND", b"")


def _photo() -> Image.Image:
    if HAVE_DATA:
        return Image.open(PHOTOS / "skimage_chelsea.png").convert("RGB")
    a = np.zeros((300, 451, 3), np.uint8)
    a[:, :200] = (200, 120, 40)
    return Image.fromarray(a)


def make_odd_files(d: Path) -> Path:
    """Five broken files (BAD) and six odd-but-valid ones (GOOD) in folder d."""
    d.mkdir(parents=True, exist_ok=True)
    photo = _photo()
    buf = io.BytesIO()
    photo.save(buf, "JPEG", quality=90)
    jpeg = buf.getvalue()
    (d / "truncated.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    (d / "empty.jpg").write_bytes(b"")
    (d / "notes.jpg").write_text("this is a text file, not a photo\n")
    (d / "bomb.png").write_bytes(_png_header_only(100_000, 100_000))
    (d / "garbage.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    # valid but unusual
    a16 = (np.asarray(photo.convert("L"), np.uint16) * 257).astype(np.uint16)
    Image.fromarray(a16).save(d / "sixteen-bit.png")
    assert Image.open(d / "sixteen-bit.png").mode.startswith("I")
    photo.convert("CMYK").save(d / "cmyk.jpg", "JPEG")
    frames = [photo.resize((120, 80)), photo.resize((120, 80)).transpose(Image.FLIP_LEFT_RIGHT)]
    frames[0].save(d / "animated.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    photo.transpose(Image.ROTATE_90).save(d / "rotated.jpg", "JPEG", exif=exif.tobytes())
    photo.save(d / "upright.png")
    (d / "renamed-photo.dat").write_bytes(jpeg)  # an image by content, not by extension
    (d / "readme.txt").write_text("not an image and no image extension: ignored")
    return d


BAD = {"truncated.jpg", "empty.jpg", "notes.jpg", "bomb.png", "garbage.png"}
GOOD = {"sixteen-bit.png", "cmyk.jpg", "animated.gif", "rotated.jpg", "upright.png", "renamed-photo.dat"}


def make_extra_hostile(d: Path) -> dict[str, str]:
    """More hostile cases for the reliability corpus; returns name -> what must happen ("fail" or "ok")."""
    d.mkdir(parents=True, exist_ok=True)
    photo = _photo()
    out = {}
    (d / "loop").mkdir(exist_ok=True)
    os.symlink("..", d / "loop" / "up")  # a directory symlink loop: never followed
    long_name = "x" * 200 + ".jpg"
    photo.resize((64, 48)).save(d / long_name, "JPEG")
    out[long_name] = "ok"
    raw = os.fsencode(str(d)) + b"/caf\xe9-latin1.png"
    photo.resize((64, 48)).save(raw.decode("utf-8", "surrogateescape"), "PNG")
    out["caf\udce9-latin1.png"] = "ok"
    pal = photo.resize((64, 48)).convert("RGBA")
    pal.putalpha(128)
    pal.convert("P").save(d / "palette-alpha.png", transparency=0)
    out["palette-alpha.png"] = "ok"
    lying = io.BytesIO()
    photo.save(lying, "JPEG")
    (d / "jpeg-named.png").write_bytes(lying.getvalue())  # extension lies, content is a fine JPEG
    out["jpeg-named.png"] = "ok"
    header = bytearray(lying.getvalue())
    sof = header.find(b"\xff\xc0")
    header[sof + 5 : sof + 9] = struct.pack(">HH", 60000, 60000)  # SOF claims 60000x60000
    (d / "lying-size.jpg").write_bytes(bytes(header))
    out["lying-size.jpg"] = "fail"
    webp = io.BytesIO()
    photo.save(webp, "WEBP")
    (d / "truncated.webp").write_bytes(webp.getvalue()[:200])
    out["truncated.webp"] = "fail"
    gif = io.BytesIO()
    photo.convert("P").save(gif, "GIF")
    (d / "truncated.gif").write_bytes(gif.getvalue()[:100])
    out["truncated.gif"] = "fail"
    return out
