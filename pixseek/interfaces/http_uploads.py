"""Search and tag with an upload the server keeps (POST /api/uploads), named by its id: the page sends a
photo once, then every search with it, a region of it, or its tags name the id (before, each sent the
whole file again: 21 MB for a 7 MB photo). An upload's embedding is kept per region while it is kept, so
paging through its results embeds it once.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, FastAPI, Request
from fastapi import Path as PathPart
from fastapi.responses import Response

from pixseek.interfaces.http_pages import UPLOAD_ID, Cached
from pixseek.interfaces.http_params import K, Offset, box_of, page_of
from pixseek.interfaces.http_params import Region as Box
from pixseek.interfaces.http_words import Narrow

UploadId = Annotated[str, PathPart(pattern=UPLOAD_ID)]
uploads_api = APIRouter(prefix="/api/uploads", tags=["search"], responses={400: {"description": '{"error": message}'}})


def _kept(request: Request, upload_id: str) -> bytes:
    return request.app.state.pages.uploads.get(upload_id)


def _query(request: Request, upload_id: str, data: bytes, box: str | None, exact_copies: bool):
    """The upload's bytes when it is an indexed photo's (its stored vectors are used), else its embedding."""
    svc, crop = request.app.state.service, box_of(box)
    if crop is None and exact_copies and svc.upload_hit(data):
        return data
    return request.app.state.upload_vectors.get((upload_id, box), lambda: svc.embed(data, crop))


@uploads_api.get("/{upload_id}/similar", summary="Images like a kept upload, or like a region of it")
def similar_kept(request: Request, response: Response, narrow: Narrow, upload_id: UploadId,
                 k: K = 30, offset: Offset = 0,
                 box: Box = None) -> list[dict]:
    """As POST /api/similar with the upload's bytes: an upload identical to an indexed image lists it first."""
    svc, data = request.app.state.service, _kept(request, upload_id)
    filtered = any(v is not None for key, v in narrow.items() if key != "min_score")  # the same file may not pass
    same = svc.upload_hit(data) if box is None and not filtered else []
    query = data if same else _query(request, upload_id, data, box, exact_copies=False)
    return page_of(same + svc.run(lambda c: c.similar(query, k=offset + k, **narrow)), offset, k, response)


@uploads_api.get("/{upload_id}/tags", summary="Words that describe a kept upload, or a region of it")
def tags_kept(request: Request, upload_id: UploadId, k: K = 10,
              box: Box = None) -> list[dict]:
    svc, data = request.app.state.service, _kept(request, upload_id)
    query = _query(request, upload_id, data, box, exact_copies=True)
    return [t.to_dict() for t in svc.run(lambda c: c.tag(query, k=k))]


def add_uploads(app: FastAPI) -> None:
    """Include the routes over kept uploads (after add_pages, which keeps them)."""
    app.state.upload_vectors = Cached(keep=16)
    app.include_router(uploads_api)
