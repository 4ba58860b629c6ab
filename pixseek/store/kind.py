"""The seam between a collection and where its vectors live: one StoreKind per kind of store."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from pixseek.config import DEFAULT_MAX_MEMORY
from pixseek.store.vectors import VectorStore


@dataclass(frozen=True)
class Shape:
    """What a collection's stores hold, read from its catalog in one snapshot."""

    folder: Path
    rows: int  # committed rows (ids below this)
    live: np.ndarray  # live content ids, ascending
    visual_dim: int
    n_classes: int | None  # classifier probabilities stored beside the visual vectors, if any
    index: str = "auto"  # the image index asked for (--index)
    max_memory: int = DEFAULT_MAX_MEMORY  # the budget `auto` plans the index for


class StoreKind(Protocol):
    def catalog_folder(self, uri: str) -> Path:
        """Where the SQLite catalog of vectors kept at `uri` lives (it always stays local)."""
        ...

    def bind(self, catalog, uri: str) -> None:
        """Record in the catalog which vectors it belongs to; refuse a catalog that belongs to others."""
        ...

    def open(self, uri: str | None, shape: Shape, writer: bool) -> tuple[VectorStore, VectorStore | None]:
        """(visual, probs) stores. `writer` only under the index lock: it may drop rows a crashed run
        wrote but never committed."""
        ...

    def index_status(self, uri: str | None, shape: Shape, n: int) -> dict:
        """{"type", "requested", "reason"}: the image index searches use, and why."""
        ...
