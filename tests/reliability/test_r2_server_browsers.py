"""What a browser gets from a running server: security headers on every response (the page cannot be
framed, nothing is sniffed or loaded from elsewhere), and requests that change something refused when
another site sends them, while the page itself and clients without an Origin (curl, scripts) work."""

from __future__ import annotations

import io
import os
import socket
import threading

import httpx
import pytest
import uvicorn
from conftest import HAVE_DATA, copy_tiny, generated_images, wait_for
from PIL import Image

from pixseek.interfaces.collection import Collection
from pixseek.interfaces.http import create_app
from pixseek.interfaces.http_guard import server_config

TOKEN = "t0ken"


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (20, 120, 200)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture(scope="module", params=[None, TOKEN], ids=["open", "token"])
def served(request, tmp_path_factory):
    """A real server in this process (a thread) over an empty collection, without and with a token."""
    db = tmp_path_factory.mktemp("browsers") / "db"
    Collection.open(db).close()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(server_config(create_app(db, token=request.param, allowed_hosts={"127.0.0.1"}),
                                          "127.0.0.1", port))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    assert wait_for(lambda: server.started, 30), "the server did not start"
    auth = {"Authorization": f"Bearer {TOKEN}"} if request.param else {}
    yield f"http://127.0.0.1:{port}", auth
    server.should_exit = True
    thread.join(30)


@pytest.mark.parametrize("path", ["/", "/static/app.js", "/api/health", "/api/uploads/" + "0" * 32, "/api/nowhere"])
def test_every_response_carries_the_security_headers(served, path):
    base, auth = served
    r = httpx.get(base + path, headers=auth)
    csp = r.headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp, (r.status_code, dict(r.headers))
    assert r.headers.get("x-frame-options") == "DENY"
    assert r.headers.get("x-content-type-options") == "nosniff"
    assert r.headers.get("referrer-policy") == "same-origin"


def test_refusals_before_any_route_carry_them_too(served):
    base, auth = served
    r = httpx.get(f"{base}/api/health", headers={"Host": "attacker.example"})  # refused: DNS rebinding
    assert r.status_code == 400 and r.headers.get("x-frame-options") == "DENY"


def _upload(base: str, headers: dict) -> httpx.Response:
    return httpx.post(f"{base}/api/uploads", files={"file": ("q.png", _png(), "image/png")}, headers=headers)


@pytest.mark.parametrize("foreign", [{"Origin": "http://attacker.example"},
                                     {"Origin": "null"},
                                     {"Sec-Fetch-Site": "cross-site"},
                                     {"Sec-Fetch-Site": "same-site", "Origin": "http://localhost:1"}],
                         ids=["other-origin", "null-origin", "cross-site", "same-site-other-port"])
def test_a_post_from_another_site_is_refused_with_a_reason(served, foreign):
    base, auth = served
    r = _upload(base, {**auth, **foreign})
    assert r.status_code == 403, r.text
    assert r.json()["error"].startswith("cross-site request refused: POST")
    assert httpx.post(f"{base}/api/similar", files={"file": ("q.png", _png(), "image/png")},
                      headers={**auth, **foreign}).status_code == 403


def test_the_page_itself_and_clients_without_an_origin_may_post(served):
    base, auth = served
    page = {"Origin": base, "Sec-Fetch-Site": "same-origin", "Referer": f"{base}/"}  # what the page's fetch sends
    # a browser may send "Origin: null" on the page's own requests; Sec-Fetch-Site says where they come from
    null = {"Origin": "null", "Sec-Fetch-Site": "same-origin"}
    for headers in ({**auth, **page}, auth, {**auth, "Origin": base}, {**auth, **null}):
        r = _upload(base, headers)
        assert r.status_code == 200, (headers, r.text)
        assert len(r.json()["id"]) == 32
    assert httpx.get(f"{base}/api/health", headers={**auth, "Origin": "http://attacker.example"}).status_code == 200


CHROMIUM = os.environ.get("PIXSEEK_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def page_server(tmp_path_factory):
    """A real server (a thread of this process) over a few real photos, for Chromium."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set PIXSEEK_CHROMIUM)")
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install playwright")
    root = tmp_path_factory.mktemp("page")
    photos = root / "photos"
    files = copy_tiny(photos, per_class=2) if HAVE_DATA else generated_images(photos, n=10)
    with Collection.open(root / "db") as col:
        assert col.index([photos], progress=False, workers=0).failed == 0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(server_config(create_app(root / "db", allowed_hosts={"127.0.0.1"}), "127.0.0.1", port))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    assert wait_for(lambda: server.started, 30), "the server did not start"
    yield f"http://127.0.0.1:{port}", files
    server.should_exit = True
    thread.join(30)


def test_the_page_works_under_its_policy_and_cannot_be_framed(page_server, tmp_path):
    from playwright.sync_api import sync_playwright

    base, files = page_server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            pg = browser.new_page()
            console, errors = [], []
            pg.on("console", lambda m: console.append(m.text))
            pg.on("pageerror", lambda e: errors.append(str(e)))
            pg.goto(f"{base}/")
            pg.wait_for_selector("#status:not(:empty)")
            pg.fill("#q", "animal")
            pg.press("#q", "Enter")
            pg.wait_for_selector(".card img")
            pg.wait_for_function("() => [...document.querySelectorAll('.card img')].every(i => i.complete && i.naturalWidth)")
            pg.set_input_files("#file", str(files[0]))  # an upload: a POST from the page itself
            pg.wait_for_function("() => { const i = document.getElementById('query-img');"
                                 " return !document.getElementById('query-panel').hidden && i.complete && i.naturalWidth; }")
            pg.click(".card")  # the detail view: its preview image and facts
            pg.wait_for_function("() => { const i = document.getElementById('d-img'); return i.complete && i.naturalWidth; }")
            pg.keyboard.press("Escape")
            pg.goto(f"{base}/#dupes")
            pg.wait_for_selector("#dupes-message:not(:empty)")
            assert not errors, errors
            refused = [m for m in console if "Content Security Policy" in m or "Refused to" in m]
            assert not refused, refused

            attacker = browser.new_page()  # another site framing the page (clickjacking)
            framed = []
            attacker.on("console", lambda m: framed.append(m.text))
            attacker.set_content(f'<iframe id="f" src="{base}/" width="800" height="600"></iframe>')
            wait_for(lambda: any("frame-ancestors" in m for m in framed), 15)
            assert any("frame-ancestors" in m for m in framed), framed
            assert attacker.frames[-1].evaluate("() => document.getElementById('q')") is None
        finally:
            browser.close()
