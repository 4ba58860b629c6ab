# ruff: noqa: F811  (the shared fixtures of test_web_app are imported, then asked for by name)
"""The viewer in real headless Chromium against `pixseek serve` over real photos, at desktop and phone sizes:
it fills the window, small photos are scaled up to fit, zoom and pan, a swipe (real touch events) moves to
the next photo, and "Search with a region" lets a drag on the photo choose the region."""

from __future__ import annotations

from test_web_app import SIZES, _open, browser, fragment, page_at_each_size, search, server, wait_results  # noqa: F401

page = page_at_each_size()


def open_viewer(page, words: str, nth: int = 0) -> list[str]:
    found = search(page, words)
    page.locator("#results .card").nth(nth).click()
    page.wait_for_selector("#detail[open]")
    page.wait_for_function("() => { const i = document.getElementById('d-img'); return i.complete && i.naturalWidth > 0"
                           " && parseFloat(i.style.width) > 0; }")
    return found


def img_box(page) -> dict:
    return page.locator("#d-img").bounding_box()


def test_the_viewer_fills_the_window_and_scales_small_photos_up(page):
    open_viewer(page, "goldfish")  # Tiny ImageNet photos: 64 x 64 pixels
    size = page.viewport_size
    dialog = page.locator("#detail").bounding_box()
    assert dialog["width"] == size["width"] and dialog["height"] >= size["height"] - 1
    stage = page.locator("#d-stage").bounding_box()
    shown = img_box(page)
    assert page.evaluate("() => document.getElementById('d-img').naturalWidth") == 64
    assert abs(shown["width"] - min(stage["width"], stage["height"])) <= 2  # scaled up to the space it has
    page.click("#d-full")  # full screen where the browser allows it; the viewer already fills the window
    assert page.locator("#detail").is_visible()


def test_zoom_and_pan(page):
    open_viewer(page, "goldfish")
    before = img_box(page)
    page.keyboard.press("+")
    assert page.inner_text("#d-zoom") == "150%"
    zoomed = img_box(page)
    assert abs(zoomed["width"] - 1.5 * before["width"]) < 2
    stage = page.locator("#d-stage").bounding_box()
    cx, cy = stage["x"] + stage["width"] / 2, stage["y"] + stage["height"] / 2
    page.mouse.move(cx, cy)  # a drag pans the zoomed photo
    page.mouse.down()
    page.mouse.move(cx + 40, cy + 30, steps=4)
    page.mouse.up()
    moved = img_box(page)
    assert abs(moved["x"] - zoomed["x"] - 40) < 2 and abs(moved["y"] - zoomed["y"] - 30) < 2
    assert page.evaluate("() => document.getElementById('detail').open")  # a pan is not a swipe
    page.keyboard.press("0")
    assert page.inner_text("#d-zoom") == "100%" and abs(img_box(page)["width"] - before["width"]) < 2
    page.mouse.dblclick(cx, cy)
    assert page.inner_text("#d-zoom") == "250%"
    page.mouse.wheel(0, 300)  # the wheel zooms out again
    page.wait_for_function("() => document.getElementById('d-zoom').textContent !== '250%'")


def test_a_swipe_moves_to_the_next_photo(page):
    found = open_viewer(page, "tabby", nth=1)
    stage = page.locator("#d-stage").bounding_box()
    y = stage["y"] + stage["height"] / 2
    cdp = page.context.new_cdp_session(page)

    def swipe(x0: float, x1: float) -> None:
        cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x0, "y": y}]})
        for i in range(1, 6):
            cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x0 + (x1 - x0) * i / 5, "y": y}]})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})

    left, right = stage["x"] + stage["width"] * 0.8, stage["x"] + stage["width"] * 0.2
    swipe(left, right)  # to the left: the next photo
    page.wait_for_function("p => location.hash.includes(encodeURIComponent(p))", arg=found[2])
    swipe(right, left)  # to the right: back
    page.wait_for_function("p => location.hash.includes(encodeURIComponent(p))", arg=found[1])
    page.go_back()  # the walk replaced the viewer's entry: one Back closes it
    page.wait_for_selector("#detail", state="hidden")


def test_search_with_a_region_starts_a_drag_on_the_photo(page):
    found = open_viewer(page, "goldfish")
    page.click("#d-region")
    page.wait_for_selector("#d-hint:not([hidden])")
    assert "Drag on the photo" in page.inner_text("#d-hint")
    shown = img_box(page)
    page.mouse.move(shown["x"] + shown["width"] * 0.25, shown["y"] + shown["height"] * 0.25)
    page.mouse.down()
    page.mouse.move(shown["x"] + shown["width"] * 0.75, shown["y"] + shown["height"] * 0.75, steps=5)
    page.mouse.up()
    wait_results(page, found)
    assert fragment(page)["path"] == found[0] and fragment(page)["box"] == "16,16,48,48"  # in the photo's 64 pixels
    assert page.locator("#detail").is_hidden() and page.locator("#box").is_visible()


def test_phone_layout_puts_results_first(browser, server):
    ctx, pg, errors = _open(browser, server, **SIZES["phone"])
    try:
        search(pg, "dog")
        pg.wait_for_selector("#words-panel:not([hidden])", state="attached")
        assert not pg.evaluate("() => document.getElementById('filters-panel').open")
        assert not pg.evaluate("() => document.getElementById('words-panel').open")
        on_screen = pg.eval_on_selector_all("#results .card", "cs => cs.filter(c => c.getBoundingClientRect().bottom"
                                            " <= window.innerHeight).length")
        assert on_screen >= 12, on_screen  # four rows of three: compact cards, no captions
        assert pg.locator("#results .card figcaption").first.is_hidden()
        pg.click("#captions")  # captions on demand
        assert pg.locator("#results .card figcaption").first.is_visible()
        assert pg.get_attribute("#captions", "aria-pressed") == "true"
        fits = pg.evaluate("""() => { const q = document.getElementById('q');
            const c = document.createElement('canvas').getContext('2d');
            const s = getComputedStyle(q); c.font = `${s.fontSize} ${s.fontFamily}`;
            const room = q.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
            return c.measureText(q.placeholder).width <= room; }""")
        assert fits  # the placeholder is not cut off
        assert pg.evaluate("() => document.documentElement.scrollWidth") <= 390
    finally:
        ctx.close()
    assert not errors, errors
