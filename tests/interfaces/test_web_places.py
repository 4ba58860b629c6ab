"""Places on the page, in real headless Chromium against `pixseek serve` over the real geotagged photos
(Lund, Tuscany, Madrid, Helsinki) and Tiny ImageNet photos without GPS: the "Taken in" filter with photo
counts, the offline dot map, and the place in the detail view."""

from __future__ import annotations

import shutil

import pytest
from conftest import DATA, copy_tiny
from test_web_app import chromium, fragment, paths, serving, wait_results

GEOTAGGED = DATA / "geotagged"
if not GEOTAGGED.is_dir():
    pytest.skip(f"geotagged photos not found at {GEOTAGGED}", allow_module_level=True)
LUND = {f"lund_{i:02d}.jpg" for i in range(1, 30)}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("webplaces")
    photos = root / "photos"
    shutil.copytree(GEOTAGGED, photos / "geo", ignore=shutil.ignore_patterns("*.md", "*.txt"))
    copy_tiny(photos / "tiny", per_class=4)
    with serving(photos, root / "db") as base:
        yield {"base": base, "photos": photos}


@pytest.fixture
def page(server):
    with chromium() as browser:
        ctx = browser.new_context(viewport={"width": 1280, "height": 860})
        pg = ctx.new_page()
        errors: list[str] = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.goto(server["base"] + "/")
        pg.wait_for_selector("#status:not(:empty)")
        yield pg
        ctx.close()
        assert not errors, errors


def _names(found: list[str]) -> set[str]:
    return {p.rsplit("/", 1)[-1] for p in found}


def _open_filters(page) -> None:
    page.evaluate("() => { document.querySelector('#filters-panel').open = true; }")
    page.wait_for_selector("#f-place-label:not([hidden])")


def test_the_place_filter_lists_places_with_counts_and_keeps_their_photos(page):
    page.fill("#q", "building")
    page.press("#q", "Enter")
    everything = wait_results(page)
    assert _names(everything) - LUND  # not only Lund's photos before the filter
    _open_filters(page)
    options = page.eval_on_selector_all("#f-place option", "os => os.map(o => [o.value, o.textContent])")
    assert ["Lund, Sweden", "Lund (29)"] in options and ["Sweden", "Sweden: all (29)"] in options
    assert ["Madrid, Spain", "Madrid (2)"] in options and ["", "anywhere"] in options
    page.select_option("#f-place", "Lund, Sweden")
    page.click("#filters button[type=submit]")
    lund = wait_results(page, everything)
    assert fragment(page)["place"] == "Lund, Sweden"
    assert _names(lund) <= LUND and len(lund) > 0
    page.reload()  # the filter is in the URL: it comes back with the page
    page.wait_for_selector("#status:not(:empty)")
    assert _names(wait_results(page)) <= LUND
    _open_filters(page)
    page.wait_for_function("() => document.querySelector('#f-place').value === 'Lund, Sweden'")


def test_the_dot_map_shows_where_photos_were_taken_and_a_dot_filters(page):
    page.fill("#q", "building")
    page.press("#q", "Enter")
    everything = wait_results(page)
    _open_filters(page)
    page.wait_for_selector("#place-map:not([hidden]) circle.dot")
    dots = page.eval_on_selector_all("#place-map circle.dot", "cs => cs.map(c => c.dataset.place)")
    assert {"Lund, Sweden", "Madrid, Spain", "Helsinki, Finland", "Arezzo, Italy"} <= set(dots)
    inside = page.eval_on_selector_all(  # every dot is drawn inside the map
        "#place-map circle.dot", "cs => cs.every(c => { const b = c.ownerSVGElement.viewBox.baseVal;"
        " return c.cx.baseVal.value >= 0 && c.cx.baseVal.value <= b.width && c.cy.baseVal.value >= 0"
        " && c.cy.baseVal.value <= b.height; })")
    assert inside
    page.locator("#place-map circle.dot[data-place='Madrid, Spain']").click()
    madrid = wait_results(page, everything)
    assert _names(madrid) == {"iphone_hdr_YES.jpg", "iphone_hdr_NO.jpg"}
    assert fragment(page)["place"] == "Madrid, Spain" and page.input_value("#f-place") == "Madrid, Spain"
    page.locator("#place-map circle.dot[data-place='Helsinki, Finland']").focus()
    page.keyboard.press("Enter")  # a dot is a button for the keyboard too
    assert _names(wait_results(page, madrid)) == {"HMD_Nokia_8.3_5G.jpg"}


def test_the_detail_view_says_where_the_photo_was_taken(page, server):
    page.goto(server["base"] + "/#q=building&place=Helsinki")
    found = wait_results(page)
    assert _names(found) == {"HMD_Nokia_8.3_5G.jpg"}
    page.locator("#results .card").first.click()
    page.wait_for_selector("#detail[open]")
    page.wait_for_function("() => document.querySelector('#d-facts').textContent.includes('Camera')")
    facts = page.inner_text("#d-facts")
    assert "Place" in facts and "Helsinki, Uusimaa, Finland" in facts and "60.1" in facts
    page.keyboard.press("Escape")
    page.goto(server["base"] + "/#q=goldfish")  # a photo without GPS has no place line
    wait_results(page, found)  # not the Helsinki card still on screen before the new search starts
    page.locator("#results .card").first.click()
    page.wait_for_function("() => document.querySelector('#d-facts').textContent.includes('File date')")
    assert "Place" not in page.inner_text("#d-facts") and paths(page)
