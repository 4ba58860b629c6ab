"""pixseek's own preprocessing, as an object encoders carry and decoding workers apply (encoders/base.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class SquareCrop:
    """Short side to size*256/224, centre size x size (media/images.py: load_for_encoder)."""

    size: int

    def load(self, source: str | Path | bytes, box: tuple[float, float, float, float] | None = None
             ) -> tuple[np.ndarray, tuple[int, int]]:
        from pixseek.media.images import load_for_encoder

        return load_for_encoder(source, self.size, box)
