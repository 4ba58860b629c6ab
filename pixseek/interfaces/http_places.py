"""Routes for the page's places: the dot map of where the photos were taken (the places listing with
counts is /api/places, beside search in http.py). Drawn by the page itself (web/places.js): no map tiles
are fetched, so it works offline."""

from __future__ import annotations

from typing import Annotated, Protocol

from fastapi import APIRouter, FastAPI, Query, Request

from pixseek.store.places import position_counts

MAX_DOTS = 5000


class Service(Protocol):
    """What these routes use of http.Service (named here, so this module imports nothing of the server)."""

    def run(self, fn): ...


def add_places(app: FastAPI) -> None:
    api = APIRouter(prefix="/api", tags=["places"], responses={400: {"description": '{"error": message}'}})

    @api.get("/places/map", summary="Where the photos were taken, as dots: rounded positions with photo counts")
    def place_map(request: Request,
                  limit: Annotated[int, Query(ge=1, le=MAX_DOTS, description="most dots, most photos first")] = MAX_DOTS
                  ) -> dict:
        """{"dots": [{"lat", "lon", "city", "region", "country", "photos"}]}: positions rounded to 0.01 degree."""
        svc: Service = request.app.state.service
        return {"dots": svc.run(lambda c: position_counts(c.catalog, limit=limit))}

    app.include_router(api)
