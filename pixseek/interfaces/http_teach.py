"""Routes that teach the collection: taught concepts (list, teach from selected results, forget).

Examples are named by their paths in the catalog (the page's selected results), checked like every
other path the server is given; teaching runs under the collection lock (it takes well under a second).
Relevance feedback is a parameter of /api/search (`like`, `unlike`), not a route of its own.
"""

from __future__ import annotations

from typing import Annotated, Protocol

from fastapi import APIRouter, FastAPI, Request
from fastapi import Path as PathPart
from pydantic import BaseModel, Field


class Service(Protocol):
    """What these routes use of http.Service (named here, so this module imports nothing of the server)."""

    def run(self, fn): ...

    def record(self, path: str): ...

MAX_EXAMPLES = 1000


class TeachRequest(BaseModel):
    name: str = Field(min_length=1, max_length=64, description="the word to teach")
    paths: list[Annotated[str, Field(max_length=4096)]] = Field(default=[], max_length=MAX_EXAMPLES,
                                                                 description="indexed photos of it")
    not_paths: list[Annotated[str, Field(max_length=4096)]] = Field(default=[], max_length=MAX_EXAMPLES,
                                                                     description="indexed photos that are not it")


def _svc(request: Request) -> Service:
    return request.app.state.service


def indexed_paths(svc: Service, paths: list[str]) -> list[str]:
    """The catalog's own spelling of each path; a path not indexed is the client's 404."""
    return [svc.record(p).path for p in paths]


def add_teaching(app: FastAPI) -> None:
    api = APIRouter(prefix="/api", tags=["teach"], responses={400: {"description": '{"error": message}'}})

    @api.get("/concepts", summary="The words taught from example photos")
    def concepts(request: Request) -> list[dict]:
        """[{"name", "examples", "counter_examples", "matches"}]"""
        return _svc(request).run(lambda c: c.concepts())

    @api.post("/concepts", summary="Teach a word from selected photos (more examples refine it)")
    def teach(request: Request, body: TeachRequest) -> dict:
        svc = _svc(request)
        yes, no = indexed_paths(svc, body.paths), indexed_paths(svc, body.not_paths)
        return svc.run(lambda c: c.teach(body.name, yes, no))

    @api.delete("/concepts/{name}", summary="Forget a taught word")
    def forget(request: Request, name: Annotated[str, PathPart(max_length=64)]) -> dict:
        _svc(request).run(lambda c: c.forget(name))
        return {"forgot": name}

    app.include_router(api)
