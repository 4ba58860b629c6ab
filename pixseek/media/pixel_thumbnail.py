"""A photo's pixel thumbnail: the whole frame, long side SIDE, what the near-duplicate check compares
(search/duplicate_check.py). Made once when a photo is indexed, by the decoding worker from the very
image it decoded for the encoder (`thumbnail_of`), and kept in the collection (store/pixel_signatures.py),
so grouping duplicates never decodes a photo again. A photo indexed before is read for it alone
(`pixel_thumbnail`), at the smallest JPEG scale that keeps SIDE: the two may differ by a resampling's
rounding, which the check's blur and tolerance absorb (as they do for a photo and its resized copy)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from pixseek.media.images import open_reduced

SIDE = 96  # long side of the thumbnail (pixels)


def pixel_thumbnail(source: str | Path | bytes) -> tuple[np.ndarray, tuple[int, int]]:
    """(RGB uint8 of long side SIDE, the photo's upright (width, height)); a large JPEG is decoded at a
    reduced DCT scale. Raises ImageError (or OSError) for a file that cannot be read."""
    im, size = open_reduced(source, SIDE)
    return thumbnail_of(im), size


def thumbnail_of(im: Image.Image) -> np.ndarray:
    """An upright RGB image (decoded at any scale) -> its RGB uint8 thumbnail of long side SIDE."""
    w, h = im.size
    scale = SIDE / max(w, h)
    im = im.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.BILINEAR, reducing_gap=2.0)
    return np.asarray(im, np.uint8)
