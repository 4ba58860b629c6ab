"""Decode untrusted image files safely and turn them into the encoder's square uint8 input.

Every failure becomes an `ImageError` with a short reason (recorded in the catalog), never a crash:
truncated or corrupt data, decompression bombs, odd modes (16-bit, CMYK, palette+alpha), animations
(first frame) and EXIF orientation are all handled here.
"""

from __future__ import annotations

import functools
import io
import math
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from pixseek.config import MAX_DECODED_BYTES
from pixseek.errors import PixseekError
from pixseek.media.formats import IMAGE_EXTENSIONS, format_of_bytes
from pixseek.regular_files import open_regular, read_regular

MAX_PIXELS = 200_000_000  # refuse anything larger before decoding: a bomb must not eat memory
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
Box = tuple[float, float, float, float]

# Bytes per pixel a decoded image holds in each PIL mode (before conversion to RGB).
_STORED = {"1": 1, "L": 1, "P": 1, "RGB": 3, "YCbCr": 3, "LAB": 3, "HSV": 3, "RGBA": 4, "RGBa": 4, "RGBX": 4,
           "CMYK": 4, "LA": 4, "La": 4, "PA": 4, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2, "I": 4, "F": 4}
_DEEP = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")

class ImageError(Exception):
    """A file that cannot be used as an image; the message says why."""


def sniff(head: bytes) -> bool:
    """True when the first bytes carry an image signature we can decode."""
    return format_of_bytes(head) is not None


def looks_like_image(path: Path) -> bool:
    """By extension or by content: a renamed JPEG is still found, a .jpg text file is still reported."""
    if path.suffix.lower() in IMAGE_EXTENSIONS:
        return True
    try:
        with open_regular(path) as f:
            return sniff(f.read(16))
    except OSError:
        return False


def open_image(source: str | Path | bytes, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Open, validate and fully decode an image into RGB, upright. Raises ImageError."""
    return _open(source, max_pixels)[0]


def open_reduced(source: str | Path | bytes, short_side: int) -> tuple[Image.Image, tuple[int, int]]:
    """(upright RGB image, its original upright size): a JPEG decoded at the smallest DCT scale whose short
    side keeps `short_side` pixels (see _open). Raises ImageError."""
    return _open(source, short_side=short_side)


def _open(source: str | Path | bytes, max_pixels: int = MAX_PIXELS, draft: int | None = None,
          short_side: int | None = None) -> tuple[Image.Image, tuple[int, int]]:
    """open_image, plus the original upright size. A JPEG can be decoded at a reduced scale (libjpeg's
    DCT scaling: 1/2, 1/4 or 1/8, several times faster): with `draft`, one at least 4 x draft on each
    side to at least 2 x draft; with `short_side`, any to the smallest scale whose short side keeps
    `short_side` pixels (a 4000x3000 photo for a 256 px short side: 1/8, 500x375)."""
    try:
        fp = io.BytesIO(source if isinstance(source, bytes) else read_regular(source))
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(fp)
            w, h = im.size
            if w * h > max_pixels:
                raise ImageError(f"image too large ({w}x{h} pixels, limit {max_pixels:,})")
            if w == 0 or h == 0:
                raise ImageError("image has zero size")
            im.seek(0)  # animated GIF/WebP/APNG: first frame
            if draft and im.format == "JPEG" and min(w, h) >= 4 * draft:
                im.draft("RGB", (2 * draft, 2 * draft))
            elif short_side and im.format == "JPEG" and min(w, h) >= 2 * short_side:
                im.draft("RGB", (short_side, short_side))
            check_decoded_size(im)
            im.load()
            im = ImageOps.exif_transpose(im)
            if (im.size[0] > im.size[1]) != (w > h):
                w, h = h, w  # EXIF turned it a quarter
            return to_rgb(im), (w, h)
    except ImageError:
        raise
    except FileNotFoundError:
        raise ImageError("file not found") from None
    except PermissionError:
        raise ImageError("permission denied") from None
    except Image.DecompressionBombError as exc:
        raise ImageError(f"decompression bomb refused: {exc}") from None
    except Image.DecompressionBombWarning as exc:
        raise ImageError(f"decompression bomb refused: {exc}") from None
    except Image.UnidentifiedImageError:
        raise ImageError("not an image (unrecognised format)") from None
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
        if isinstance(exc, OSError) and exc.filename is not None:  # the file itself (a FIFO, too large)
            raise ImageError(f"cannot read: {exc.strerror or exc}") from None
        msg = str(exc) or type(exc).__name__
        raise ImageError(f"corrupt image: {msg}") from None


def decoded_bytes(im: Image.Image) -> int:
    """Peak memory decoding `im` (opened, not yet loaded: its size and mode as the header tells, after any
    draft) and converting it to RGB takes: the pixels as stored, to_rgb's working copies, the RGB result,
    and an upright copy when EXIF turns it. A 16-bit 14100x14100 PNG of 386 KB is 1.8 GB here."""
    stored = _STORED.get(im.mode, 8)
    if im.mode in _DEEP:
        work = stored + 5  # a numpy copy, the uint8 result, its L image, the RGB image
    elif im.mode in ("RGBA", "RGBa", "LA", "La", "PA") or (im.mode == "P" and "transparency" in im.info):
        work = 15  # RGBA copy, white background, composite, RGB
    else:
        work = 0 if im.mode == "RGB" else 3
    turned = False
    if im.info.get("exif"):  # read from the header's EXIF block: im.getexif() would decode a PNG to find one
        try:
            exif = Image.Exif()
            exif.load(im.info["exif"])
            turned = exif.get(0x0112, 1) not in (1, None)
        except Exception:  # an unreadable EXIF block is exif_transpose's problem, not the estimate's
            pass
    return im.width * im.height * (stored + work + (stored if turned else 0))


def check_decoded_size(im: Image.Image, limit: int = MAX_DECODED_BYTES) -> None:
    """Refuse, before decoding, an image whose pixels would take more than `limit` bytes (the pixel count
    alone lets a small 16-bit or alpha image through that needs gigabytes)."""
    need = decoded_bytes(im)
    if need > limit:
        raise ImageError(f"image too large to decode: {im.width}x{im.height} {im.mode} pixels need about "
                         f"{need / 2**20:,.0f} MB of memory, the limit is {limit / 2**20:,.0f} MB")


def to_rgb(im: Image.Image) -> Image.Image:
    """Convert any PIL mode to 8-bit RGB, scaling 16/32-bit data instead of clipping it (in slices of rows,
    so the float64 arithmetic never holds more than a few megapixels at once)."""
    if im.mode in _DEEP:
        a = np.asarray(im)
        lo, hi = float(a.min()), float(a.max())
        out = np.zeros(a.shape, np.uint8)
        if hi > lo:
            step = max(1, 4_000_000 // max(1, a.shape[1]))
            for r in range(0, a.shape[0], step):
                out[r:r + step] = ((a[r:r + step].astype(np.float64) - lo) / (hi - lo) * 255.0).astype(np.uint8)
        im = Image.fromarray(out, "L")
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        im = im.convert("RGBA") if im.mode != "RGBA" else im
        bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(bg, im)
    return im.convert("RGB") if im.mode != "RGB" else im


def load_for_encoder(
    source: str | Path | bytes, size: int, box: Box | None = None
) -> tuple[np.ndarray, tuple[int, int]]:
    """Decode, optionally crop to `box` (x0, y0, x1, y1 in upright pixel coordinates), resize the short
    side to size*256/224 and centre-crop to size x size. Returns (pixels uint8 HxWx3, original (w, h)).
    A large JPEG is decoded at the DCT scale that keeps that short side (measured on 12 MP photos: visual
    vectors within cosine 0.998 of a full decode, mean 0.9994, at a third of the decoding time)."""
    if box is None:
        im, (w, h) = open_reduced(source, encoder_short_side(size))
    else:
        box = parse_box(box)  # refused before anything is decoded
        im = open_image(source)
        w, h = im.size
    if box is not None:
        im = im.crop(check_box(box, w, h))
    return square_crop(im, size), (w, h)


def parse_box(value: str | Sequence[float]) -> Box:
    """A region X0,Y0,X1,Y1 in image pixels, as text ("10,20,200,220") or four numbers: finite, not
    negative, X1>X0 and Y1>Y0. The one check behind --box, ?box= and the Python API's box= (whether it
    meets the image is known only once the image is open: check_box)."""
    try:
        parts = tuple(float(v) for v in (value.split(",") if isinstance(value, str) else value))
    except (TypeError, ValueError):
        parts = ()
    if len(parts) != 4 or not all(math.isfinite(v) for v in parts):
        raise PixseekError(f"box wants X0,Y0,X1,Y1: four finite numbers in image pixels, got {_shown(value)}")
    if min(parts) < 0 or parts[2] <= parts[0] or parts[3] <= parts[1]:
        raise PixseekError(f"box wants X0,Y0,X1,Y1 in image pixels, not negative, with X1>X0 and Y1>Y0, "
                           f"got {_shown(value)}")
    return parts  # type: ignore[return-value]


def _shown(value) -> str:
    text = value if isinstance(value, str) else ",".join(map(str, value)) if isinstance(value, Sequence) else value
    return repr(text if not isinstance(text, str) or len(text) <= 80 else text[:80] + "...")


def check_box(box: Box, w: int, h: int) -> tuple[int, int, int, int]:
    """The box clipped to a w x h image, in whole pixels; refused when it does not meet the image."""
    x0, y0, x1, y1 = (int(round(v)) for v in parse_box(box))
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x1 - x0 < 2 or y1 - y0 < 2:
        raise ImageError(f"box {','.join(f'{v:g}' for v in box)} is empty or outside the {w}x{h} image")
    return x0, y0, x1, y1


def encoder_short_side(size: int) -> int:
    """The short side a photo is resized to before the centre size x size crop (ImageNet's 256 for 224)."""
    return round(size * 256 / 224)


def square_crop(im: Image.Image, size: int) -> np.ndarray:
    """Resize the short side to size*256/224 and take the centre size x size.

    Shrinking (most photos) goes through Pillow in one antialiased pass: the centre box is mapped back
    onto the source and resized straight to the output. Enlarging (thumbnails, icons, 64x64 datasets) is
    plain bilinear interpolation, where OpenCV's SIMD resize costs a third of Pillow's (on a small machine
    that time is taken from the encoder): the same pixels within 1/255 at whole-number scales such as
    64 -> 256; otherwise the crop starts on a whole output pixel, as torchvision's CenterCrop does."""
    w, h = im.size
    scale = encoder_short_side(size) / min(w, h)
    if scale >= 1:
        return _enlarge_crop(np.asarray(im, dtype=np.uint8), scale, size)
    side = size / scale  # the output's extent in source pixels
    left, top = (w - side) / 2, (h - side) / 2
    out = im.resize((size, size), Image.BILINEAR, box=(left, top, left + side, top + side),
                    reducing_gap=3.0 if scale < 0.5 else None)
    return np.asarray(out, dtype=np.uint8)


def _enlarge_crop(pixels: np.ndarray, scale: float, size: int) -> np.ndarray:
    """The centre size x size of the image scaled by `scale` (>= 1). Only the centre region, with a pixel
    of margin for the interpolation, is enlarged: a 2 x 5000 sliver must not become 256 x 640000."""
    cv2 = _cv2()
    h, w = pixels.shape[:2]
    side = size / scale  # the output's extent in source pixels
    x0, x1 = max(0, math.floor((w - side) / 2) - 1), min(w, math.ceil((w + side) / 2) + 1)
    y0, y1 = max(0, math.floor((h - side) / 2) - 1), min(h, math.ceil((h + side) / 2) + 1)
    big_w, big_h = max(size, round((x1 - x0) * scale)), max(size, round((y1 - y0) * scale))
    big = cv2.resize(pixels[y0:y1, x0:x1], (big_w, big_h), interpolation=cv2.INTER_LINEAR)
    left = min(max(0, round((w / 2 - x0) * scale - size / 2)), big_w - size)
    top = min(max(0, round((h / 2 - y0) * scale - size / 2)), big_h - size)
    return np.ascontiguousarray(big[top:top + size, left:left + size])


@functools.cache
def _cv2():
    import cv2

    cv2.setNumThreads(1)  # decoding runs in worker processes already; OpenCV's own pool would oversubscribe
    return cv2
