"""The default store: vector files in the collection folder, with an ANN index file beside the image vectors."""

from __future__ import annotations

from pathlib import Path

from pixseek.store.class_postings import PostingsStore
from pixseek.store.kind import Shape
from pixseek.store.vectors import LocalVectorStore, VectorStore


class LocalStores:
    def catalog_folder(self, uri: str) -> Path:
        return Path(uri)

    def bind(self, catalog, uri: str) -> None:
        """A folder's catalog and its vector files are one thing; nothing to record."""

    def open(self, uri: str | None, shape: Shape, writer: bool) -> tuple[VectorStore, VectorStore | None]:
        visual = LocalVectorStore(shape.folder, "visual", shape.visual_dim, "float16", shape.rows, shape.live,
                                  writer=writer)
        probs = (PostingsStore(LocalVectorStore(shape.folder, "probs", shape.n_classes, "float16", shape.rows,
                                                shape.live, writer=writer), shape.folder, writer)
                 if shape.n_classes else None)
        return self._with_index(visual, shape, writer), probs

    def index_status(self, uri: str | None, shape: Shape, n: int) -> dict:
        from pixseek.store.ann import resolve_index

        text, why = resolve_index(n, shape.visual_dim, shape.index, shape.max_memory)
        return {"type": text, "requested": shape.index, "reason": why}

    @staticmethod
    def _with_index(store: LocalVectorStore, shape: Shape, writer: bool) -> VectorStore:
        """The image vectors behind an ANN index, unless exact search is what the collection gets (the
        store's own scan, float32 in RAM while it fits). Class probabilities get postings at scale
        (store/class_postings.py)."""
        from pixseek.store.ann import IndexedVectorStore, resolve_index

        text, _ = resolve_index(len(store), store.dim, shape.index, shape.max_memory)
        if text == "flat":
            return store
        return IndexedVectorStore(store, shape.folder, shape.index or "auto", max_memory_bytes=shape.max_memory,
                                  persist=writer, log=lambda msg: None)
