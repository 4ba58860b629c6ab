"""Choosing where a collection's vectors live from its `--db` value.

    ~/photos.pixseek                        a folder: catalog + local vector files (the default)
    milvus://host:19530/photos              a Milvus server; collections photos_visual, photos_probs
    milvus-lite:///abs/path/photos.db       Milvus Lite, embedded, in a local file (folder)
    milvus-lite://relative/photos.db        the same, relative to the current folder

Query options: `?index=exact|flat|hnswM|ivfN,pqM` (default exact), `&ef=N` / `&nprobe=N` search knobs,
`&catalog=DIR` where the SQLite catalog lives. The catalog always stays local; by default it sits
beside a Milvus Lite file (`photos.db-catalog/`) or, for a server, in
`$XDG_DATA_HOME/pixseek/milvus/<host>_<port>_<name>/`. The catalog records the URI it belongs to
(meta key `vectors`), so reopening the catalog folder alone finds the same Milvus collections.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from pixseek.errors import PixseekError
from pixseek.paths import data_home
from pixseek.store.vectors import LocalVectorStore

SCHEMES = ("milvus", "milvus-lite")
_clients: dict[str, object] = {}


@dataclass(frozen=True)
class MilvusTarget:
    """A parsed Milvus --db URI."""

    uri: str  # canonical form, recorded in the catalog
    lite: bool
    address: str  # host:port for a server, absolute .db path for Lite
    name: str  # collection name prefix
    catalog: Path
    index: str = "exact"
    knobs: dict[str, int] = field(default_factory=dict)


def is_store_uri(spec: object) -> bool:
    return isinstance(spec, str) and spec.split("://", 1)[0] in SCHEMES and "://" in spec


def parse_db(spec: str) -> MilvusTarget:
    """Parse milvus://host:port/name or milvus-lite:///path.db (see the module docstring)."""
    parts = urlsplit(spec)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    unknown = set(query) - {"index", "ef", "nprobe", "catalog", "name"}
    if unknown:
        raise PixseekError(f"unknown option(s) {', '.join(sorted(unknown))} in {spec}: use index, ef, nprobe, catalog, name")
    try:
        knobs = {k: int(query[k]) for k in ("ef", "nprobe") if k in query}
    except ValueError:
        raise PixseekError(f"ef and nprobe must be whole numbers in {spec}") from None
    index = query.get("index", "exact")
    if parts.scheme == "milvus-lite":
        raw = (parts.netloc + parts.path) if parts.netloc else parts.path
        if not raw:
            raise PixseekError(f"{spec}: give a file, e.g. milvus-lite:///home/me/photos.db")
        path = Path(os.path.abspath(os.path.expanduser(raw)))
        if path.suffix != ".db":
            raise PixseekError(f"{spec}: a Milvus Lite file must end in .db")
        name = _collection_name(query.get("name", "pixseek"))
        catalog = Path(query["catalog"]) if "catalog" in query else path.with_name(path.name + "-catalog")
        return MilvusTarget(_canonical(f"milvus-lite://{path}", name, index, knobs), True, str(path), name,
                            catalog.expanduser().absolute(), index, knobs)
    if parts.scheme == "milvus":
        host, port = parts.hostname or "localhost", parts.port or 19530
        name = _collection_name(query.get("name") or parts.path.strip("/") or "pixseek")
        default = data_home() / "pixseek" / "milvus" / f"{host}_{port}_{name}"
        catalog = Path(query["catalog"]) if "catalog" in query else default
        return MilvusTarget(_canonical(f"milvus://{host}:{port}/{name}", None, index, knobs), False, f"{host}:{port}",
                            name, catalog.expanduser().absolute(), index, knobs)
    raise PixseekError(f"unknown store {spec!r}: use a folder, milvus://HOST:PORT/NAME or milvus-lite:///PATH.db")


def _canonical(base: str, name: str | None, index: str, knobs: dict[str, int]) -> str:
    opts = ([f"name={name}"] if name else []) + ([f"index={index}"] if index != "exact" else [])
    opts += [f"{k}={v}" for k, v in sorted(knobs.items())]
    return base + ("?" + "&".join(opts) if opts else "")


def record_store(catalog, uri: str) -> None:
    """Tie a catalog to its Milvus collections, refusing a catalog that belongs to other vectors."""
    target = parse_db(uri)
    stored = catalog.get_meta("vectors")
    if stored is None and catalog.counts()["rows"]:
        raise PixseekError(f"{catalog.path.parent} holds a collection with local vector files, not {uri}")
    if stored is not None:
        old = parse_db(stored)
        if (old.lite, old.address, old.name) != (target.lite, target.address, target.name):
            raise PixseekError(f"the catalog in {catalog.path.parent} belongs to {stored}, not {uri}: use ?catalog=DIR")
    if stored != target.uri:
        catalog.begin()
        catalog.set_meta("vectors", target.uri)
        catalog.commit()


def _collection_name(text: str) -> str:
    """Milvus names are letters, digits and underscores, starting with a letter or underscore."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", text)
    return name if re.match(r"[A-Za-z_]", name) else f"_{name}"


def milvus_client(target: MilvusTarget):
    """One client per address and process. Lite: start the embedded gRPC server, then connect to its
    http://127.0.0.1:PORT like to any server, so both go through the same client code."""
    if target.address in _clients:
        return _clients[target.address]
    try:
        from pymilvus import MilvusClient
    except ImportError as exc:
        raise PixseekError(f"a Milvus store needs pymilvus: pip install 'pixseek[milvus]' ({exc})") from None
    if target.lite:
        try:
            from milvus_lite.server_manager import server_manager_instance
        except ImportError:
            raise PixseekError("milvus-lite:// needs milvus-lite: pip install 'pixseek[milvus]'") from None
        Path(target.address).parent.mkdir(parents=True, exist_ok=True)
        uri = server_manager_instance.start_and_get_uri(target.address)
        if uri is None:
            raise PixseekError(f"cannot start Milvus Lite on {target.address} (is another process using it?)")
    else:
        uri = f"http://{target.address}"
    try:
        client = MilvusClient(uri=uri, token=os.environ.get("PIXSEEK_MILVUS_TOKEN", ""), timeout=30)
    except Exception as exc:
        raise PixseekError(f"cannot connect to Milvus at {target.address}: {exc}") from exc
    _clients[target.address] = client
    return client


def chosen_index(n: int, dim: int, index: str, max_memory: int) -> tuple[str, str]:
    """(index string, why) for a collection: the requested one, or what `auto` picks for its size."""
    from pixseek.store.ann import choose_index, parse_spec

    if index in ("auto", ""):
        return choose_index(n, dim, max_memory)[0]
    spec = parse_spec(index)
    return spec.text, f"chosen with --index: {spec.describe(dim, n)}"


def with_index(store: LocalVectorStore, folder: Path, index: str, max_memory: int, writer: bool):
    """Wrap the image vectors in an ANN index unless exact search is what the collection gets."""
    text, _ = chosen_index(len(store), store.dim, index, max_memory)
    if text == "flat":
        return store  # exact: the store's own scan (float32 in RAM while it fits)
    from pixseek.store.ann import IndexedVectorStore

    return IndexedVectorStore(store, folder, index or "auto", max_memory_bytes=max_memory, persist=writer,
                              log=lambda msg: None)


def open_stores(db_spec: str | None, folder: Path, rows: int, live_ids: list[int], visual_dim: int,
                n_classes: int | None, writer: bool = False, index: str = "auto",
                max_memory: int = 2 * 1024**3) -> tuple:
    """(visual, probs) stores for a collection; db_spec None means local files in `folder`.
    `writer` only under the index lock: it lets a store drop rows an interrupted run never committed."""
    if db_spec is None:
        visual = LocalVectorStore(folder, "visual", visual_dim, "float16", rows, live_ids, writer=writer)
        probs = LocalVectorStore(folder, "probs", n_classes, "float16", rows, live_ids, writer=writer) if n_classes else None
        return with_index(visual, folder, index, max_memory, writer), probs
    from pixseek.store.milvus import MilvusVectorStore, milvus_index

    target = parse_db(db_spec)
    client = milvus_client(target)
    index = milvus_index(target.index, visual_dim, target.lite, **target.knobs)
    visual = MilvusVectorStore(client, f"{target.name}_visual", visual_dim, index, rows, live_ids, writer=writer)
    # word search ranks by the whole probability vector; it stays exact whatever the visual index is
    probs = (MilvusVectorStore(client, f"{target.name}_probs", n_classes, milvus_index("exact"), rows, live_ids,
                                writer=writer)
             if n_classes else None)
    return visual, probs
