# ruff: noqa: F811  (the shared fixtures of test_web_app are imported, then asked for by name)
"""History on the page, in real headless Chromium against `pixseek serve` over real photos, at desktop and
phone sizes: the viewer is a history entry of its own (Back closes it, Forward opens it again), a search
brought back by Back is as it was left (its results and scroll position), and an address with a photo in
it opens that photo over its search."""

from __future__ import annotations

from test_web_app import _open, browser, fragment, page_at_each_size, paths, scroll_to_end, search, server, wait_results  # noqa: F401

page = page_at_each_size()


def viewer_on(page) -> str | None:
    """The photo the open viewer shows (by the URL and the dialog agreeing), or None when it is closed."""
    page.wait_for_timeout(100)
    if not page.evaluate("() => document.getElementById('detail').open"):
        return None
    return page.evaluate("() => decodeURIComponent(document.getElementById('d-open').href.split('path=')[1])")


def test_back_closes_the_viewer_and_forward_opens_it_again(page):
    search(page, "goldfish")
    tabby = search(page, "tabby")
    page.locator("#results .card").nth(2).click()
    page.wait_for_selector("#detail[open]")
    assert fragment(page)["photo"] == tabby[2] and fragment(page)["q"] == "tabby"
    page.go_back()  # closes the viewer, not the search
    page.wait_for_selector("#detail", state="hidden")
    assert "photo" not in fragment(page) and fragment(page)["q"] == "tabby" and paths(page) == tabby
    assert page.input_value("#q") == "tabby"
    page.go_forward()
    page.wait_for_selector("#detail[open]")
    assert viewer_on(page) == tabby[2]
    page.keyboard.press("ArrowRight")  # walking through photos replaces the viewer's entry...
    page.wait_for_function("p => location.hash.includes(encodeURIComponent(p))", arg=tabby[3])
    page.go_back()  # ...so one Back still closes it
    page.wait_for_selector("#detail", state="hidden")
    assert fragment(page)["q"] == "tabby" and paths(page) == tabby
    page.locator("#results .card").nth(1).click()  # Escape closes it as Back does: Forward opens it again
    page.wait_for_selector("#detail[open]")
    page.keyboard.press("Escape")
    page.wait_for_function("() => !location.hash.includes('photo=')")
    page.go_forward()
    page.wait_for_selector("#detail[open]")
    assert viewer_on(page) == tabby[1]


def test_back_from_another_search_restores_the_results_and_scroll(page, server):
    search(page, "animal")
    scroll_to_end(page)  # every page of results loaded
    everything = paths(page)
    assert len(everything) == server["count"] > 40
    target = page.locator("#results .card").nth(44)
    target.scroll_into_view_if_needed()
    y = page.evaluate("() => window.scrollY")
    assert y > 500
    target.click()
    page.wait_for_selector("#detail[open]")
    page.click("#d-similar")
    wait_results(page, everything)
    assert "path" in fragment(page)
    page.go_back()  # the search as it was: every result, scrolled where it was, the photo open over it
    page.wait_for_selector("#detail[open]")
    assert viewer_on(page) == everything[44]
    assert paths(page) == everything and fragment(page)["q"] == "animal"
    assert abs(page.evaluate("() => window.scrollY") - y) < 5
    page.go_back()
    page.wait_for_selector("#detail", state="hidden")
    assert paths(page) == everything and abs(page.evaluate("() => window.scrollY") - y) < 5


def test_an_address_with_a_photo_opens_it_over_its_search(page, server):
    found = search(page, "goldfish")
    page.locator("#results .card").nth(3).click()
    page.wait_for_selector("#detail[open]")
    address = page.url
    page.goto("about:blank")
    page.goto(address)  # a bookmark: the search runs and the photo opens over it
    page.wait_for_selector("#detail[open]")
    assert viewer_on(page) == found[3] and paths(page) == found
    page.keyboard.press("Escape")  # no entry of its own to go back to: the address loses the photo
    page.wait_for_selector("#detail", state="hidden")
    page.wait_for_function("() => !location.hash.includes('photo=')")
    assert fragment(page)["q"] == "goldfish" and paths(page) == found
