"""The search page in real headless Chromium (Playwright) against `pixseek serve` run as a subprocess.

Set PIXSEEK_WEB_SCREENSHOTS=docs to write docs/web-search.png and docs/web-crop.png (with the whole
Flickr8k sample indexed, so the pictures show real photos at a useful size).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import DATA, HAVE_DATA, PHOTOS, copy_tiny, generated_images

CHROMIUM = os.environ.get("PIXSEEK_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
TOKEN = "web-test-token"
SHOTS = os.environ.get("PIXSEEK_WEB_SCREENSHOTS")
FLICKR = DATA / "flickr8k-500" / "images"

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install playwright")
pytest.importorskip("uvicorn", reason="the web extras are not installed: pip install fastapi uvicorn python-multipart")
if not os.path.exists(CHROMIUM):
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set PIXSEEK_CHROMIUM)", allow_module_level=True)
pytestmark = pytest.mark.skipif(not HAVE_DATA, reason=f"the page is checked on real photos, not found at {DATA}")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`pixseek serve` with a token, over Tiny ImageNet photos, the sample photos and some Flickr8k photos."""
    root = tmp_path_factory.mktemp("web")
    photos = root / "photos"
    if HAVE_DATA:
        copy_tiny(photos, per_class=6)
        for f in sorted(PHOTOS.iterdir()):
            shutil.copy2(f, photos / f.name)
        (photos / "flickr").mkdir()
        for f in sorted(FLICKR.glob("*.jpg"))[: None if SHOTS else 40]:
            shutil.copy2(f, photos / "flickr" / f.name)
    else:
        generated_images(photos)
    db = root / "db"
    subprocess.run([sys.executable, "-m", "pixseek", "index", str(photos), "--db", str(db), "--no-progress"],
                   check=True, capture_output=True)
    port = _port()
    env = dict(os.environ, PIXSEEK_TOKEN=TOKEN)
    proc = subprocess.Popen([sys.executable, "-m", "pixseek", "serve", "--db", str(db), "--port", str(port)], env=env)
    import httpx

    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{base}/api/health", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("pixseek serve did not start")
    yield {"base": base, "photos": photos}
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    ctx = browser.new_context(viewport={"width": 1280, "height": 860})
    pg = ctx.new_page()
    errors = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(f"{server['base']}/?token={TOKEN}")  # traded for a cookie, then redirected to /
    pg.wait_for_selector("#status:not(:empty)")
    yield pg
    ctx.close()
    assert not errors, errors


def _paths(page) -> list[str]:
    return page.eval_on_selector_all(".card", "cards => cards.map(c => c.dataset.path)")


def _wait_results(page, previous: list[str] | None = None) -> list[str]:
    page.wait_for_function("prev => { const c = [...document.querySelectorAll('.card')].map(c => c.dataset.path);"
                           " const m = document.querySelector('#message').textContent;"
                           " const browsing = m.includes('newest first') || /^(uploading|searching)/.test(m);"
                           " return c.length > 0 && !browsing && JSON.stringify(c) !== JSON.stringify(prev); }",
                           arg=previous or [])  # not the collection's photos the page opens on
    page.wait_for_function("() => [...document.querySelectorAll('.card img')].slice(0, 12).every(i => i.complete)")
    return _paths(page)


def _shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / name))


def test_type_a_query_and_see_results(page):
    assert page.url.endswith("/")  # the token left the address bar
    page.fill("#q", "goldfish")
    page.press("#q", "Enter")
    paths = _wait_results(page)
    assert sum("n01443537" in p for p in paths[:5]) >= 4
    first = page.locator(".card").first
    assert float(first.locator(".score").inner_text()) > 0 and first.locator(".tags").inner_text()
    assert page.locator(".card img").first.evaluate("i => i.naturalWidth") > 0  # the thumbnail loaded
    page.wait_for_selector("#words-panel:not([hidden]) .chip")
    word = page.locator("#words .chip").first
    added = word.evaluate("b => b.firstChild.textContent")
    word.click()
    assert page.input_value("#q") == added  # a near word replaces the word it is near to
    _wait_results(page, paths)


def test_unknown_words_and_stopwords_on_the_page(page):
    """A query with a word nobody knows still answers and says what it left out; near words skip stopwords."""
    page.fill("#q", "the goldfish qqzzxq")
    page.press("#q", "Enter")
    paths = _wait_results(page)
    assert sum("n01443537" in p for p in paths[:5]) >= 4
    page.wait_for_function("() => document.querySelector('#message').textContent.includes('qqzzxq')")
    assert "ignored unknown word" in page.inner_text("#message")
    page.wait_for_selector("#words-panel:not([hidden]) .chip")
    assert page.eval_on_selector_all("#words .word-group b", "bs => bs.map(b => b.textContent)") == ["instead of “goldfish”:"]


def test_search_screenshot(page):
    page.fill("#q", "dog")
    page.press("#q", "Enter")
    _wait_results(page)
    page.wait_for_selector("#words-panel:not([hidden]) .chip")
    _shot(page, "web-search.png")


def test_upload_a_photo_and_see_itself_first(page, server):
    photo = server["photos"] / "skimage_chelsea.png"
    page.set_input_files("#file", str(photo))
    paths = _wait_results(page)
    assert paths[0] == str(photo)
    assert page.locator(".card .score").first.inner_text() == "1.000"
    page.wait_for_selector("#query-tags .chip")
    assert page.locator("#query-img").evaluate("i => i.naturalWidth") > 0


def test_draw_a_crop_box_and_see_results_change(page, server):
    photo = server["photos"] / "skimage_astronaut.png"  # 512x512: astronaut, flag, shuttle
    page.set_input_files("#file", str(photo))
    whole = _wait_results(page)
    page.wait_for_function("() => document.getElementById('query-img').naturalWidth > 0")
    page.wait_for_function("() => /man/.test(document.querySelector('#query-tags').textContent)")  # the astronaut
    whole_tags = page.inner_text("#query-tags")
    box = page.locator("#query-img").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.62, box["y"] + box["height"] * 0.05)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.8, box["y"] + box["height"] * 0.3, steps=5)
    page.mouse.move(box["x"] + box["width"] * 0.98, box["y"] + box["height"] * 0.6, steps=5)
    page.mouse.up()
    region = _wait_results(page, whole)
    assert region != whole
    # the tall box is searched whole (padded to a square, not centre-cropped): the rocket photo comes first,
    # and the query's tags follow the box (the astronaut's are gone; only tags probably right are shown)
    assert region[0] == str(server["photos"] / "skimage_rocket.jpg")
    page.wait_for_function("t => document.querySelector('#query-tags').textContent !== t", arg=whole_tags)
    assert page.locator("#box").is_visible() and page.locator("#clear-box").is_visible()
    _shot(page, "web-crop.png")
    page.click("#clear-box")
    assert _wait_results(page, region) == whole


def test_click_a_result_to_search_like_it(page):
    page.fill("#q", "tabby")
    page.press("#q", "Enter")
    paths = _wait_results(page)
    target = page.locator(".card").nth(1)
    clicked = target.get_attribute("data-path")
    target.click()  # the detail view, then "Find similar"
    page.click("#d-similar")
    like = _wait_results(page, paths)
    assert clicked not in like and page.locator("#query-panel").is_visible()
    assert "/api/original" in page.locator("#query-img").get_attribute("src")
    assert sum("n02123045" in p for p in like[:5]) >= 3  # other tabby cats first


def test_infinite_scroll_loads_the_next_page(page):
    page.fill("#q", "animal")
    page.press("#q", "Enter")
    first = _wait_results(page)
    if len(first) < 40:
        pytest.skip("fewer than one page of results in this small collection")
    page.mouse.wheel(0, 20000)
    page.wait_for_function("n => document.querySelectorAll('.card').length > n", arg=len(first))
    more = _paths(page)
    assert more[: len(first)] == first and len(set(more)) == len(more)
