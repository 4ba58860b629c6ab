"""Routes for browsing without words (interfaces/browsing.py): the photos newest first, filtered or not (the
home page, and filters applied with no words), what the collection covers (its dates, its folder), and
example searches from its own tags (tagging a few dozen photos: cached until the collection changes).
"""

from __future__ import annotations

from typing import Annotated, Protocol

import anyio
from fastapi import APIRouter, FastAPI, Query, Request

from pixseek.interfaces.http_pages import Cached
from pixseek.interfaces.http_words import Narrow


class Service(Protocol):
    """What these routes use of http.Service (named here, so this module imports nothing of the server)."""

    def run(self, fn): ...

    def run_heavy(self, fn): ...


def _svc(request: Request) -> Service:
    return request.app.state.service


def _generation(c) -> tuple:
    return c.layout.data_version(), tuple(sorted(c.catalog.counts().items()))


browse_api = APIRouter(prefix="/api", tags=["browse"], responses={400: {"description": '{"error": message}'}})


@browse_api.get("/browse", summary="The photos newest first, filtered or not (no words needed)")
def browse(request: Request, narrow: Narrow, k: Annotated[int, Query(ge=1, le=500)] = 60,
           offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> dict:
    """{"results": [{"path", "taken" (YYYY-MM-DDTHH:MM:SS, as taken), "place"}], "total": photos the filters
    let through}; min_score is ignored (nothing is scored)."""
    narrow.pop("min_score", None)
    return _svc(request).run(lambda c: c.browse(k=k, offset=offset, **narrow))


@browse_api.get("/coverage", summary="What the collection covers: photos, oldest and newest date, its folder")
def coverage(request: Request) -> dict:
    """{"photos", "first", "last" (dates taken), "root": the folder holding every photo}"""
    return _svc(request).run(lambda c: c.coverage())


@browse_api.get("/examples", summary="A few words to search for, from the collection's own tags")
async def examples(request: Request) -> list[str]:
    svc, cache = _svc(request), request.app.state.examples

    def cached() -> list[str]:
        return svc.run_heavy(lambda c: cache.get(_generation(c), lambda: c.examples()))

    return await anyio.to_thread.run_sync(cached, limiter=request.app.state.pages.heavy)


def add_browsing(app: FastAPI) -> None:
    """Include the browsing routes in `app` (after add_pages: they share its heavy-work limiter)."""
    app.state.examples = Cached(keep=1)
    app.include_router(browse_api)
