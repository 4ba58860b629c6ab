"""The page as a photo app, in real headless Chromium against `pixseek serve` (a subprocess) over real photos:
history, keyboard, detail view, relevance cut-off, filters, phone layout, contrast and dark mode.

One server and one browser for the whole module; every test opens its own page.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, unquote

import pytest
from conftest import DATA, HAVE_DATA, PHOTOS, copy_tiny
from PIL import Image

CHROMIUM = os.environ.get("PIXSEEK_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
GOLDFISH = "n01443537"
OLD = time.mktime((2024, 5, 1, 12, 0, 0, 0, 0, -1))  # every photo's file time but the dated ones

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install playwright")
pytest.importorskip("uvicorn", reason="the web extras are not installed: pip install fastapi uvicorn python-multipart")
if not os.path.exists(CHROMIUM):
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set PIXSEEK_CHROMIUM)", allow_module_level=True)
if not HAVE_DATA:
    pytest.skip(f"the page is checked on real photos, not found at {DATA}", allow_module_level=True)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(photos: Path, db: Path, *index_options: str):
    """Index `photos` into `db`, then run `pixseek serve` on it; yields the base URL."""
    subprocess.run([sys.executable, "-m", "pixseek", "index", str(photos), "--db", str(db), "--no-progress",
                    *index_options], check=True, capture_output=True)
    port = _port()
    proc = subprocess.Popen([sys.executable, "-m", "pixseek", "serve", "--db", str(db), "--port", str(port)])
    import httpx

    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/api/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            pytest.fail("pixseek serve did not start")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@contextlib.contextmanager
def chromium():
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            b.close()


def dated_copy(src: Path, dest: Path, when: str, camera: tuple[str, str]) -> None:
    """A JPEG copy of a real photo whose EXIF says when and with what it was taken."""
    im = Image.open(src).convert("RGB")
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = camera
    exif.get_ifd(0x8769)[0x9003] = when
    im.save(dest, "JPEG", quality=92, exif=exif.tobytes())


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """Two folders: tiny/ (5 Tiny ImageNet classes, 6 photos each, JPEG) and full/ (the 17 full-size photos, PNG
    and JPEG), plus dated/: 3 more goldfish with EXIF dates in 2019 and a camera. File times are 2024."""
    root = tmp_path_factory.mktemp("webapp")
    photos = root / "photos"
    copy_tiny(photos / "tiny", per_class=6)
    (photos / "full").mkdir()
    for f in sorted(PHOTOS.iterdir()):
        shutil.copy2(f, photos / "full" / f.name)
    (photos / "dated").mkdir()
    extra = sorted((DATA / "tiny-imagenet-200" / "val" / GOLDFISH).glob("*.JPEG"))[6:9]
    for i, f in enumerate(extra):
        dated_copy(f, photos / "dated" / f"fish_{i}.jpg", f"2019:06:0{i + 1} 10:30:00", ("Pixseek", "TestCam 1"))
    for f in photos.rglob("*"):
        if f.is_file() and f.parent.name != "dated":
            os.utime(f, (OLD, OLD))
    with serving(photos, root / "db", "--ocr") as base:  # text in photos too: the detail view outlines it
        yield {"base": base, "photos": photos, "count": sum(1 for f in photos.rglob("*") if f.is_file())}


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def _open(browser, server, **context):
    ctx = browser.new_context(**{"viewport": {"width": 1280, "height": 860}, **context})
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(server["base"] + "/")
    pg.wait_for_selector("#status:not(:empty)")
    pg.wait_for_selector("#results .card")  # the page opens on the collection's photos
    return ctx, pg, errors


@pytest.fixture
def page(browser, server):
    ctx, pg, errors = _open(browser, server)
    yield pg
    ctx.close()
    assert not errors, errors


SIZES = {"desktop": {"viewport": {"width": 1280, "height": 860}},
         "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}}


def page_at_each_size():
    """A module's `page` fixture that opens the page once at each of SIZES (`page = page_at_each_size()`)."""

    @pytest.fixture(params=sorted(SIZES), name="page")
    def sized_page(request, browser, server):
        ctx, pg, errors = _open(browser, server, **SIZES[request.param])
        yield pg
        ctx.close()
        assert not errors, errors

    return sized_page


# contrast ratios (WCAG 2) in the page: the helpers the contrast checks of this file and test_web_a11y.py share
RATIO_JS = """
  const rgb = (s) => s.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lin = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  const lum = (c) => { const [r, g, b] = rgb(c).map(lin); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };"""


def paths(page) -> list[str]:
    return page.eval_on_selector_all("#results .card", "cards => cards.map(c => c.dataset.path)")


def wait_results(page, previous: list[str] | None = None) -> list[str]:
    """The cards once a search other than `previous` is on screen and done loading its first page."""
    page.wait_for_function("prev => { const c = [...document.querySelectorAll('#results .card')].map(c => c.dataset.path);"
                           " const m = document.querySelector('#message').textContent;"
                           " return c.length > 0 && !m.startsWith('searching') && JSON.stringify(c) !== JSON.stringify(prev); }",
                           arg=previous or [])
    return paths(page)


def search(page, words: str) -> list[str]:
    before = paths(page)
    page.fill("#q", words)
    page.press("#q", "Enter")
    return wait_results(page, before)


def fragment(page) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(unquote(page.url.split("#", 1)[1]) if "#" in page.url else "").items()}


def shown_count(page) -> int:
    text = page.inner_text("#message")
    m = re.search(r"([\d,]+) results?\b", text)  # the exact count, known once the list has ended
    assert m, text
    return int(m.group(1).replace(",", ""))


def scroll_to_end(page) -> None:
    """Scroll until the list is complete (infinite scroll stops when the last page came short)."""
    for _ in range(30):
        text = page.inner_text("#message")
        if re.search(r"[\d,]+ results?\b", text) and "+" not in text and page.locator("#more").is_hidden():
            return
        page.mouse.wheel(0, 20000)
        page.wait_for_timeout(150)
    raise AssertionError("the list never ended")


# history ---------------------------------------------------------------------------------------
def test_back_and_forward_walk_through_searches(page):
    fish = search(page, "goldfish")
    assert fragment(page)["q"] == "goldfish"
    cats = search(page, "tabby")
    assert cats != fish and fragment(page)["q"] == "tabby"
    page.go_back()
    assert wait_results(page, cats) == fish
    assert page.input_value("#q") == "goldfish"
    page.go_forward()
    assert wait_results(page, fish) == cats
    # a photo as the query: in the URL, and the search box no longer shows the words of before
    page.locator("#results .card").nth(1).click()
    page.click("#d-similar")
    like = wait_results(page, cats)
    assert fragment(page)["path"] == cats[1] and page.input_value("#q") == ""
    assert page.locator("#query-panel").is_visible()
    page.go_back()
    assert wait_results(page, like) == cats and page.input_value("#q") == "tabby"


def test_a_changed_fragment_reruns_the_search(page):
    fish = search(page, "goldfish")
    page.evaluate("() => { location.hash = 'q=orange'; }")
    oranges = wait_results(page, fish)
    assert page.input_value("#q") == "orange" and sum("n07747607" in p for p in oranges[:5]) >= 4


def test_an_upload_and_its_crop_box_live_in_the_url(page, server):
    photo = server["photos"] / "full" / "skimage_astronaut.png"
    home = wait_results(page)  # the collection's photos, newest first
    page.set_input_files("#file", str(photo))
    whole = wait_results(page, home)
    assert whole[0] == str(photo)  # the same bytes: itself first
    upload = fragment(page)["upload"]
    assert re.fullmatch(r"[0-9a-f]{32}", upload)
    page.wait_for_function("() => document.getElementById('query-img').naturalWidth > 0")
    assert page.input_value("#x1") == "512" and page.input_value("#y1") == "512"  # the whole image, in pixels
    # the crop box set from the keyboard: numeric fields, then Enter
    for field, value in (("#x0", "300"), ("#y0", "0"), ("#x1", "512"), ("#y1", "320")):
        page.fill(field, value)
    page.press("#y1", "Enter")
    region = wait_results(page, whole)
    assert fragment(page)["box"] == "300,0,512,320" and region != whole
    assert page.locator("#box").is_visible() and page.locator("#clear-box").is_visible()
    page.reload()  # the server still holds the upload: the same region search comes back
    page.wait_for_selector("#results .card")
    assert wait_results(page, []) == region and page.locator("#box").is_visible()
    page.go_back()
    assert wait_results(page, region) == whole and not page.locator("#box").is_visible()


# keyboard ----------------------------------------------------------------------------------------
def test_keyboard_only(page):
    page.evaluate("() => document.activeElement.blur()")  # the search box has autofocus: start from nowhere
    assert page.evaluate("() => document.activeElement.id") != "q"
    page.keyboard.press("/")
    assert page.evaluate("() => document.activeElement.id") == "q"
    home = wait_results(page)  # the collection's photos, newest first
    page.keyboard.type("goldfish")
    page.keyboard.press("Enter")
    found = wait_results(page, home)
    for _ in range(60):  # Tab from the search box reaches the first result, then each of the others
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.matches('#results .card')"):
            break
    else:
        raise AssertionError("Tab never reached a result")
    seen = []
    for _ in range(len(found)):
        seen.append(page.evaluate("() => document.activeElement.dataset.path"))
        page.keyboard.press("Tab")
    assert seen == found
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")  # the last result's detail view
    page.wait_for_selector("#detail[open]")
    assert page.inner_text("#d-name") == Path(found[-1]).name
    page.keyboard.press("ArrowLeft")
    assert page.inner_text("#d-name") == Path(found[-2]).name
    page.keyboard.press("ArrowRight")
    assert page.inner_text("#d-name") == Path(found[-1]).name
    page.keyboard.press("Escape")
    page.wait_for_selector("#detail", state="hidden")
    assert page.evaluate("() => document.activeElement.dataset.path") == found[-1]
    # the image button is a real button: Tab reaches it, Enter opens the file picker (clicks the file input)
    page.evaluate("() => { window.picked = 0; document.getElementById('file').addEventListener('click', () => picked++); }")
    page.focus("#q")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "pick"
    page.keyboard.press("Enter")
    page.wait_for_function("() => window.picked === 1")


# detail view -------------------------------------------------------------------------------------
def test_detail_view_shows_the_photo_and_its_facts(page, server):
    search(page, "goldfish")
    page.locator("#filters-panel summary").click()
    page.fill("#f-under", str(server["photos"] / "dated"))
    page.click("#filters button[type=submit]")
    dated = page.wait_for_function("() => { const c = [...document.querySelectorAll('#results .card')];"
                                   " return c.length && c.every(x => x.dataset.path.includes('/dated/')) && c.length; }")
    assert dated.json_value() == 3
    page.locator("#results .card").first.click()
    page.wait_for_selector("#detail[open]")
    page.wait_for_function("() => document.querySelector('#d-facts').textContent.includes('Camera')")
    facts = page.inner_text("#d-facts")
    assert "/dated/fish_" in facts and "TestCam 1" in facts and "2019" in facts and "Taken" in facts
    assert re.search(r"\d+ kB · 64 × 64 px", facts), facts
    page.wait_for_selector("#d-tags .chip")  # the tags come after the facts
    tags = page.locator("#d-tags .chip")
    assert tags.count() >= 1 and "goldfish" in tags.first.inner_text() and re.search(r"0\.\d\d", tags.first.inner_text())
    page.wait_for_function("() => document.getElementById('d-img').naturalWidth > 0")
    href = page.get_attribute("#d-open", "href")
    status = page.evaluate("u => fetch(u).then(r => r.status)", href)
    assert status == 200 and page.get_attribute("#d-download", "download").startswith("fish_")
    # a photo without EXIF shows its file date instead
    page.click("#d-close")
    page.click("#f-clear")  # filters stay with later searches until cleared
    search(page, "coffee")
    page.locator("#results .card").first.click()
    page.wait_for_function("() => document.querySelector('#d-facts').textContent.includes('File date')")
    assert "2024" in page.inner_text("#d-facts")
    page.click("#d-region")  # search with a region: a drag on the photo chooses it (viewer tests: test_web_viewer.py)
    page.wait_for_selector("#d-hint:not([hidden])")


def test_text_found_in_a_photo_is_outlined(page):
    """A hit found by the words printed in it (OCR) says so on its card, and the detail view outlines them."""
    found = search(page, "segmentation")
    assert found[0].endswith("skimage_page.png")
    assert "Region-based segmentation" in page.locator("#results .card").first.inner_text()
    page.locator("#results .card").first.click()
    page.wait_for_selector("#d-textbox:not([hidden])")
    box = page.evaluate("""() => { const i = document.getElementById('d-img').getBoundingClientRect();
        const b = document.getElementById('d-textbox').getBoundingClientRect();
        return [(b.left - i.left) / i.width, (b.top - i.top) / i.height, b.width / i.width]; }""")
    width = page.evaluate("() => document.getElementById('d-img').naturalWidth")
    assert abs(box[0] - 3 / width) < 0.02 and abs(box[2] - 292 / width) < 0.03, box  # [3, 8, 295, 35] in pixels
    assert "Region-based segmentation" in page.inner_text("#d-facts")


# relevance cut-off -------------------------------------------------------------------------------
def test_weaker_matches_follow_a_divider_and_can_be_folded(page, server):
    """Nothing is hidden: every photo comes back, ranked; the confident ones first, then a divider, then
    the weaker ones, which "Hide weaker matches" folds away."""
    search(page, "goldfish")
    scroll_to_end(page)
    total = shown_count(page)
    assert total == server["count"] == len(paths(page))
    confident = int(re.match(r"(\d+) confident match", page.inner_text("#message")).group(1))
    assert 5 <= confident < total
    layout = page.eval_on_selector_all("#results > *", "els => els.map(e => e.classList.contains('weak-divider') "
                                       "? '|' : e.classList.contains('weak') ? 'w' : 'c')")
    assert layout == ["c"] * confident + ["|"] + ["w"] * (total - confident)
    assert page.inner_text(".weak-divider") == "weaker matches"
    assert page.inner_text("#weaker") == "Hide weaker matches"
    page.click("#weaker")
    assert page.locator("#results .card:visible").count() == confident
    assert page.inner_text("#weaker") == "Show weaker matches"
    page.click("#weaker")
    assert page.locator("#results .card:visible").count() == total


def test_a_query_nothing_fits_says_so(page):
    search(page, "elephant")
    assert page.inner_text("#message").startswith('no confident match for "elephant"; nearest:')
    assert page.locator(".weak-divider").count() == 0 and len(paths(page)) == 40


def test_a_misspelling_is_searched_corrected_with_a_link_to_search_as_typed(page):
    search(page, "dgo")
    assert page.inner_text("#message").startswith('showing results for "dog" (search instead for "dgo")')
    page.click("#search-exact")
    page.wait_for_selector("#message.error")  # as typed, nothing is left to search for
    assert fragment(page)["exact"] == "1" and "did you mean 'dog'" in page.inner_text("#message")


# filters ----------------------------------------------------------------------------------------
def test_filters_folder_type_and_date(page, server):
    everything = search(page, "animal")
    page.locator("#filters-panel summary").click()
    options = page.eval_on_selector_all("#folders option", "os => os.map(o => o.value)")
    assert str(server["photos"] / "tiny") in options and str(server["photos"] / "full") in options
    page.fill("#f-under", str(server["photos"] / "full"))
    page.check("#f-types input[value=png]")
    page.click("#filters button[type=submit]")  # the same words again, with the filters
    found = wait_results(page, everything)
    assert fragment(page)["under"] == str(server["photos"] / "full") and fragment(page)["type"] == "png"
    assert all(p.startswith(str(server["photos"] / "full")) and p.endswith(".png") for p in found)
    assert page.inner_text("#filter-count") == "(2 on)"
    # the date range of the dated photos only
    page.click("#f-clear")
    wait_results(page, found)
    page.fill("#f-after", "2019-06-01")
    page.fill("#f-before", "2019-06-30")
    page.click("#filters button[type=submit]")
    page.wait_for_function("() => [...document.querySelectorAll('#results .card')].every(c => c.dataset.path.includes('/dated/'))"
                           " && document.querySelectorAll('#results .card').length > 0")
    assert {Path(p).name for p in paths(page)} <= {"fish_0.jpg", "fish_1.jpg", "fish_2.jpg"}
    assert fragment(page)["after"] == "2019-06-01"


# layout and looks ---------------------------------------------------------------------------------
def test_more_results_is_hidden_when_there_are_no_more(page):
    page.fill("#q", "the")  # stopwords only: an error message, no results
    page.press("#q", "Enter")
    page.wait_for_selector("#message.error")
    assert not page.locator("#more").is_visible()


def test_phone_layout(browser, server):
    ctx, pg, errors = _open(browser, server, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        search(pg, "dog")
        pg.wait_for_selector("#words-panel:not([hidden]) .chip", state="attached")
        assert not pg.evaluate("() => document.getElementById('words-panel').open")  # folded on a phone
        pg.click("#words-panel summary")
        pg.wait_for_selector("#words-panel .chip")
        assert pg.evaluate("() => document.documentElement.scrollWidth") <= 390
        pick = pg.locator("#pick").bounding_box()
        assert pick["x"] >= 0 and pick["x"] + pick["width"] <= 390
        assert pg.locator("header").bounding_box()["height"] < 130
        assert pg.locator("#results .card").first.bounding_box()["y"] < 844 - 100  # a result above the fold
        heights = pg.eval_on_selector_all(".chip", "cs => cs.map(c => c.getBoundingClientRect().height)")
        assert heights and min(heights) >= 32
        pg.locator("#results .card").first.click()
        pg.wait_for_selector("#detail[open]")
        assert pg.evaluate("() => document.documentElement.scrollWidth") <= 390
        pg.keyboard.press("Escape")
        # a crop on a phone: the query image sits above the results, so the new results are brought into view
        dogs = paths(pg)
        pg.set_input_files("#file", str(server["photos"] / "full" / "skimage_astronaut.png"))
        whole = wait_results(pg, dogs)
        pg.wait_for_function("() => document.getElementById('query-img').naturalWidth > 0")
        pg.fill("#x0", "300")
        pg.fill("#y1", "320")
        pg.press("#y1", "Enter")
        wait_results(pg, whole)
        pg.wait_for_function("() => document.getElementById('message').getBoundingClientRect().top < 250")
        top = pg.evaluate("() => document.querySelector('#results .card').getBoundingClientRect().top")
        assert 0 <= top < 400  # the new results are in view, not below the query image
        assert pg.evaluate("() => document.documentElement.scrollWidth") <= 390
    finally:
        ctx.close()
    assert not errors, errors


CONTRAST = "() => {" + RATIO_JS + """
  const score = document.querySelector('#d-tags .chip small'), chip = score.parentElement, q = document.querySelector('#q');
  const css = (el) => getComputedStyle(el), body = css(document.body);
  return { score: ratio(css(score).color, css(chip).backgroundColor),
           border: ratio(css(q).borderTopColor, css(q).backgroundColor),
           text: ratio(body.color, body.backgroundColor), bg: lum(body.backgroundColor) };
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_contrast_in_light_and_dark_mode(browser, server, scheme):
    ctx, pg, errors = _open(browser, server, color_scheme=scheme)
    try:
        search(pg, "goldfish")
        pg.locator("#results .card").first.click()  # a photo's tags carry their scores
        pg.wait_for_selector("#d-tags .chip small")
        c = pg.evaluate(CONTRAST)
        assert c["score"] >= 4.5 and c["border"] >= 3 and c["text"] >= 7, c
        assert (c["bg"] < 0.05) if scheme == "dark" else (c["bg"] > 0.8), c
    finally:
        ctx.close()
    assert not errors, errors


# the page's own routes -------------------------------------------------------------------------------
def test_page_routes_refuse_bad_input_clearly(server):
    import httpx

    base = server["base"]
    bad = httpx.post(f"{base}/api/uploads", files={"file": ("notes.txt", b"just some text")})
    assert bad.status_code == 400 and "not an image" in bad.json()["error"]
    gone = httpx.get(f"{base}/api/uploads/{'0' * 32}")
    assert gone.status_code == 404 and "upload the image again" in gone.json()["error"]
    assert httpx.get(f"{base}/api/uploads/..%2F..%2Fetc").status_code in (400, 404)
    outside = httpx.get(f"{base}/api/info", params={"path": "/etc/passwd"})
    assert outside.status_code == 404 and "not an indexed image" in outside.json()["error"]
    assert httpx.get(f"{base}/api/duplicates", params={"threshold": "2"}).status_code == 400
    photo = (server["photos"] / "full" / "skimage_coffee.png").read_bytes()
    kept = httpx.post(f"{base}/api/uploads", files={"file": ("c.png", photo)}).json()
    assert kept["type"] == "image/png" and httpx.get(f"{base}/api/uploads/{kept['id']}").content == photo
    big = httpx.get(f"{base}/api/preview", params={"path": str(server["photos"] / "full" / "skimage_coffee.png")})
    assert big.headers["content-type"] == "image/jpeg"
    facets = httpx.get(f"{base}/api/facets").json()
    assert {t["type"] for t in facets["types"]} == {"jpg", "png"}


def test_uploads_are_bounded_and_expire():
    from pixseek.interfaces.http_pages import Uploads
    from pixseek.interfaces.thumbnails import NotInCollection

    now = [0.0]
    kept = Uploads(count=2, max_bytes=10, seconds=60, clock=lambda: now[0])
    a, b = kept.put(b"aaaa"), kept.put(b"bbbb")
    assert kept.get(a) == b"aaaa"  # a is now the most recently used
    c = kept.put(b"cccc")  # a third: the least recently used (b) goes
    assert kept.get(a) and kept.get(c)
    with pytest.raises(NotInCollection):
        kept.get(b)
    kept.put(b"dddddddd")  # 12 bytes in all over the 10 allowed: the oldest go until it fits
    with pytest.raises(NotInCollection):
        kept.get(a)
    now[0] = 61
    with pytest.raises(NotInCollection, match="upload the image again"):
        kept.get(c)


# teaching -------------------------------------------------------------------------------------
def test_more_like_this_then_name_these(page, server):
    def is_fish(p: str) -> bool:  # the dated copies are goldfish too
        return GOLDFISH in p or "/dated/fish_" in p

    shown = search(page, "animal")
    fish = [p for p in shown if GOLDFISH in p][:2]
    assert len(fish) == 2, shown
    for p in fish:
        page.locator(f'#results .card[data-path="{p}"] .mark-like').click()
    assert page.locator("#feedback").is_visible() and "2 more like this" in page.inner_text("#feedback-count")
    other = next(p for p in shown if not is_fish(p))
    page.locator(f'#results .card[data-path="{other}"]').focus()
    page.keyboard.press("-")  # the keyboard marks the focused result
    assert "unliked" in page.get_attribute(f'#results .card[data-path="{other}"]', "class")
    page.keyboard.press("-")  # and unmarks it
    assert "1 not this" not in page.inner_text("#feedback-count")
    page.click("#refine")
    refined = wait_results(page, shown)
    assert parse_qs(page.url.split("#", 1)[1])["like"] == fish
    assert not set(fish) & set(refined) and sum(map(is_fish, refined[:4])) >= 3, refined[:4]
    page.click("#name-these")
    page.fill("#teach-name", "zorblax")
    page.click("#teach-save")
    taught = wait_results(page, refined)
    assert fragment(page) == {"q": "zorblax"} and sum(map(is_fish, taught[:5])) >= 4, taught[:5]
    import httpx

    assert [c["name"] for c in httpx.get(server["base"] + "/api/concepts").json()] == ["zorblax"]
    assert httpx.delete(server["base"] + "/api/concepts/zorblax").status_code == 200
