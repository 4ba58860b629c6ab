"""Vectors in Milvus (a server, or Milvus Lite in a local file), the catalog in a local folder.

uri.py parses `--db milvus://...`, client.py connects, index.py maps index strings, filters.py builds
metadata filters, store.py is the VectorStore over one Milvus collection.
"""

from __future__ import annotations

from pathlib import Path

from pixseek.store.kind import Shape
from pixseek.store.milvus.filters import MetaFilter, ancestors
from pixseek.store.milvus.index import MilvusIndex, milvus_index
from pixseek.store.milvus.store import MilvusVectorStore
from pixseek.store.milvus.uri import MilvusTarget, parse_db, record_store
from pixseek.store.vectors import VectorStore

__all__ = ["MetaFilter", "MilvusIndex", "MilvusStores", "MilvusTarget", "MilvusVectorStore", "ancestors",
           "milvus_index", "parse_db", "record_store"]


class MilvusStores:
    """The StoreKind (store/registry.py) for milvus:// and milvus-lite:// URIs: `<name>_visual` and
    `<name>_probs` collections."""

    def catalog_folder(self, uri: str) -> Path:
        return parse_db(uri).catalog

    def bind(self, catalog, uri: str) -> None:
        record_store(catalog, uri)

    def open(self, uri: str | None, shape: Shape, writer: bool) -> tuple[VectorStore, VectorStore | None]:
        from pixseek.store.milvus.client import milvus_client

        target = parse_db(uri)
        client = milvus_client(target)
        index = milvus_index(target.index, shape.visual_dim, target.lite, **target.knobs)
        visual = MilvusVectorStore(client, f"{target.name}_visual", shape.visual_dim, index, shape.rows, shape.live,
                                   writer=writer)
        # word search ranks by the whole probability vector; it stays exact whatever the visual index is
        probs = (MilvusVectorStore(client, f"{target.name}_probs", shape.n_classes, milvus_index("exact"), shape.rows,
                                   shape.live, writer=writer)
                 if shape.n_classes else None)
        return visual, probs

    def index_status(self, uri: str | None, shape: Shape, n: int) -> dict:
        return {"type": uri, "requested": shape.index, "reason": "vectors in Milvus"}
