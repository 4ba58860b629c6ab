"""What the HTTP routes share, defined once: their common parameters (how many results, paging, a photo by
path, a region, an uploaded file), reading an upload (one limit, one message), one page of hits with its
count headers, and a region parsed."""

from __future__ import annotations

from typing import Annotated

from fastapi import File, Query, Request, UploadFile
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from pixseek.config import HTTP_PAGE_MAX, MAX_K
from pixseek.errors import PixseekError
from pixseek.media.images import Box, parse_box

K = Annotated[int, Query(ge=1, le=HTTP_PAGE_MAX, description="results to return")]
Offset = Annotated[int, Query(ge=0, le=MAX_K - 1, description="results to skip (paging)")]
PathQ = Annotated[str, Query(max_length=4096, description="an indexed image, by its path in the catalog")]
Region = Annotated[str | None, Query(max_length=200, description="X0,Y0,X1,Y1: this region of the image only")]
Upload = Annotated[UploadFile, File(description="an image file (JPEG, PNG, WebP, GIF, BMP, TIFF)")]


def read_upload(request: Request, file: UploadFile) -> bytes:
    """An uploaded file's bytes, within the server's upload limit (413 past it); an empty one is refused."""
    limit = request.app.state.settings.max_upload_bytes
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(413, f"The image is too large: uploads are limited to {limit:,} bytes. Choose a smaller one.")
    if not data:
        raise PixseekError("The upload is empty: choose an image file.")
    return data


def box_of(text: str | None) -> Box | None:
    return parse_box(text) if text else None


def page_of(hits: list, offset: int, k: int, response: Response | None = None) -> list[dict]:
    """One page of hits; with `response`, X-Result-Count is set when the count is known (fewer hits came
    back than were asked for, so the list ended at a min_score or the collection's end), and
    X-Confident-Count to the confident hits among the first offset + k (the rest are flagged `weak`)."""
    if response is not None:
        response.headers["X-Confident-Count"] = str(sum(not h.weak for h in hits))
    if response is not None and len(hits) < offset + k:
        response.headers["X-Result-Count"] = str(len(hits))
    return [h.to_dict() for h in hits[offset:offset + k]]
