"""Several selected photos as one zip, streamed: each original is read (catalog-checked, like
/api/original) and written into the archive as it goes, so the first bytes leave before the last photo
is read and memory holds one photo at a time. Stored, not compressed: photos are compressed already.
A form post (the page submits a form, so the browser saves the stream to disk as it comes).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Annotated, Protocol

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import StreamingResponse

from pixseek.errors import PixseekError
from pixseek.interfaces.thumbnails import read_indexed

MAX_PHOTOS = 1000


class Service(Protocol):
    """What this route uses of http.Service (named here, so this module imports nothing of the server)."""

    def record(self, path: str): ...

    def lookup(self, path: str): ...


class _Chunks:
    """A write-only file for zipfile that hands out what was written since the last `take`."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.offset = 0

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        self.offset += len(data)
        return len(data)

    def tell(self) -> int:
        return self.offset

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        out, self.parts = b"".join(self.parts), []
        return out


def names_for(paths: list[str]) -> list[str]:
    """A name in the archive per photo: its file name, with its folder's name before it when two share one."""
    names: dict[str, int] = {}
    for p in paths:
        names[PurePosixPath(p).name] = names.get(PurePosixPath(p).name, 0) + 1
    out, used = [], set()
    for p in paths:
        path = PurePosixPath(p)
        name = path.name if names[path.name] == 1 else f"{path.parent.name}-{path.name}"
        stem, n = name, 2
        while name in used:
            name, n = f"{PurePosixPath(stem).stem}-{n}{PurePosixPath(stem).suffix}", n + 1
        used.add(name)
        out.append(name)
    return out


def _zip(svc: Service, records: list, names: list[str]) -> Iterator[bytes]:
    sink = _Chunks()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_STORED) as archive:  # type: ignore[arg-type]
        for rec, name in zip(records, names):
            archive.writestr(name, read_indexed(rec, svc.lookup))
            yield sink.take()
    yield sink.take()


download_api = APIRouter(prefix="/api", tags=["files"], responses={400: {"description": '{"error": message}'}})


@download_api.post("/zip", summary="Selected indexed photos as one zip file (streamed)", response_class=StreamingResponse)
def download_zip(request: Request, path: Annotated[list[str], Form(max_length=MAX_PHOTOS)]) -> StreamingResponse:
    svc: Service = request.app.state.service
    paths = list(dict.fromkeys(path))
    if not paths:
        raise PixseekError("No photos were chosen: select some photos, then download them.")
    records = [svc.record(p) for p in paths]  # every one checked before the first byte is sent
    return StreamingResponse(_zip(svc, records, names_for([r.path for r in records])), media_type="application/zip",
                             headers={"Content-Disposition": f'attachment; filename="pixseek-{len(records)}-photos.zip"'})


def add_download(app: FastAPI) -> None:
    app.include_router(download_api)
