"""The small MLPs pixseek ships (DeViSE mapping, joint-space heads), run with numpy at query time."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

import numpy as np

from pixseek.errors import PixseekError

Layers = Sequence[tuple[np.ndarray, np.ndarray]]  # (W (in, out), b) per layer, ReLU between layers


class LazyLayers(Sequence[tuple[np.ndarray, np.ndarray]]):
    """Layers decoded from their file when first used, their dimensions known before: the joint space's
    image head (~2.9M weights, ~20 ms to decompress and dequantise) is only needed to map new photos,
    never by a text query on a collection whose joint vectors are derived already."""

    def __init__(self, decode: Callable[[], list[tuple[np.ndarray, np.ndarray]]], dims: tuple[int, int]) -> None:
        self._decode, self.dims = decode, dims
        self._layers: list[tuple[np.ndarray, np.ndarray]] | None = None

    def _get(self) -> list[tuple[np.ndarray, np.ndarray]]:
        if self._layers is None:
            self._layers = self._decode()
        return self._layers

    def __getitem__(self, i):
        return self._get()[i]

    def __len__(self) -> int:
        return len(self._get())


def in_dim(layers: Layers) -> int:
    return layers.dims[0] if isinstance(layers, LazyLayers) else int(layers[0][0].shape[0])


def out_dim(layers: Layers) -> int:
    return layers.dims[1] if isinstance(layers, LazyLayers) else int(layers[-1][0].shape[1])


def forward(layers: Layers, x: np.ndarray) -> np.ndarray:
    """(n, in_dim) -> (n, out_dim) unit vectors."""
    for i, (w, b) in enumerate(layers):
        x = x @ w + b
        if i < len(layers) - 1:
            x = np.maximum(x, 0)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def read_npz(path, what: str, skip: str = "") -> tuple[dict, dict[str, np.ndarray]]:
    """(JSON header, arrays) of a weights file saved with a "header" entry; a clear error if unreadable.
    Arrays whose names start with `skip` are left for `read_arrays` (their shapes: `read_shapes`)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            header = json.loads(str(z["header"]))
            return header, {k: z[k] for k in z.files if k != "header" and not (skip and k.startswith(skip))}
    except (OSError, ValueError, KeyError) as exc:
        raise PixseekError(f"cannot read {what} {path}: {exc}") from None


def read_arrays(path, what: str, names: list[str]) -> dict[str, np.ndarray]:
    """Some arrays of a weights file (those read_npz skipped), with the same clear error."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in names}
    except (OSError, ValueError, KeyError) as exc:
        raise PixseekError(f"cannot read {what} {path}: {exc}") from None


def read_shapes(path, what: str, prefix: str) -> dict[str, tuple[int, ...]]:
    """The shapes of the arrays named with `prefix`, from their .npy headers alone (a few hundred bytes
    inflated each, the arrays left unread), with the same clear error."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: _npy_shape(z.zip, k) for k in z.files if k.startswith(prefix)}
    except (OSError, ValueError, KeyError) as exc:
        raise PixseekError(f"cannot read {what} {path}: {exc}") from None


def _npy_shape(zf, name: str) -> tuple[int, ...]:
    with zf.open(f"{name}.npy") as f:
        major, _ = np.lib.format.read_magic(f)
        read = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
        return tuple(read(f)[0])
