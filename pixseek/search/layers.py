"""The small MLPs pixseek ships (DeViSE mapping, joint-space heads), run with numpy at query time."""

from __future__ import annotations

import json

import numpy as np

from pixseek.errors import PixseekError

Layers = list[tuple[np.ndarray, np.ndarray]]  # (W (in, out), b) per layer, ReLU between layers


def in_dim(layers: Layers) -> int:
    return int(layers[0][0].shape[0])


def out_dim(layers: Layers) -> int:
    return int(layers[-1][0].shape[1])


def forward(layers: Layers, x: np.ndarray) -> np.ndarray:
    """(n, in_dim) -> (n, out_dim) unit vectors."""
    for i, (w, b) in enumerate(layers):
        x = x @ w + b
        if i < len(layers) - 1:
            x = np.maximum(x, 0)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def read_npz(path, what: str) -> tuple[dict, dict[str, np.ndarray]]:
    """(JSON header, arrays) of a weights file saved with a "header" entry; a clear error if unreadable."""
    try:
        with np.load(path, allow_pickle=False) as z:
            header = json.loads(str(z["header"]))
            return header, {k: z[k] for k in z.files if k != "header"}
    except (OSError, ValueError, KeyError) as exc:
        raise PixseekError(f"cannot read {what} {path}: {exc}") from None
