"""The libraries behind an AnnIndex, one module each, behind one protocol and one registry.

A backend is the library's own index over row positions 0..n-1; AnnIndex maps those positions to ids
and handles tombstones, the side buffer and re-ranking. `BACKENDS` maps an IndexSpec's `library` to its
class; the library itself is imported only when an index is built or loaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from pixseek.store.ann.annoy_backend import AnnoyBackend
from pixseek.store.ann.faiss_backend import FaissBackend
from pixseek.store.ann.spec import IndexSpec


class Backend(Protocol):
    spec: IndexSpec
    can_add: bool  # False: AnnIndex keeps adds in its exact side buffer until a rebuild
    streams: bool  # True: `trained` on a sample, then `add` chunk by chunk builds it (AnnIndex.build_streamed)

    @classmethod
    def build(cls, spec: IndexSpec, x: np.ndarray, threads: int = -1) -> Backend: ...
    @classmethod
    def trained(cls, spec: IndexSpec, d: int, train: np.ndarray) -> Backend:
        """An empty index trained on a sample (only where `streams`)."""
        ...
    @classmethod
    def load(cls, spec: IndexSpec, path: Path, dim: int) -> Backend: ...
    def __len__(self) -> int: ...
    def add(self, x: np.ndarray) -> None: ...
    def set_knobs(self, knobs: dict[str, int]) -> None: ...
    def search(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, positions), each (len(q), k): larger scores are better, position -1 where none."""
        ...
    def vectors(self, positions: np.ndarray) -> np.ndarray | None:
        """float32 copies of these rows held in memory (exact, or decoded from an 8-bit copy), or None when
        the index keeps none it can give back (codes alone, trees)."""
        ...
    def save(self, path: Path) -> None: ...


BACKENDS: dict[str, type[Backend]] = {"faiss": FaissBackend, "annoy": AnnoyBackend}


def backend_for(spec: IndexSpec) -> type[Backend]:
    return BACKENDS[spec.library]
