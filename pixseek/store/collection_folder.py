"""A collection on disk: its folder, its catalog and the settings kept in the catalog's meta table.

The meta table fixes what a collection is when it is created (encoder, word vectors, dimensions,
classifier class ids, where the vectors live) and what the user chose later (index type, memory
budget). `open_stores` reads the catalog in one snapshot and opens the vector stores for it, through
the StoreKind registered for the collection's URI (store/registry.py).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pixseek.config import DEFAULT_ENCODER, DEFAULT_MAX_MEMORY, DEFAULT_WORDS, default_db
from pixseek.encoders.base import ImageEncoder
from pixseek.encoders.visual import visual_dim
from pixseek.errors import PixseekError
from pixseek.store.catalog import Catalog
from pixseek.store.catalog_open import open_catalog
from pixseek.store.kind import Shape
from pixseek.store.registry import is_store_uri, store_kind
from pixseek.store.vectors import VectorStore


@dataclass
class Stores:
    """The vector stores of one catalog snapshot; visual is None before anything was indexed."""

    visual: VectorStore | None
    probs: VectorStore | None
    shape: Shape | None
    version: int  # the catalog's data_version when the snapshot was taken


class CollectionFolder:
    def __init__(self, folder: Path, catalog: Catalog, encoder_spec: str, words_spec: str,
                 encoder: Callable[[], ImageEncoder]) -> None:
        """encoder: loads the image encoder, only if a setting must be read from it (a new collection)."""
        self.folder, self.catalog = folder, catalog
        self.encoder_spec, self.words_spec = encoder_spec, words_spec
        self._encoder = encoder

    @classmethod
    def open(cls, where: str | Path | None, encoder: str | None, words: str | None,
             load_encoder: Callable[[str], ImageEncoder], new_encoder: Callable[[], str] = lambda: DEFAULT_ENCODER
             ) -> CollectionFolder:
        """Open (or create) the collection at a folder or store URI. The encoder and word space are fixed
        when it is created: `encoder`, else the one `new_encoder()` names (asked only then)."""
        uri = None
        if is_store_uri(where):  # milvus://... or milvus-lite://...: the catalog goes to a local folder
            uri = str(where)
            where = store_kind(uri).catalog_folder(uri)
        folder = Path(os.path.expanduser(str(where))) if where else default_db()
        if folder.exists() and not folder.is_dir():
            raise PixseekError(f"--db {folder} is a file, not a collection folder")
        readonly = (folder / "catalog.sqlite").is_file() and not os.access(folder, os.W_OK)
        _refuse_foreign_catalog(folder)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            catalog = open_catalog(folder / "catalog.sqlite", readonly)  # read-only on a full disk too
        except Exception as exc:  # OSError; sqlite3.DatabaseError: not a database, locked read-only file...
            raise PixseekError(f"cannot open collection {folder}: {exc}") from exc
        if uri is not None:
            store_kind(uri).bind(catalog, uri)
        stored_enc, stored_words = catalog.get_meta("encoder"), catalog.get_meta("words")
        if stored_enc is None and readonly:
            raise PixseekError(f"{folder} is read-only and holds no collection")
        if stored_enc is None:
            catalog.begin()  # read again under the write lock: another process may be creating it too
            stored_enc, stored_words = catalog.get_meta("encoder"), catalog.get_meta("words")
            if stored_enc is None:
                stored_enc, stored_words = encoder or new_encoder(), words or DEFAULT_WORDS
                catalog.set_meta("encoder", stored_enc)
                catalog.set_meta("words", stored_words)
            catalog.commit()
        if encoder and encoder != stored_enc:
            raise PixseekError(f"{folder} was indexed with encoder {stored_enc!r}, not {encoder!r}; use another --db")
        spec = stored_enc
        return cls(folder, catalog, spec, words or stored_words or DEFAULT_WORDS, lambda: load_encoder(spec))

    def load_encoder(self) -> ImageEncoder:
        """The collection's image encoder (loaded now: slow), e.g. to re-embed damaged rows."""
        return self._encoder()

    def use_encoder(self, spec: str, load_encoder: Callable[[str], ImageEncoder]) -> None:
        """Follow a switch of the collection's encoder (ingest/switch_encoder.py recorded it in the catalog)."""
        self.encoder_spec, self._encoder = spec, lambda: load_encoder(spec)

    # settings kept in the catalog -------------------------------------------------------------------
    @property
    def vectors_uri(self) -> str | None:
        """Where the vectors live when not in this folder (a Milvus URI)."""
        return self.catalog.get_meta("vectors")

    @property
    def index_spec(self) -> str:
        """The image index string chosen for this collection ("auto" unless set with --index)."""
        return self.catalog.get_meta("index", "auto") or "auto"

    @property
    def max_memory(self) -> int:
        return int(self.catalog.get_meta("max_memory", str(DEFAULT_MAX_MEMORY)))

    def set_meta(self, **values: str) -> None:
        self.catalog.begin()
        for key, value in values.items():
            self.catalog.set_meta(key, value)
        self.catalog.commit()

    def dims(self) -> tuple[int, int | None]:
        """(feature dimension, number of classifier classes or None), recorded on first use."""
        dim, n_classes = self.catalog.get_meta("dim"), self.catalog.get_meta("classes")
        if dim is None:
            enc = self._encoder()
            n = len(enc.classes) if enc.classes else 0
            self.set_meta(dim=str(enc.dim), classes=str(n))
            return enc.dim, n or None
        return int(dim), int(n_classes) or None

    def class_ids(self) -> list[str] | None:
        """The classifier's class ids (WordNet ids for ImageNet models), kept in the catalog so that
        opening a collection never has to load its image model for them."""
        stored = self.catalog.get_meta("class_ids")
        if stored is not None:
            return stored.split(",") if stored else None
        classes = self._encoder().classes
        if not self.catalog.readonly:
            self.set_meta(class_ids=",".join(classes or []))
        return list(classes) if classes else None

    # the vector stores ------------------------------------------------------------------------------
    def data_version(self) -> int:
        return self.catalog.db.execute("PRAGMA data_version").fetchone()[0]

    def shape(self) -> tuple[Shape | None, int]:
        """(what the stores hold, catalog version) from one read snapshot; Shape None while the collection
        has never been indexed (its dimensions are known only once the encoder has run)."""
        self.catalog.db.execute("BEGIN")  # one read snapshot: row count and live ids must agree
        try:
            rows = self.catalog.rows()
            live = self.catalog.live_ids()
            version = self.data_version()
        finally:
            self.catalog.db.execute("COMMIT")
        if rows == 0 and self.catalog.get_meta("dim") is None:
            return None, version
        dim, n_classes = self.dims()
        return Shape(self.folder, rows, live, visual_dim(dim, n_classes), n_classes, self.index_spec,
                     self.max_memory), version

    def open_stores(self, writer: bool = False) -> Stores:
        """`writer` only under the index lock (store/lock.py)."""
        if writer:
            self.dims()  # a new collection learns its dimensions from the encoder now
        shape, version = self.shape()
        if shape is None:
            return Stores(None, None, None, version)
        try:
            visual, probs = store_kind(self.vectors_uri).open(self.vectors_uri, shape, writer)
        except OSError as exc:
            raise PixseekError(f"collection {self.folder} is damaged: {exc}") from exc
        return Stores(visual, probs, shape, version)

    def index_status(self, n: int) -> dict:
        shape, _ = self.shape()
        if shape is None:
            shape = Shape(self.folder, 0, np.zeros(0, np.int64), 0, None, self.index_spec, self.max_memory)
        return store_kind(self.vectors_uri).index_status(self.vectors_uri, shape, n)


VECTOR_FILES = ("visual.float16", "probs.float16")
PIXSEEK_TABLES = {"meta", "contents", "files"}


def _refuse_foreign_catalog(folder: Path) -> None:
    """A catalog that is empty (0 bytes, or no tables) beside vector files lost its collection; one that
    belongs to another program must not get pixseek's tables written into it. Either is an error, never
    an empty collection that `verify` would call consistent."""
    path = folder / "catalog.sqlite"
    if not path.is_file():
        return
    vectors = [name for name in VECTOR_FILES if (folder / name).is_file() and (folder / name).stat().st_size]
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        finally:
            db.close()
    except sqlite3.DatabaseError:
        return  # not a database at all: Catalog() says so
    if tables and not PIXSEEK_TABLES <= tables:
        raise PixseekError(f"{path} is not a pixseek catalog (it holds tables {', '.join(sorted(tables)[:5])}); "
                           "use another --db" + (" or restore this collection's catalog from a backup" if vectors else ""))
    if not tables and vectors:
        raise PixseekError(f"{folder} holds vector files ({', '.join(vectors)}) but its catalog is empty: {path}; "
                           "restore catalog.sqlite from a backup, or move the vector files away to start afresh")
