"""pixseek's own preprocessing, as an object encoders carry and decoding workers apply (encoders/base.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # a text search never loads Pillow
    from PIL import Image


@dataclass(frozen=True)
class SquareCrop:
    """Short side to size*256/224, centre size x size (media/images.py: load_for_encoder)."""

    size: int

    def load(self, source: str | Path | bytes, box: tuple[float, float, float, float] | None = None
             ) -> tuple[np.ndarray, tuple[int, int]]:
        from pixseek.media.images import load_for_encoder

        return load_for_encoder(source, self.size, box)

    def open(self, source: str | Path | bytes) -> tuple[Image.Image, tuple[int, int]]:
        """Decoded only as finely as the crop needs (a large JPEG at a reduced DCT scale), upright."""
        from pixseek.media.images import encoder_short_side, open_reduced

        return open_reduced(source, encoder_short_side(self.size))

    def apply(self, im: Image.Image) -> np.ndarray:
        from pixseek.media.images import square_crop

        return square_crop(im, self.size)
