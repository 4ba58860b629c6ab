"""Milvus `--db` URIs: which server or file, which collections, where the catalog stays.

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

from pixseek.config import data_home
from pixseek.errors import PixseekError


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


