"""Hostile and unusual files: each bad one is recorded with a reason, each odd-but-valid one is indexed."""

from __future__ import annotations

import io
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import HAVE_DATA, PHOTOS, cli_json
from PIL import Image

from pixseek import Collection


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


@pytest.fixture
def odd_dir(tmp_path) -> Path:
    d = tmp_path / "odd"
    d.mkdir()
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


def test_bad_files_are_recorded_and_good_ones_indexed(odd_dir, tmp_path):
    col = Collection.open(tmp_path / "db")
    report = col.index([odd_dir], progress=False)
    assert report.failed == len(BAD)
    assert report.indexed == len(GOOD)
    failed = {Path(f["path"]).name: f["error"] for f in col.status()["failed"]}
    assert set(failed) == BAD
    assert "empty" in failed["empty.jpg"]
    assert "not an image" in failed["notes.jpg"]
    assert "too large" in failed["bomb.png"] or "bomb" in failed["bomb.png"]
    assert failed["truncated.jpg"].startswith("corrupt")
    # a re-run does not retry unchanged bad files, and keeps listing them
    again = col.index([odd_dir], progress=False)
    assert (again.indexed, again.failed) == (0, 0)
    assert len(col.status()["failed"]) == len(BAD)


def test_exif_rotation_is_applied(odd_dir, tmp_path):
    col = Collection.open(tmp_path / "db")
    col.index([odd_dir], progress=False)
    rec = col.catalog.file(str(odd_dir / "rotated.jpg"))
    w, h = col.catalog.db.execute("SELECT width, height FROM contents WHERE id=?", (rec.content_id,)).fetchone()
    assert (w, h) == _photo().size  # upright size, not the stored sideways one
    # the sideways-stored photo is closest to its upright twin
    assert Path(col.similar(odd_dir / "rotated.jpg", k=1)[0].path).name in {"upright.png", "cmyk.jpg", "renamed-photo.dat"}


def test_fixing_a_broken_file_indexes_it(odd_dir, tmp_path):
    db = tmp_path / "db"
    cli_json("index", str(odd_dir), db=db)
    shutil.copy(odd_dir / "cmyk.jpg", odd_dir / "truncated.jpg")
    report = cli_json("index", str(odd_dir), db=db)
    assert report["indexed"] == 1 and report["failed"] == 0
    assert "truncated.jpg" not in {Path(f["path"]).name for f in cli_json("status", db=db)["failed"]}
