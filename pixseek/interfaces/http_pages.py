"""Routes only the web page needs: uploads kept for a while under an id (so an image query can live in
the page's URL and survive Back, Forward and a reload), a photo's details for the detail view, a
size-limited copy of an original, the folders and file types to filter by, and near-duplicate groups
for the review view (cached per collection generation: grouping a large collection takes seconds).

Every file read goes through the Service's catalog-checked access (thumbnails.py), like /api/original.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import PurePosixPath
from typing import Annotated

import anyio
from fastapi import APIRouter, FastAPI, File, Query, Request, UploadFile
from fastapi import Path as PathPart
from fastapi.responses import FileResponse, Response

from pixseek.config import (
    WEB_PREVIEW_SIZE,
    WEB_UPLOAD_BYTES,
    WEB_UPLOAD_COUNT,
    WEB_UPLOAD_SECONDS,
)
from pixseek.errors import PixseekError
from pixseek.interfaces.collection import Collection
from pixseek.interfaces.http_params import PathQ, read_upload
from pixseek.interfaces.http_service import Service
from pixseek.interfaces.thumbnails import NotInCollection, ThumbnailCache, read_indexed
from pixseek.media.exif import read_photo_info
from pixseek.media.formats import BY_EXTENSION, content_hash, format_of_bytes
from pixseek.media.images import ImageError, open_image, sniff
from pixseek.search.duplicates import THRESHOLD

UPLOAD_ID = r"^[0-9a-f]{32}$"


class Uploads:
    """Uploaded query images in memory, named by their content hash, the most recently used kept: at most
    `count` of them, `max_bytes` in all, each for `seconds` after its last use. Thread-safe."""

    def __init__(self, count: int = WEB_UPLOAD_COUNT, max_bytes: int = WEB_UPLOAD_BYTES,
                 seconds: float = WEB_UPLOAD_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.count, self.max_bytes, self.seconds, self.clock = count, max_bytes, seconds, clock
        self._items: OrderedDict[str, tuple[bytes, float]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, data: bytes) -> str:
        key = content_hash(data)
        with self._lock:
            self._items.pop(key, None)
            self._items[key] = (data, self.clock())
            self._trim()
        return key

    def get(self, key: str) -> bytes:
        with self._lock:
            self._trim()
            item = self._items.get(key)
            if item is None:
                raise NotInCollection(f"upload {key} is no longer kept by the server (uploads are kept "
                                      f"{self.seconds / 60:.0f} minutes, the last {self.count}): upload the image again")
            self._items[key] = (item[0], self.clock())
            self._items.move_to_end(key)
            return item[0]

    def _trim(self) -> None:
        now, total = self.clock(), sum(len(d) for d, _ in self._items.values())
        while self._items:
            key, (data, used) = next(iter(self._items.items()))
            if len(self._items) <= self.count and total <= self.max_bytes and now - used <= self.seconds:
                break
            del self._items[key]
            total -= len(data)


class Cached:
    """One value per collection generation and argument (e.g. duplicate groups per threshold), computed
    once even when several requests ask at the same time."""

    def __init__(self, keep: int = 4) -> None:
        self.keep = keep
        self._values: OrderedDict[tuple, object] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple, make: Callable[[], object]):
        with self._lock:  # one computation at a time: a second request for it waits and reuses it
            if key not in self._values:
                self._values[key] = make()
                while len(self._values) > self.keep:
                    self._values.popitem(last=False)
            self._values.move_to_end(key)
            return self._values[key]


class PageState:
    """What the page's routes keep between requests, one per app."""

    def __init__(self, service: Service) -> None:
        self.uploads = Uploads()
        self.duplicates = Cached()
        self.facets = Cached(keep=1)
        self.heavy = anyio.CapacityLimiter(1)  # threads for the heavy handle's work: waiting requests hold none
        self.previews = ThumbnailCache(service.col.folder / "thumbs", WEB_PREVIEW_SIZE)


def add_pages(app: FastAPI) -> None:
    """Include the page's routes in `app` (after app.state.service is set)."""
    app.state.pages = PageState(app.state.service)
    app.include_router(pages)


def _svc(request: Request) -> Service:
    return request.app.state.service


def _state(request: Request) -> PageState:
    return request.app.state.pages


def _generation_of(c: Collection) -> tuple:
    """Changes whenever an index run commits (data_version) or the collection's size changes."""
    return c.layout.data_version(), tuple(sorted(c.catalog.counts().items()))


def _media(data: bytes) -> str:
    found = format_of_bytes(data[:12])
    return found.media_type if found is not None else "application/octet-stream"


def _type_of(path: PurePosixPath) -> str | None:
    """The name the type filter gives a file's format (.jpeg and .jpe are jpg), or None."""
    found = BY_EXTENSION.get(path.suffix.lower())
    return found.name if found is not None else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None


pages = APIRouter(prefix="/api", tags=["page"], responses={400: {"description": '{"error": message}'}})
IMAGE_HEADERS = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"}


@pages.post("/uploads", summary="Keep an uploaded query image for a while; returns its id")
def upload(request: Request, file: Annotated[UploadFile, File(description="an image file")]) -> dict:
    """{"id", "bytes", "type"}: search with it by sending GET /api/uploads/ID's bytes to POST /api/similar;
    the id is the content's hash, so the same image uploaded twice gets the same id."""
    data = read_upload(request, file)
    if not sniff(data[:16]):
        raise PixseekError("the upload is not an image pixseek can read (JPEG, PNG, WebP, GIF, BMP or TIFF)")
    try:  # decoded whole now: a damaged file is refused here, not after the page made a search of it
        open_image(data)
    except ImageError as exc:
        raise PixseekError(f"That image could not be read ({exc}): the file may be damaged. Choose another image.") from None
    return {"id": _state(request).uploads.put(data), "bytes": len(data), "type": _media(data)}


@pages.get("/uploads/{upload_id}", tags=["files"], summary="An upload kept by POST /api/uploads", response_class=Response)
def uploaded(request: Request, upload_id: Annotated[str, PathPart(pattern=UPLOAD_ID)]) -> Response:
    data = _state(request).uploads.get(upload_id)
    return Response(data, media_type=_media(data), headers={**IMAGE_HEADERS, "Cache-Control": "private, max-age=3600"})


@pages.get("/info", summary="A photo's details for the detail view: file, date taken, camera, tags")
def info(request: Request, path: PathQ,
         k: Annotated[int, Query(ge=0, le=50, description="tags to include; 0: none (the page asks /api/tag)")] = 8) -> dict:
    """{"path", "name", "folder", "type", "bytes", "width", "height", "date_taken", "date_source" ("exif" or
    "file"), "modified", "camera", "place" (as hits carry it, or null), "tags": [{"tag", "score"}]}. Tagging
    is most of the time this takes, so the page asks for the facts (k=0) and the tags at once, and shows each
    as it comes."""
    svc = _svc(request)
    rec = svc.record(path)
    photo = read_photo_info(read_indexed(rec, svc.lookup))
    modified = datetime.fromtimestamp(rec.mtime_ns / 1e9, timezone.utc).astimezone().isoformat(timespec="seconds")
    taken = _iso(photo.date_taken)
    tags = svc.run(lambda c: c.tag(rec.path, k=k)) if k else []
    name = PurePosixPath(rec.path)
    return {"path": rec.path, "name": name.name, "folder": str(name.parent), "type": _type_of(name),
            "bytes": rec.size, "width": photo.width, "height": photo.height, "date_taken": taken or modified,
            "date_source": "exif" if taken else "file", "modified": modified, "camera": photo.camera or None,
            "place": svc.run(lambda c: c.place_of(rec.path)),
            "tags": [t.to_dict() for t in tags]}


@pages.get("/preview", tags=["files"], summary="An indexed image at most WEB_PREVIEW_SIZE pixels wide and high (JPEG)",
           response_class=Response)
def preview(request: Request, path: PathQ) -> Response:
    svc, previews = _svc(request), _state(request).previews
    rec = svc.record(path)
    file = previews.get(rec, lambda: read_indexed(rec, svc.lookup))
    headers = {"ETag": f'"{rec.hash}-{previews.size}"', "Cache-Control": "private, max-age=3600"}
    if isinstance(file, bytes):
        return Response(file, media_type="image/jpeg", headers=headers)
    return FileResponse(file, media_type="image/jpeg", headers=headers)


@pages.get("/facets", summary="What the filters offer: the collection's folders and file types, with counts")
async def facets(request: Request) -> dict:
    """{"folders": [{"path", "count"}] (each folder holding photos, and the folders above them), "types":
    [{"type", "count"}]}. Reads every file's row: on the heavy handle, like /api/duplicates."""
    svc, state = _svc(request), _state(request)

    def cached() -> dict:
        return svc.run_heavy(lambda c: state.facets.get(_generation_of(c), lambda: _facets(c)))

    return await anyio.to_thread.run_sync(cached, limiter=state.heavy)


def _facets(c: Collection) -> dict:
    files = c.catalog.files_of_contents()
    folders: dict[str, int] = {}
    types: dict[str, int] = {}
    for held in files.values():
        for path, _, _ in held:
            p = PurePosixPath(path)
            for parent in list(p.parents)[:-1]:  # every folder above the photo, but not "/"
                folders[str(parent)] = folders.get(str(parent), 0) + 1
            kind = _type_of(p)
            if kind:
                types[kind] = types.get(kind, 0) + 1
    top = max(folders.values(), default=0)  # folders holding every photo tell nothing: keep the deepest of them
    shared = [f for f, n in folders.items() if n == top]
    deepest = max(shared, key=len, default=None)
    kept = sorted(f for f, n in folders.items() if n < top or f == deepest)[:2000]
    return {"folders": [{"path": f, "count": folders[f]} for f in kept],
            "types": [{"type": t, "count": n} for t, n in sorted(types.items(), key=lambda x: -x[1])]}


@pages.get("/duplicates", summary="Near-duplicate groups for review, cached until the collection changes")
async def duplicates(request: Request, threshold: Annotated[float | None, Query(gt=0, le=1)] = None,
                     offset: Annotated[int, Query(ge=0)] = 0, k: Annotated[int, Query(ge=1, le=500)] = 50) -> dict:
    """{"groups": [{"paths", "score", "keep"}], "total": groups in all, "threshold"}: groups largest
    first, then by similarity. Read-only: nothing is deleted. Grouping takes seconds on a large collection:
    it runs on the Service's heavy handle, one request at a time in one worker thread, while waiting
    requests hold no thread, so searches and /api/health answer meanwhile."""
    svc, state = _svc(request), _state(request)
    t = THRESHOLD if threshold is None else round(threshold, 4)

    def group(c: Collection) -> list[dict]:
        found = c.duplicates(t, progress=False)
        return [g.to_dict() for g in sorted(found, key=lambda g: (-len(g.paths), -g.score, g.paths[0]))]

    def cached() -> list[dict]:
        return svc.run_heavy(lambda c: state.duplicates.get((_generation_of(c), t), lambda: group(c)))

    groups = await anyio.to_thread.run_sync(cached, limiter=state.heavy)
    return {"groups": groups[offset:offset + k], "total": len(groups), "threshold": t}
