"""The image encoder interface: anything with a name, a dimension and `embed(batch)` plugs in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass
class Embedding:
    """What an encoder returns for a batch of n images.

    features: (n, dim) float32 visual vectors, used for image-to-image search.
    probs: (n, n_classes) float32 class probabilities over `classes`, or None for encoders
        without a classifier head (those search by words only through a learned mapping).
    """

    features: np.ndarray
    probs: np.ndarray | None = None


@runtime_checkable
class ImageEncoder(Protocol):
    name: str
    dim: int
    input_size: int
    classes: list[str] | None  # wnids (or labels) of the probability columns

    def embed(self, batch: np.ndarray) -> Embedding:
        """batch: (n, input_size, input_size, 3) uint8 RGB, already resized and centre-cropped."""
        ...
