"""The image encoder interface: anything with a name, a dimension and `embed(batch)` plugs in."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:  # a text search never loads Pillow
    from PIL import Image


@dataclass
class Embedding:
    """What an encoder returns for a batch of n images.

    features: (n, dim) float32 visual vectors, used for image-to-image search.
    probs: (n, n_classes) float32 class probabilities over `classes`, or None for encoders
        without a classifier head (those search by words only through a learned mapping).
    """

    features: np.ndarray
    probs: np.ndarray | None = None


class Preprocess(Protocol):
    """How an encoder wants its pixels, picklable so decoding workers can apply it."""

    size: int  # the side of the square the encoder takes

    def load(self, source: str | Path | bytes, box: tuple[float, float, float, float] | None = None
             ) -> tuple[np.ndarray, tuple[int, int]]:
        """Decode `source` (a path or encoded bytes), optionally cut to `box` (pixels of the upright
        original) -> ((size, size, 3) uint8 RGB, the original upright (width, height)). Raises ImageError."""
        ...

    def open(self, source: str | Path | bytes) -> tuple[Image.Image, tuple[int, int]]:
        """Decode `source` upright, as finely as `apply` needs -> (RGB image, original (width, height)).
        Indexing decodes once and makes both the encoder's pixels and the pixel thumbnail from it."""
        ...

    def apply(self, im: Image.Image) -> np.ndarray:
        """An image from `open` -> (size, size, 3) uint8 RGB; load(source) is apply(open(source)[0])."""
        ...


@runtime_checkable
class ImageEncoder(Protocol):
    name: str
    weights: str  # which weights give the vectors (a model file's name and size): caches of others are not reused
    dim: int
    input_size: int
    preprocess: Preprocess  # decoding for this encoder (media/preprocess.py: SquareCrop for most)
    classes: list[str] | None  # wnids (or labels) of the probability columns

    def embed(self, batch: np.ndarray) -> Embedding:
        """batch: (n, input_size, input_size, 3) uint8 RGB, as `preprocess` made it."""
        ...
