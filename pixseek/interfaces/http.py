"""`pixseek serve`: an HTTP API (with its OpenAPI document at /openapi.json) and a search page at `/`.

Handlers only parse and delegate to the Collection; results have the shapes of the CLI's `--json`.
Safe by default: loopback only, an optional access token on every route, uploads size-limited and
decoded by the bomb-refusing decoder (which also refuses an image whose pixels would need more memory
than config.MAX_DECODED_BYTES), and only catalogued files ever read (see thumbnails.py). Query images
are decoded and embedded one at a time outside the collection lock, so a slow upload never holds up
searches or /api/health; duplicate grouping runs on a handle of its own. Nothing loads from outside: no
Swagger page (its assets come from a CDN), the OpenAPI document stays at /openapi.json. Errors are JSON,
{"error": message}, never a traceback. Security headers, the refusal of cross-site writes, and the
deadlines and connection cap that keep slow clients from starving others are in http_guard.py.
"""

from __future__ import annotations

import hmac
import mimetypes
import os
import sys
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from pixseek.config import env, long_running
from pixseek.errors import PixseekError
from pixseek.interfaces.http_browse import add_browsing
from pixseek.interfaces.http_download import add_download
from pixseek.interfaces.http_guard import add_security_headers, cross_site_refusal, server_config
from pixseek.interfaces.http_pages import add_pages
from pixseek.interfaces.http_params import K, Offset, PathQ, Upload, read_upload
from pixseek.interfaces.http_params import Region as Box
from pixseek.interfaces.http_params import box_of as _parse_box
from pixseek.interfaces.http_params import page_of as _page
from pixseek.interfaces.http_people import add_people
from pixseek.interfaces.http_places import add_places
from pixseek.interfaces.http_service import Service, Settings, Svc
from pixseek.interfaces.http_teach import add_teaching, indexed_paths
from pixseek.interfaces.http_uploads import add_uploads
from pixseek.interfaces.http_words import Narrow, nothing_to_search, plain_message
from pixseek.interfaces.thumbnails import NotInCollection, read_indexed

WEB = Path(__file__).parent / "web"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
COOKIE = "pixseek_token"



api = APIRouter(prefix="/api", tags=["search"], responses={400: {"description": '{"error": message}'}})


@api.get("/search", summary="Images for words: dog beach, dog -grass, 2:sunset")
def search(svc: Svc, response: Response, narrow: Narrow, q: Annotated[str, Query(max_length=500)] = "",
           k: K = 30, offset: Offset = 0,
           bridge: Annotated[str, Query(max_length=20, description="auto, conse, devise, joint or clip")] = "auto",
           exact: Annotated[bool, Query(description="search the words as typed: no spelling correction")] = False,
           like: Annotated[list[str], Query(max_length=100, description="indexed photos: more like these")] = (),
           unlike: Annotated[list[str], Query(max_length=100, description="indexed photos: not like these")] = ()) -> dict:
    """{"results": [{"path", "score", "tags", "weak", "place"}], "ignored": [{"word", "suggestion"}], "terms": [...],
    "confident": n, "corrected": query or null}: words nobody knows are left out, a misspelt one is corrected
    when sure (`corrected`, unless `exact`); `terms` are the words searched for; `confident` of the first
    offset + k are confident, the rest `weak`. Header X-Result-Count: all results, when known. `like`/`unlike`
    (repeated): results marked "more like this" / "not this" re-rank the whole collection (the query may then
    be empty); marked photos are not returned."""
    marked = {"like": indexed_paths(svc, list(like)), "unlike": indexed_paths(svc, list(unlike))}
    with nothing_to_search() as said:  # only unknown words or stopwords: no results and why, not an error
        found = svc.run(lambda c: c.search(q, k=offset + k, bridge=bridge, exact=exact, **marked, **narrow))
    if said:
        return {"results": [], "ignored": [], "terms": [], "confident": 0, "corrected": None, "message": said[0]}
    return {**found.to_dict(), "results": _page(found, offset, k, response)}


@api.get("/similar", summary="Images like an indexed image, or like a region of it")
def similar(svc: Svc, response: Response, narrow: Narrow, path: PathQ, k: K = 30, offset: Offset = 0,
            box: Box = None) -> list[dict]:
    crop = _parse_box(box)
    if crop is None:  # the stored vectors: nothing to decode
        image = svc.record(path).path
        return _page(svc.run(lambda c: c.similar(image, k=offset + k, **narrow)), offset, k, response)
    emb = svc.embed(svc.read(path), crop, path)  # a crop needs pixels; read them safely
    return _page(svc.run(lambda c: c.similar(emb, k=offset + k, **narrow)), offset, k, response)


@api.post("/similar", summary="Images like an uploaded image, or like a region of it")
def similar_upload(request: Request, svc: Svc, response: Response, narrow: Narrow, file: Upload, k: K = 30,
                   offset: Offset = 0, box: Box = None) -> list[dict]:
    data, crop = read_upload(request, file), _parse_box(box)
    filtered = any(v is not None for key, v in narrow.items() if key != "min_score")  # the same file may not pass
    same = svc.upload_hit(data) if crop is None and not filtered else []
    query = data if same else svc.embed(data, crop)  # an indexed image's stored vectors, else embedded now
    return _page(same + svc.run(lambda c: c.similar(query, k=offset + k, **narrow)), offset, k, response)


@api.get("/tag", summary="Words that describe an indexed image")
def tag(svc: Svc, path: PathQ, k: K = 10, box: Box = None) -> list[dict]:
    crop = _parse_box(box)
    image = svc.record(path).path if crop is None else svc.embed(svc.read(path), crop, path)  # a region: its pixels
    return [t.to_dict() for t in svc.run(lambda c: c.tag(image, k=k))]


@api.post("/tag", summary="Words that describe an uploaded image")
def tag_upload(request: Request, svc: Svc, file: Upload, k: K = 10, box: Box = None) -> list[dict]:
    data, crop = read_upload(request, file), _parse_box(box)
    query = data if crop is None and svc.upload_hit(data) else svc.embed(data, crop)
    return [t.to_dict() for t in svc.run(lambda c: c.tag(query, k=k))]


@api.get("/words", summary="Words nearest to a word in word-vector space")
def words(svc: Svc, word: Annotated[str, Query(min_length=1, max_length=100)], k: K = 10) -> list[dict]:
    with nothing_to_search(unknown_word=True):  # a word nobody knows has no near words: []
        return [w.to_dict() for w in svc.run(lambda c: c.words(word, k=k))]
    return []


@api.get("/status", summary="Counts, model, index, size and failed files")
def status(svc: Svc) -> dict:
    return svc.run(lambda c: c.status())


@api.get("/places", summary="Where the photos were taken, with photo counts")
def places(svc: Svc) -> list[dict]:
    return svc.run(lambda c: c.places())


@api.get("/health", summary="Liveness: the collection opens and answers")
def health(svc: Svc) -> dict:
    return {"ok": True, "images": svc.run(lambda c: c.catalog.counts()["images"])}


@api.get("/thumb", tags=["files"], summary="A cached JPEG thumbnail of an indexed image", response_class=Response)
def thumb(svc: Svc, request: Request, path: PathQ) -> Response:
    rec = svc.record(path)
    etag = f'"{rec.hash}-{svc.thumbs.size}"'
    headers = {"ETag": etag, "Cache-Control": "private, max-age=3600"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    file = svc.thumbs.get(rec, lambda: read_indexed(rec, svc.lookup))
    if isinstance(file, bytes):  # the cache could not be written (disk full): served from memory
        return Response(file, media_type="image/jpeg", headers=headers)
    return FileResponse(file, media_type="image/jpeg", headers=headers)


@api.get("/original", tags=["files"], summary="The original file of an indexed image", response_class=Response)
def original(svc: Svc, path: PathQ) -> Response:
    rec = svc.record(path)
    data = read_indexed(rec, svc.lookup)
    kind = mimetypes.guess_type(rec.path)[0] or ""
    return Response(data, media_type=kind if kind.startswith("image/") and "svg" not in kind else "application/octet-stream",
                    headers={"ETag": f'"{rec.hash}"', "Cache-Control": "private, max-age=3600",
                             "X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"})


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _token_of(request: Request) -> str:
    auth = request.headers.get("authorization", "")
    return (auth[7:] if auth.lower().startswith("bearer ") else "") or request.headers.get("x-pixseek-token", "") \
        or request.cookies.get(COOKIE, "") or request.query_params.get("token", "")


def _refusal(request: Request, settings: Settings) -> Response | None:
    """The error a request gets before any route sees it, or None."""
    host = request.url.hostname or ""
    if settings.allowed_hosts is not None and host not in settings.allowed_hosts:  # DNS rebinding
        return _error(400, f"unexpected Host header {host!r}; start the server with --host to allow it")
    if settings.token and not hmac.compare_digest(_token_of(request).encode(), settings.token.encode()):
        return _error(401, "missing or wrong access token: send 'Authorization: Bearer TOKEN' or open /?token=TOKEN")
    refused = cross_site_refusal(request.method, request.headers, request.headers.get("host", ""))
    if refused:
        return _error(403, refused)
    length = request.headers.get("content-length")
    if request.method == "POST" and not length:
        return _error(411, "send uploads with a Content-Length header")
    if length and (not length.isdigit() or int(length) > settings.max_upload_bytes + 100_000):
        return _error(413, f"request too large: uploads are limited to {settings.max_upload_bytes:,} bytes")
    return None


def create_app(collection_folder: str | Path, token: str | None = None, max_upload_bytes: int = 20_000_000,
               allowed_hosts: set[str] | None = None) -> FastAPI:
    """The app for one collection folder. `token`: required on every route when set (header, cookie or ?token=)."""
    settings = Settings(Path(os.path.expanduser(str(collection_folder))), token or None, max_upload_bytes,
                        allowed_hosts=frozenset(allowed_hosts) if allowed_hosts else None)
    app = FastAPI(title="pixseek", version="0.1.0", description=__doc__, docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.service = Service(settings)
    app.include_router(api)
    add_pages(app)
    add_teaching(app)
    add_places(app)
    add_people(app)
    add_browsing(app)
    add_uploads(app)
    add_download(app)
    app.mount("/static", StaticFiles(directory=WEB), name="static")

    @app.get("/", include_in_schema=False)
    def page(request: Request) -> Response:
        if settings.token and request.query_params.get("token"):  # trade the URL token for a cookie
            resp = RedirectResponse("/", status_code=303)
            resp.set_cookie(COOKIE, settings.token, httponly=True, samesite="strict")
            return resp
        return FileResponse(WEB / "index.html", headers={"Cache-Control": "no-cache"})

    @app.middleware("http")
    async def guard(request: Request, call_next):
        response = _refusal(request, settings) or await call_next(request)
        add_security_headers(response.headers)
        return response

    app.add_exception_handler(NotInCollection, lambda r, e: _error(404, str(e)))
    app.add_exception_handler(PixseekError, lambda r, e: _error(400, str(e)))
    app.add_exception_handler(RequestValidationError, lambda r, e: _error(400, plain_message(e)))
    app.add_exception_handler(HTTPException, lambda r, e: _error(e.status_code, str(e.detail)))
    app.add_exception_handler(Exception, lambda r, e: _error(500, f"internal error ({type(e).__name__}); see the server log"))
    return app


def serve(collection_folder: str | Path, host: str = "127.0.0.1", port: int = 8000, token: str | None = None) -> None:
    """Run the server until interrupted. Anything but loopback without a token gets a warning."""
    import uvicorn

    token = token or env("PIXSEEK_TOKEN") or None
    if host not in LOOPBACK and not token:
        print(f"pixseek: warning: listening on {host} without --token: anyone who can reach it can search and "
              "view your indexed images", file=sys.stderr)
    hosts = LOOPBACK | {host} if host in LOOPBACK else None
    long_running()  # index codes read whole: steady latency over many queries
    app = create_app(collection_folder, token=token, allowed_hosts=hosts)
    print(f"pixseek: serving {app.state.service.col.folder} at http://{host}:{port}/", file=sys.stderr)
    uvicorn.Server(server_config(app, host, port)).run()
