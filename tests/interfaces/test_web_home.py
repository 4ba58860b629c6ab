# ruff: noqa: F811  (the shared fixtures of test_web_app are imported, then asked for by name)
"""The home page and the page's words, in real headless Chromium against `pixseek serve` over real photos, at
desktop and phone sizes: the collection's photos newest first by month before anything is typed, example
searches from its own tags, filters without words, and messages without CLI flags, patterns or validator
wording (from the page and from the API)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_web_app import _open, browser, fragment, page_at_each_size, paths, search, server, wait_results  # noqa: F401

DEVELOPER = re.compile(r"--\w|should (be|have|match)|pattern|Input |\^\[|\{32\}|efficientnet|glove|validation", re.I)


def scroll_to_end(page, total: int) -> None:
    for _ in range(30):
        if len(paths(page)) >= total and page.locator("#more").is_hidden():
            return
        page.mouse.wheel(0, 20000)
        page.wait_for_timeout(150)
    raise AssertionError("the list never ended")


page = page_at_each_size()


def test_home_shows_the_photos_newest_first_by_month(page, server):
    first = wait_results(page)  # nothing typed: the collection's photos
    assert first and page.inner_text("#message").startswith(f"{server['count']} photos, newest first")
    scroll_to_end(page, server["count"])  # infinite scroll brings every photo
    shown = paths(page)
    assert len(shown) == len(set(shown)) == server["count"]
    # every photo's file time is May 2024 but the three dated ones' EXIF dates (June 2019): those come last
    assert [Path(p).name for p in shown[-3:]] == ["fish_2.jpg", "fish_1.jpg", "fish_0.jpg"]
    assert page.eval_on_selector_all("#results .month", "hs => hs.map(h => h.textContent)") == ["May 2024", "June 2019"]
    footer = page.inner_text("#status")
    assert footer.startswith(f"{server['count']} photos · taken June 2019 to May 2024") and not DEVELOPER.search(footer)


def test_example_searches_come_from_the_collections_tags(page):
    wait_results(page)
    page.wait_for_selector("#examples a")
    words = page.eval_on_selector_all("#examples a", "as => as.map(a => a.textContent)")
    assert 2 <= len(words) <= 6
    before = paths(page)
    page.click("#examples a >> nth=0")
    found = wait_results(page, before)
    assert fragment(page) == {"q": words[0]} and found
    assert "confident match" in page.inner_text("#message")  # the collection holds what it suggests
    assert page.locator("#examples").is_hidden()


def test_filters_without_words_browse_and_a_relative_folder_is_the_collections(page, server):
    home = wait_results(page)
    page.locator("#filters-panel summary").click()
    page.fill("#f-under", "dated")  # relative: below the collection's folder, not the server's working folder
    page.click("#filters button[type=submit]")
    dated = wait_results(page, home)
    assert [Path(p).name for p in dated] == ["fish_2.jpg", "fish_1.jpg", "fish_0.jpg"]
    assert page.inner_text("#message").startswith("3 photos match the filters") and fragment(page)["under"] == "dated"
    search(page, "goldfish")  # the filter stays with words
    assert all("/dated/" in p for p in paths(page))
    page.fill("#q", "")  # an empty search: back to browsing, not the old results
    page.press("#q", "Enter")
    page.wait_for_function("() => !location.hash.includes('q=')")
    assert wait_results(page, []) == dated


def test_messages_are_in_the_users_words(page):
    wait_results(page)
    assert page.get_attribute("#q", "maxlength") == "500"
    page.fill("#q", "qzxqzxqzx")  # an unknown word: said plainly, and no HTTP error status
    failed: list[int] = []
    page.on("response", lambda r: failed.append(r.status) if r.status >= 400 else None)
    page.press("#q", "Enter")
    page.wait_for_selector("#message.error")
    assert "does not know the word 'qzxqzxqzx'" in page.inner_text("#message") and not failed
    page.evaluate("() => { location.hash = 'q=dog&after=2024-01-01&before=2020-01-01'; }")
    page.wait_for_function("() => document.querySelector('#message').textContent.includes('swap')")
    text = page.inner_text("#message")
    assert "'taken after' date (2024-01-01) is later than the 'taken before' date (2020-01-01)" in text
    assert not DEVELOPER.search(text), text


@pytest.mark.parametrize("route, params, expected", [
    ("/api/search", {"q": "dog", "after": "2026-12-31", "before": "2020-01-01"}, "swap the two dates"),
    ("/api/search", {"q": "x" * 600}, "The search is too long: at most 500 characters"),
    ("/api/search", {"q": "dog", "k": 0}, "The number of results must be at least 1"),
    ("/api/search", {"q": "dog", "after": "soon"}, "write it as YYYY-MM-DD"),
    ("/api/duplicates", {"threshold": 2}, "The similarity must be at most 1"),
    ("/api/uploads/nothex", {}, "upload the image again"),
    ("/api/browse", {"offset": -1}, "The position to start from must be at least 0"),
])
def test_api_errors_are_in_the_users_words(server, route, params, expected):
    import httpx

    r = httpx.get(server["base"] + route, params=params)
    assert r.status_code in (400, 404) and expected in r.json()["error"], r.json()
    assert not DEVELOPER.search(r.json()["error"]), r.json()


def test_unknown_words_are_answers_not_errors(server):
    import httpx

    base = server["base"]
    words = httpx.get(f"{base}/api/words", params={"word": "qzxqzxqzx"})
    assert words.status_code == 200 and words.json() == []
    found = httpx.get(f"{base}/api/search", params={"q": "qzxqzxqzx"})
    assert found.status_code == 200 and found.json()["results"] == [] and "qzxqzxqzx" in found.json()["message"]
    relative = httpx.get(f"{base}/api/browse", params={"under": "dated"}).json()
    assert relative["total"] == 3 and all("/dated/fish_" in r["path"] for r in relative["results"])
    cov = httpx.get(f"{base}/api/coverage").json()
    assert cov["photos"] == 50 and cov["first"].startswith("2019-06-01") and cov["last"].startswith("2024-05-01")
    assert cov["root"] == str(server["photos"])


def test_a_filter_that_empties_the_answer_says_which_and_clears_in_one_click(page):
    wait_results(page)
    page.evaluate("() => { location.hash = 'q=goldfish&after=2030-01-01&type=jpg'; }")
    page.wait_for_selector("#filter-note:not([hidden]) button")
    note = page.inner_text("#filter-note")
    assert "No photo is taken on or after 2030-01-01." in note and "taken 2019-06-01 to 2024-05-01" in note, note
    assert page.locator("#weaker").is_hidden() and page.locator("#more").is_hidden()
    page.click("#filter-note button:text('Clear that filter')")  # the other filter stays
    found = wait_results(page)
    assert fragment(page) == {"q": "goldfish", "type": "jpg"} and all(p.lower().endswith((".jpg", ".jpeg")) for p in found)
    assert page.locator("#filter-note").is_hidden()
    page.evaluate("() => { document.getElementById('filters-panel').open = true; }")
    assert page.inner_text("#f-dates-hint") == "Photos taken June 2019 to May 2024"
    page.evaluate("() => { location.hash = 'under=/nowhere'; }")  # a folder outside the collection
    page.wait_for_selector("#filter-note:not([hidden]) button")
    assert "choose one of the collection's folders" in page.inner_text("#message")
    page.click("#filter-note button:text('Clear filters')")
    page.wait_for_function("() => location.hash === '' || location.hash === '#'")
    assert len(wait_results(page)) > 0
