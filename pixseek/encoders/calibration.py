"""Calibration pictures for quantizing an image model: generated, so that nothing but code ships.

Static int8 quantization needs inputs whose activations span the ranges real photos reach. A "dead
leaves" picture (opaque discs of random colour with sizes drawn from a power law, stacked until they
cover the frame, then blurred and grained like a camera's) has the edges, flat patches and 1/f spectrum of
natural photos. Measured on EfficientNet-Lite0 (docs/benchmarks.md, "Int8 encoders"): calibrated on
these, the int8 model's features agree with the float ones on held-out real photos as closely as when
calibrated on real photos. The same seed gives the same pictures on every machine.
"""

from __future__ import annotations

import numpy as np

SEED = 20261207


def dead_leaves(n: int, size: int, seed: int = SEED) -> np.ndarray:
    """(n, size, size, 3) uint8 RGB calibration pictures."""
    from PIL import Image, ImageFilter

    rng = np.random.default_rng(seed)
    out = np.empty((n, size, size, 3), np.uint8)
    for i in range(n):
        img = np.empty((size, size, 3), np.float32)
        img[:] = rng.uniform(0, 255, 3)
        covered = np.zeros((size, size), bool)
        tint = rng.uniform(0.3, 1.0, 3)  # a colour cast per picture, as lighting gives
        for _ in range(600):  # front to back: a disc shows only where nothing nearer covers it yet
            r = size * 0.5 * rng.uniform(0.02, 1.0) ** 2 + 1.0
            cx, cy = rng.uniform(0, size, 2)
            colour = rng.uniform(0, 255, 3) * tint + rng.uniform(0, 80)
            x0, x1 = int(max(cx - r, 0)), int(min(cx + r + 1, size))
            y0, y1 = int(max(cy - r, 0)), int(min(cy + r + 1, size))
            if x0 >= x1 or y0 >= y1:
                continue
            yy, xx = np.ogrid[y0:y1, x0:x1]
            disc = ((xx - cx) ** 2 + (yy - cy) ** 2 < r * r) & ~covered[y0:y1, x0:x1]
            img[y0:y1, x0:x1][disc] = colour
            covered[y0:y1, x0:x1] |= disc
            if covered.all():
                break
        blurred = Image.fromarray(img.clip(0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(rng.uniform(0, 1.5)))
        grain = rng.normal(0, rng.uniform(0, 8), (size, size, 3))
        out[i] = (np.asarray(blurred, np.float32) + grain).clip(0, 255).astype(np.uint8)
    return out
