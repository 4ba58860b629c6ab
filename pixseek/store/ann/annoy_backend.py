"""Annoy behind an AnnIndex: random-projection trees over row positions 0..n-1."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pixseek.store.ann.files import IndexFileError
from pixseek.store.ann.spec import IndexSpec


class AnnoyBackend:
    """Annoy trees (angular = cosine); built once, memory-mapped on load, cannot take adds."""

    can_add = False
    streams = False  # needs every vector before building: AnnIndex.build_streamed reads them all

    def __init__(self, spec: IndexSpec, index, dim: int) -> None:
        self.spec, self.index, self.dim = spec, index, dim
        self.search_k = -1

    @classmethod
    def build(cls, spec: IndexSpec, x: np.ndarray, threads: int = -1) -> AnnoyBackend:
        from annoy import AnnoyIndex

        index = AnnoyIndex(x.shape[1], "angular")
        for i, v in enumerate(x):
            index.add_item(i, v)
        index.build(spec.params["trees"], n_jobs=threads)
        return cls(spec, index, x.shape[1])

    @classmethod
    def trained(cls, spec: IndexSpec, d: int, train: np.ndarray) -> AnnoyBackend:
        raise NotImplementedError("Annoy trees are built from every vector at once (streams is False)")

    def __len__(self) -> int:
        return int(self.index.get_n_items())

    def add(self, x: np.ndarray) -> None:
        raise NotImplementedError("Annoy trees are built once; AnnIndex keeps later adds in its side buffer")

    def set_knobs(self, knobs: dict[str, int]) -> None:
        self.search_k = knobs["search_k"]

    def search(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        search_k = self.search_k or 30 * self.spec.params["trees"] * k
        scores = np.full((len(q), k), -np.inf, np.float32)
        pos = np.full((len(q), k), -1, np.int64)
        for r, v in enumerate(q.tolist()):
            ids, dist = self.index.get_nns_by_vector(v, k, search_k=search_k, include_distances=True)
            pos[r, : len(ids)] = ids
            scores[r, : len(ids)] = dist
        # angular distance is sqrt(2 - 2 cos) between normalised vectors; give back |q| * cos
        scores = (1.0 - np.square(scores) / 2.0) * np.linalg.norm(q, axis=1, keepdims=True)
        scores[pos < 0] = -np.inf
        return scores, pos

    def vectors(self, positions: np.ndarray) -> np.ndarray | None:
        """Annoy gives items back one Python call each: too slow to stand in for reading rows."""
        return None

    def save(self, path: Path) -> None:
        self.index.save(str(path))  # annoy re-opens the saved file memory-mapped

    @classmethod
    def load(cls, spec: IndexSpec, path: Path, dim: int) -> AnnoyBackend:
        from annoy import AnnoyIndex

        index = AnnoyIndex(dim, "angular")
        if not index.load(str(path)):
            raise IndexFileError(f"{path}: annoy could not open it")
        return cls(spec, index, dim)

