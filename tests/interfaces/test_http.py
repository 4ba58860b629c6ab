"""The HTTP API, route by route, over a small collection of real photos; then hostile requests."""

from __future__ import annotations

import io
import os
import shutil
import struct
import zlib
from pathlib import Path

import pytest
from conftest import HAVE_DATA, PHOTOS, copy_tiny, generated_images, requires_data
from PIL import Image

pytest.importorskip("fastapi", reason="the web extras are not installed: pip install fastapi uvicorn python-multipart httpx")
from fastapi.testclient import TestClient  # noqa: E402

from pixseek.interfaces.collection import Collection  # noqa: E402
from pixseek.interfaces.http import create_app  # noqa: E402

TOKEN = "s3cret-token"


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict:
    """A collection of ~34 real photos (or generated ones when ../shared/data is absent), indexed once."""
    root = tmp_path_factory.mktemp("http")
    photos, outside = root / "photos", root / "outside"
    outside.mkdir()
    if HAVE_DATA:
        copy_tiny(photos, per_class=6)
        for name in ("skimage_chelsea.png", "skimage_coffee.png", "skimage_rocket.jpg", "skimage_motorcycle_left.png"):
            shutil.copy2(PHOTOS / name, photos / name)
        shutil.copy2(PHOTOS / "skimage_astronaut.png", outside / "secret.png")
    else:
        generated_images(photos)
        Image.new("RGB", (80, 60), (200, 30, 30)).save(outside / "secret.png")
    os.symlink(outside / "secret.png", photos / "link_out.png")  # indexed, but points out of the folder
    db = root / "db"
    col = Collection.open(db)
    report = col.index([photos], progress=False, workers=0)
    assert report.failed == 0
    files = sorted(str(p) for p in photos.rglob("*") if p.is_file() and not p.is_symlink())
    return {"db": db, "photos": photos, "outside": outside, "col": col, "files": files}


@pytest.fixture(scope="module")
def client(world) -> TestClient:
    return TestClient(create_app(world["db"]), raise_server_exceptions=False)


def _hits(rows: list, tags: bool | None = None) -> None:
    assert isinstance(rows, list) and rows
    for r in rows:
        assert set(r) <= {"path", "score", "tags", "weak", "place"}
        assert isinstance(r["path"], str) and isinstance(r["score"], float)
    scores = [r["score"] for r in rows]
    assert scores == sorted(scores, reverse=True)


def _error(resp, status: int) -> str:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error"} and body["error"] and "Traceback" not in body["error"]
    return body["error"]


# routes ---------------------------------------------------------------------------------------
def test_openapi_lists_every_route(client):
    doc = client.get("/openapi.json").json()
    assert {"/api/search", "/api/similar", "/api/tag", "/api/words", "/api/status", "/api/health",
            "/api/thumb", "/api/original"} <= set(doc["paths"])
    assert "post" in doc["paths"]["/api/similar"] and "get" in doc["paths"]["/api/similar"]


def test_page_and_static_files(client):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "/static/app.js" in page.text and "/static/style.css" in page.text
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/style.css").status_code == 200


def test_search_matches_python_api_and_pages(client, world):
    word = "fish" if HAVE_DATA else "cat"
    body = client.get("/api/search", params={"q": word, "k": 10}).json()
    rows = body["results"]
    _hits(rows)
    assert body == world["col"].search(word, k=10).to_dict()
    page = client.get("/api/search", params={"q": word, "k": 3, "offset": 2}).json()["results"]
    assert page == rows[2:5]


@requires_data
def test_search_finds_the_right_class(client):
    rows = client.get("/api/search", params={"q": "goldfish", "k": 5}).json()["results"]
    assert sum("n01443537" in r["path"] for r in rows) >= 4
    # every card carries its tag list (empty when no tag is probably right: search/tags.py), and the
    # goldfish ones mostly say so
    assert all(isinstance(r.get("tags"), list) for r in rows)
    assert sum("goldfish" in r["tags"] for r in rows if "n01443537" in r["path"]) >= 2


def test_similar_to_indexed_image(client, world):
    query = world["files"][0]
    rows = client.get("/api/similar", params={"path": query, "k": 8}).json()
    _hits(rows)
    assert query not in [r["path"] for r in rows]
    assert rows == [h.to_dict() for h in world["col"].similar(query, k=8)]


def test_similar_with_box_changes_results(client, world):
    query = str(world["photos"] / "skimage_chelsea.png") if HAVE_DATA else world["files"][0]
    whole = client.get("/api/similar", params={"path": query, "k": 8}).json()
    w, h = Image.open(query).size
    region = client.get("/api/similar", params={"path": query, "k": 8, "box": f"0,0,{w // 3},{h // 3}"}).json()
    _hits(region)
    assert whole != region


def test_upload_of_indexed_photo_lists_itself_first(client, world):
    query = world["files"][3]
    with open(query, "rb") as f:
        rows = client.post("/api/similar", params={"k": 5}, files={"file": ("q.jpg", f, "image/jpeg")}).json()
    _hits(rows)
    assert rows[0] == {"path": query, "score": 1.0, "weak": False, "place": None}
    assert query not in [r["path"] for r in rows[1:]]


def test_upload_new_photo_with_box(client, world):
    buf = io.BytesIO()
    Image.open(world["files"][1]).convert("RGB").rotate(90).save(buf, "PNG")  # not in the collection
    files = {"file": ("new.png", buf.getvalue(), "image/png")}
    rows = client.post("/api/similar", params={"k": 5}, files=files).json()
    _hits(rows)
    boxed = client.post("/api/similar", params={"k": 5, "box": "0,0,40,40"}, files=files).json()
    _hits(boxed)
    assert boxed != rows


def test_tag_indexed_and_uploaded(client, world):
    query = str(world["photos"] / "skimage_chelsea.png") if HAVE_DATA else world["files"][0]  # a photo with tags
    rows = client.get("/api/tag", params={"path": query, "k": 4}).json()
    assert len(rows) <= 4 and (rows or not HAVE_DATA) and all(set(r) == {"tag", "score"} for r in rows)
    assert rows == [t.to_dict() for t in world["col"].tag(query, k=4)]
    with open(query, "rb") as f:
        up = client.post("/api/tag", params={"k": 4}, files={"file": ("q", f, "image/jpeg")}).json()
    assert [r["tag"] for r in up] == [r["tag"] for r in rows]


def test_words(client):
    rows = client.get("/api/words", params={"word": "dog", "k": 5}).json()
    assert len(rows) == 5 and all(set(r) == {"word", "score"} for r in rows)
    assert "dog" not in [r["word"] for r in rows]
    unknown = client.get("/api/words", params={"word": "qzxqzxqzx"})  # an answer, not an error: no near words
    assert unknown.status_code == 200 and unknown.json() == []


def test_status_and_health(client, world):
    st = client.get("/api/status").json()
    assert set(st) == set(world["col"].status())
    assert st["images"] == len(world["files"]) + 1
    assert client.get("/api/health").json() == {"ok": True, "images": st["images"]}


def test_thumbnail_is_cached_on_disk_with_caching_headers(client, world):
    path = world["files"][2]
    resp = client.get("/api/thumb", params={"path": path})
    assert resp.status_code == 200 and resp.headers["content-type"] == "image/jpeg"
    assert resp.headers["etag"] and "max-age" in resp.headers["cache-control"]
    im = Image.open(io.BytesIO(resp.content))
    assert max(im.size) <= 256
    assert list((world["db"] / "thumbs").rglob("*.jpg"))
    again = client.get("/api/thumb", params={"path": path}, headers={"If-None-Match": resp.headers["etag"]})
    assert again.status_code == 304 and not again.content


def test_original_is_the_file(client, world):
    path = world["files"][4]
    resp = client.get("/api/original", params={"path": path})
    assert resp.status_code == 200 and resp.content == Path(path).read_bytes()
    assert resp.headers["content-type"].startswith("image/") and resp.headers["x-content-type-options"] == "nosniff"


# hostile requests ------------------------------------------------------------------------------
@pytest.mark.parametrize("route", ["/api/thumb", "/api/original", "/api/similar", "/api/tag"])
def test_no_path_outside_the_catalog_is_read(client, world, route):
    inside = world["files"][0]
    for path in ["/etc/passwd", "../../../../etc/passwd", "etc/passwd", inside + "/../../../etc/passwd",
                 str(world["outside"] / "secret.png"), os.path.relpath(inside), inside + "\0.png", "", "~/x.png"]:
        resp = client.get(route, params={"path": path})
        assert resp.status_code in (400, 404), (path, resp.status_code)
        _error(resp, resp.status_code)


def test_symlink_out_of_the_folder_is_refused(client, world):
    link = str(world["photos"] / "link_out.png")
    assert world["col"].catalog.file(link).status == "ok"  # the indexer followed it...
    for route in ("/api/thumb", "/api/original"):  # ...but the server does not read through it
        assert "links outside" in _error(client.get(route, params={"path": link}), 404)


def test_file_replaced_after_indexing_is_refused(client, world, tmp_path):
    victim = world["files"][-1]
    backup = tmp_path / "backup"
    shutil.copy2(victim, backup)
    try:
        os.remove(victim)
        os.symlink("/etc/passwd", victim)
        assert _error(client.get("/api/original", params={"path": victim}), 404)
        os.remove(victim)
        Path(victim).write_bytes(b"not the indexed file")
        assert "changed since" in _error(client.get("/api/original", params={"path": victim}), 404)
    finally:
        os.remove(victim)
        shutil.copy2(backup, victim)  # copy2 keeps mtime, so the record matches again
    assert client.get("/api/original", params={"path": victim}).status_code == 200


def test_oversized_upload_is_refused(world):
    small = TestClient(create_app(world["db"], max_upload_bytes=10_000))
    data = Path(world["files"][0]).read_bytes() + b"\0" * 200_000
    assert "limited" in _error(small.post("/api/similar", files={"file": ("a.jpg", data, "image/jpeg")}), 413)
    near = b"\xff\xd8\xff" + b"\0" * 15_000  # over the upload limit, within the request slack
    assert "too large" in _error(small.post("/api/similar", files={"file": ("a.jpg", near, "image/jpeg")}), 413)


def test_upload_without_length_is_refused(client):
    def chunks():
        yield b"--x\r\n"

    resp = client.post("/api/similar", content=chunks(), headers={"content-type": "multipart/form-data; boundary=x"})
    _error(resp, 411)


def _bomb_png(width: int = 20_000, height: int = 20_000) -> bytes:
    """A tiny PNG whose header claims 400 million pixels."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("data, reason", [(b"hello, not an image", "not an image"), (b"", "empty"),
                                          (_bomb_png(), "too large|bomb"),
                                          (b"\xff\xd8\xff\xe0" + b"\0" * 50, "corrupt|not an image")],
                         ids=["text", "empty", "bomb", "truncated-jpeg"])
def test_bad_uploads_are_refused(client, data, reason):
    import re

    for route in ("/api/similar", "/api/tag"):
        msg = _error(client.post(route, files={"file": ("x.png", data, "image/png")}), 400)
        assert re.search(reason, msg), msg


def test_upload_field_missing(client):
    assert "file" in _error(client.post("/api/similar", data={"nofile": "1"}), 400)


@pytest.mark.parametrize("params", [{"q": "dog", "k": 0}, {"q": "dog", "k": "ten"}, {"q": "dog", "k": 100000},
                                    {"q": "dog", "offset": -1}, {"q": ""}, {}, {"q": "x" * 600},
                                    {"q": "dog", "k": 1000, "offset": 9999}])
def test_bad_search_parameters(client, params):
    _error(client.get("/api/search", params=params), 400)


@pytest.mark.parametrize("box", ["1,2,3", "a,b,c,d", "10,10,5,20", "10,10,20,10", "-5,0,10,10", "0,0,inf,inf",
                                 "0,0,1e309,10", "nan,0,10,10"])
def test_bad_boxes(client, world, box):
    assert "box" in _error(client.get("/api/similar", params={"path": world["files"][0], "box": box}), 400)


def test_docs_page_is_off_and_the_openapi_document_stays(client):
    _error(client.get("/docs"), 404)
    assert client.get("/openapi.json").status_code == 200


def test_unknown_route_and_method_are_json(client):
    _error(client.get("/api/nope"), 404)
    _error(client.delete("/api/search"), 405)


def test_internal_errors_are_json_without_traceback(world, monkeypatch):
    app = create_app(world["db"])
    monkeypatch.setattr(app.state.service.col, "search", lambda *a, **k: 1 / 0)
    resp = TestClient(app, raise_server_exceptions=False).get("/api/search", params={"q": "dog"})
    assert "ZeroDivisionError" in _error(resp, 500)


# access token and Host header ------------------------------------------------------------------
def test_token_required_on_every_route(world):
    guarded = TestClient(create_app(world["db"], token=TOKEN), raise_server_exceptions=False)
    path = world["files"][0]
    for url in ["/", "/openapi.json", "/docs", "/static/app.js", "/api/status", "/api/health", "/api/search?q=dog",
                f"/api/thumb?path={path}", f"/api/original?path={path}", "/api/nope"]:
        _error(guarded.get(url), 401)
        _error(guarded.get(url, headers={"Authorization": "Bearer wrong"}), 401)
    _error(guarded.post("/api/similar", files={"file": ("a", b"x", "image/png")}), 401)
    ok = {"Authorization": f"Bearer {TOKEN}"}
    assert guarded.get("/api/search", params={"q": "dog"}, headers=ok).status_code == 200
    assert guarded.get("/api/status", headers={"X-Pixseek-Token": TOKEN}).status_code == 200


def test_token_in_url_becomes_a_cookie(world):
    guarded = TestClient(create_app(world["db"], token=TOKEN))
    resp = guarded.get(f"/?token={TOKEN}", follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/"
    assert "httponly" in resp.headers["set-cookie"].lower() and "samesite=strict" in resp.headers["set-cookie"].lower()
    assert guarded.get("/api/status").status_code == 200  # the client kept the cookie


def test_foreign_host_header_is_refused(world):
    local = TestClient(create_app(world["db"], allowed_hosts={"127.0.0.1", "localhost"}), base_url="http://127.0.0.1")
    assert local.get("/api/health").status_code == 200
    assert "Host" in _error(local.get("/api/health", headers={"Host": "evil.example"}), 400)


# cut-off, filters, regions (issue 15) -----------------------------------------------------------
@requires_data
def test_result_count_header_and_min_score(client, world):
    resp = client.get("/api/search", params={"q": "goldfish", "k": 100})
    body = resp.json()
    rows = body["results"]
    _hits(rows)
    assert int(resp.headers["X-Result-Count"]) == len(rows) == world["col"].status()["images"]  # nothing hidden
    confident = int(resp.headers["X-Confident-Count"])
    assert 5 <= confident == body["confident"] < len(rows) and [r["weak"] for r in rows].count(False) == confident
    assert "X-Result-Count" not in client.get("/api/search", params={"q": "goldfish", "k": 2}).headers  # not known
    every = client.get("/api/search", params={"q": "goldfish", "k": 100, "min_score": 0})
    assert every.json()["results"] == rows
    strict = client.get("/api/search", params={"q": "goldfish", "k": 100, "min_score": 0.7}).json()["results"]
    assert all(r["score"] >= 0.7 for r in strict) and len(strict) < len(rows)
    like = client.get("/api/similar", params={"path": rows[0]["path"], "k": 100})
    assert int(like.headers["X-Confident-Count"]) == [r["weak"] for r in like.json()].count(False) > 0


@requires_data
def test_filters_on_search_and_similar(client, world):
    photos = world["photos"]
    fish = str(photos / "n01443537")
    rows = client.get("/api/search", params={"q": "cat", "k": 10, "under": fish, "min_score": 0}).json()["results"]
    assert len(rows) == 6 and all(r["path"].startswith(fish + "/") for r in rows)
    query = sorted(world["files"])[0]
    png = client.get("/api/similar", params={"path": query, "k": 10, "type": "png", "min_score": 0}).json()
    assert png and all(r["path"].endswith(".png") for r in png)
    with open(query, "rb") as f:
        up = client.post("/api/similar", params={"k": 10, "under": fish, "min_score": 0},
                         files={"file": ("q.jpg", f, "image/jpeg")})
    assert up.status_code == 200 and all(r["path"].startswith(fish + "/") for r in up.json())
    assert int(up.headers["X-Result-Count"]) == len(up.json()) == 6
    dated = client.get("/api/search", params={"q": "cat", "after": "2000-01-01", "before": "2999-12-31", "k": 50})
    assert dated.status_code == 200


@requires_data
@pytest.mark.parametrize("params, message", [({"after": "2024-13-01"}, "YYYY-MM-DD"), ({"before": "soon"}, "YYYY-MM-DD"),
                                             ({"under": "/nowhere"}, "no indexed photos under"), ({"type": "exe"}, "type"),
                                             ({"min_score": "nan"}, "min_score"), ({"min_score": "high"}, "min_score")])
def test_bad_filter_values_are_clear_400s(client, params, message):
    assert message in _error(client.get("/api/search", params={"q": "cat", **params}), 400)


@requires_data
def test_tags_follow_the_box(client, world):
    query = str(world["photos"] / "skimage_chelsea.png")
    w, h = Image.open(query).size
    box = f"0,0,{w // 3},{h}"  # a tall strip at the left
    whole = client.get("/api/tag", params={"path": query, "k": 5}).json()
    region = client.get("/api/tag", params={"path": query, "k": 5, "box": box}).json()
    assert region != whole
    assert region == [t.to_dict() for t in world["col"].tag(query, k=5, box=box)]
    with open(query, "rb") as f:
        up = client.post("/api/tag", params={"k": 5, "box": box}, files={"file": ("q.png", f, "image/png")}).json()
    assert [r["tag"] for r in up] == [r["tag"] for r in region]
    assert "box" in _error(client.get("/api/tag", params={"path": query, "box": "5,5,1,1"}), 400)
