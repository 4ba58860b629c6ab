"""The server's hold on its collection: the settings `create_app` was given, and one Collection behind locks
with catalog-checked file access (`Service`), which every router reaches through the `Svc` dependency."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, TypeVar

from fastapi import Depends, Request

from pixseek.encoders.base import Embedding
from pixseek.interfaces.collection import Collection, Hit
from pixseek.interfaces.query_image import embed_image
from pixseek.interfaces.thumbnails import ThumbnailCache, indexed, read_indexed
from pixseek.media.images import Box as Region

T = TypeVar("T")


@dataclass
class Settings:
    """What `create_app` needs; the token comes from --token or $PIXSEEK_TOKEN, read when the app starts."""

    folder: Path
    token: str | None = None
    max_upload_bytes: int = 20_000_000
    thumb_size: int = 256
    allowed_hosts: frozenset[str] | None = None  # Host headers accepted; None: any (the user chose a public address)


class Service:
    """One Collection behind a lock (it guards the collection's stores), and catalog-checked file access.
    A second lock, `work`, runs one query image's decoding and embedding at a time (the encoder is not
    assumed re-entrant, and one decode at a time bounds the memory uploads can take) without the first.
    Work over the whole collection (duplicate groups) runs on a handle of its own under a third, `heavy`."""

    def __init__(self, settings: Settings) -> None:
        self.col = Collection.open(settings.folder)
        self.lock = threading.Lock()
        self.work = threading.Lock()
        self.heavy = threading.Lock()
        self._heavy_col: Collection | None = None
        self.thumbs = ThumbnailCache(self.col.folder / "thumbs", settings.thumb_size)

    def run(self, fn: Callable[[Collection], T]) -> T:
        with self.lock:
            self.col.refresh()
            return fn(self.col)

    def run_heavy(self, fn: Callable[[Collection], T]) -> T:
        """`fn` on a second handle of the collection (its own catalog connection and snapshot), never under
        `lock`: searches and /api/health answer while it takes seconds."""
        with self.heavy:
            if self._heavy_col is None:
                self._heavy_col = Collection.open(self.col.folder)
            self._heavy_col.refresh()
            return fn(self._heavy_col)

    def lookup(self, path: str):
        with self.lock:
            return self.col.record(path)

    def record(self, path: str):
        return indexed(self.lookup, path)

    def read(self, path: str) -> bytes:
        return read_indexed(self.record(path), self.lookup)

    def upload_hit(self, data: bytes) -> list[Hit]:
        """An upload identical to an indexed image lists that image first (score 1: same bytes)."""
        with self.lock:
            paths = self.col.paths_with_bytes(data)
            return [Hit(p, 1.0, place=self.col.place_of(p)) for p in paths]

    def embed(self, data: bytes, box: Region | None = None, name: str | None = None) -> Embedding:
        """A query image's embedding, made under `work` only: searches and health go on meanwhile."""
        with self.work:
            return embed_image(self.col.encoder, data, box, name)


def service(request: Request) -> Service:
    return request.app.state.service


Svc = Annotated[Service, Depends(service)]
