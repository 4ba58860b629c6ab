"""Routes for people: the people found by `index --faces` (list, name, merge, forget), the faces of an
indexed photo, and photos by face (of an indexed photo or an upload). A person's name is searched through
/api/search like any query word (interfaces/people.py).

Photos are named by their paths in the catalog, checked like every other path the server is given; an
upload is read up to the server's upload limit. Everything runs under the collection lock.
"""

from __future__ import annotations

from typing import Annotated, Protocol

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi import Path as PathPart
from pydantic import BaseModel, Field

from pixseek.interfaces.http_params import K, PathQ, Upload, read_upload
from pixseek.interfaces.http_params import Region as Box


class Service(Protocol):
    """What these routes use of http.Service (named here, so this module imports nothing of the server)."""

    def run(self, fn): ...

    def record(self, path: str): ...


PersonId = Annotated[int, PathPart(ge=1, le=2**62, description="a person's id (GET /api/people)")]


class NameRequest(BaseModel):
    name: str | None = Field(max_length=64, description="the person's name (a query word from then on); null: none")


class MergeRequest(BaseModel):
    other: int = Field(ge=1, le=2**62, description="the person merged into this one (their id goes away)")


def _svc(request: Request) -> Service:
    return request.app.state.service


def add_people(app: FastAPI) -> None:
    api = APIRouter(prefix="/api", tags=["people"], responses={400: {"description": '{"error": message}'}})

    @api.get("/people", summary="The people found in the photos, most photos first")
    def people(request: Request) -> list[dict]:
        """[{"id", "name" (null until named), "count", "photos": [path, ...]}]"""
        return _svc(request).run(lambda c: c.people())

    @api.put("/people/{person_id}", summary="Name or rename a person (null: no name)")
    def name(request: Request, person_id: PersonId, body: NameRequest) -> dict:
        return _svc(request).run(lambda c: c.name_person(person_id, body.name))

    @api.post("/people/{person_id}/merge", summary="Make another person this one")
    def merge(request: Request, person_id: PersonId, body: MergeRequest) -> dict:
        return _svc(request).run(lambda c: c.merge_people(person_id, body.other))

    @api.delete("/people/{person_id}", summary="Forget a person and their face descriptors")
    def forget(request: Request, person_id: PersonId) -> dict:
        return _svc(request).run(lambda c: c.forget_person(person_id))

    @api.get("/faces", summary="The faces in an indexed photo: box, person, score")
    def faces(request: Request, path: PathQ, detect: Annotated[bool, Query(description="find them now when the "
              "photo was not indexed with --faces (false: none)")] = True) -> dict:
        """{"path", "source", "faces": [{"box", "person", "name", "score", "quality"}]}, largest first."""
        svc = _svc(request)
        image = svc.record(path).path
        return svc.run(lambda c: c.faces(image, detect))

    @api.get("/similar-faces", summary="Photos of the person whose face is largest in an indexed photo (or in box)")
    def similar_faces(request: Request, path: PathQ, k: K = 30, box: Box = None) -> list[dict]:
        svc = _svc(request)
        image = svc.record(path).path
        return [h.to_dict() for h in svc.run(lambda c: c.similar_faces(image, k=k, box=box))]

    @api.post("/similar-faces", summary="Photos of the person whose face is largest in an upload (or in box)")
    def similar_faces_upload(request: Request, file: Upload,
                             k: K = 30, box: Box = None) -> list[dict]:
        data = read_upload(request, file)
        return [h.to_dict() for h in _svc(request).run(lambda c: c.similar_faces(data, k=k, box=box))]

    app.include_router(api)
