"""A photo's pixel thumbnail: the whole frame, long side SIDE, what the near-duplicate check compares
(search/duplicate_check.py). Made once when a photo is indexed and kept in the collection
(store/pixel_signatures.py), so grouping duplicates never decodes a photo again."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pixseek.media.images import _open

SIDE = 96  # long side of the thumbnail (pixels)


def pixel_thumbnail(source: str | Path | bytes) -> tuple[np.ndarray, tuple[int, int]]:
    """(RGB uint8 of long side SIDE, the photo's upright (width, height)); a large JPEG is decoded at a
    reduced DCT scale. Raises ImageError (or OSError) for a file that cannot be read."""
    im, size = _open(source, short_side=SIDE)
    w, h = im.size
    scale = SIDE / max(w, h)
    im = im.resize((max(1, round(w * scale)), max(1, round(h * scale))), 2, reducing_gap=2.0)  # 2: bilinear
    return np.asarray(im, np.uint8), size
