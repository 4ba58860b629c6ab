"""Where a collection's vectors live, chosen from its `--db` value by URI scheme, in one place.

    ~/photos.pixseek                        a folder: catalog + local vector files (the default)
    milvus://host:19530/photos              a Milvus server (see store/milvus/uri.py)
    milvus-lite:///abs/path/photos.db       Milvus Lite, embedded, in a local file

Each kind of store implements `StoreKind`; the collection asks the registry for the kind of its URI
and never looks at the scheme itself.
"""

from __future__ import annotations

from pixseek.store.kind import StoreKind
from pixseek.store.local import LocalStores
from pixseek.store.milvus import MilvusStores

_milvus = MilvusStores()
STORES: dict[str, StoreKind] = {"": LocalStores(), "milvus": _milvus, "milvus-lite": _milvus}


def scheme(spec: object) -> str:
    """"" for a folder, else the URI scheme of a known store ("milvus", "milvus-lite")."""
    if isinstance(spec, str) and "://" in spec and spec.split("://", 1)[0] in STORES:
        return spec.split("://", 1)[0]
    return ""


def is_store_uri(spec: object) -> bool:
    return scheme(spec) != ""


def store_kind(uri: str | None) -> StoreKind:
    return STORES[scheme(uri)]
