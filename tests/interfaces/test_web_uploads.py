# ruff: noqa: F811  (the shared fixtures of test_web_app are imported, then asked for by name)
"""Uploads, the favicon and selecting photos, in real headless Chromium against `pixseek serve` over real
photos, at desktop and phone sizes: an upload is sent once (its searches, region searches and tags name
it by id), a damaged one gets a message and no history entry, no request of the page's is a 404, and
several photos selected download as one zip of their originals (streamed)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from test_web_app import _open, browser, fragment, page_at_each_size, paths, search, server, wait_results  # noqa: F401

page = page_at_each_size()


def test_an_upload_is_sent_once(page, server):
    photo = server["photos"] / "full" / "skimage_astronaut.png"
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if r.method == "POST" else None)
    page.evaluate("""() => { window.sentBytes = []; const send = window.fetch;  // what each request carries
      window.fetch = (url, options) => {
        const body = options && options.body;
        if (body instanceof FormData) window.sentBytes.push([...body.values()].reduce((n, v) => n + (v.size || 0), 0));
        else if (body) window.sentBytes.push(String(body).length);
        return send(url, options); }; }""")
    home = paths(page)
    page.set_input_files("#file", str(photo))
    whole = wait_results(page, home)
    assert whole[0] == str(photo)
    page.wait_for_selector("#query-tags .chip")
    page.wait_for_function("() => document.getElementById('query-img').naturalWidth > 0")
    for field, value in (("#x0", "300"), ("#y0", "0"), ("#x1", "512"), ("#y1", "320")):
        page.fill(field, value)
    with page.expect_response(lambda r: "/tags?" in r.url and "box=" in r.url):  # the region's tags, by id too
        page.press("#y1", "Enter")
    wait_results(page, whole)  # a region of it: searched by the upload's id too
    assert len(sent) == 1 and page.evaluate("() => window.sentBytes") == [photo.stat().st_size], sent
    assert page.evaluate("() => document.getElementById('query-img').src.startsWith('blob:')")  # not fetched back


def test_a_damaged_upload_is_refused_without_a_history_entry(page, server, tmp_path):
    good = next((server["photos"] / "dated").glob("*.jpg")).read_bytes()
    damaged = tmp_path / "damaged.jpg"
    damaged.write_bytes(good[: len(good) // 3])  # a JPEG cut short
    before = (page.url, page.evaluate("() => history.length"))
    page.set_input_files("#file", str(damaged))
    page.wait_for_selector("#message.error")
    assert "could not be read" in page.inner_text("#message") and "Choose another image" in page.inner_text("#message")
    assert (page.url, page.evaluate("() => history.length")) == before


def test_no_request_of_the_page_is_missing(browser, server):
    ctx = browser.new_context()
    pg = ctx.new_page()
    missing: list[str] = []
    pg.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    pg.goto(server["base"] + "/")
    pg.wait_for_selector("#results .card")
    pg.wait_for_timeout(500)
    icon = pg.evaluate("() => fetch(document.querySelector('link[rel=icon]').href)"
                       ".then(r => [r.status, r.headers.get('content-type')])")
    ctx.close()
    assert not missing and icon == [200, "image/svg+xml"], (missing, icon)


def test_select_several_photos_and_download_a_zip(page, server):
    found = search(page, "goldfish")
    page.wait_for_selector("#words-panel:not([hidden])", state="attached")  # the layout above the cards settled
    page.wait_for_load_state("networkidle")
    cards = page.locator("#results .card")
    cards.nth(0).locator(".select").click(force=True)  # the check on a card (shown on hover, focus or selecting)
    assert page.inner_text("#selection-count") == "1 photo selected"
    cards.nth(2).click(modifiers=["Shift"])  # Shift: the run from the last one chosen
    assert page.inner_text("#selection-count") == "3 photos selected"
    assert page.locator("#detail").is_hidden()  # selecting is not opening
    cards.nth(4).focus()
    page.keyboard.press("x")  # the keyboard selects the focused card
    assert page.inner_text("#selection-count") == "4 photos selected"
    cards.nth(1).click()  # while photos are selected, a click selects too
    assert page.inner_text("#selection-count") == "3 photos selected"
    chosen = [found[i] for i in (0, 2, 4)]
    with page.expect_download() as caught:
        page.click("#select-download")
    data = Path(caught.value.path()).read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert sorted(z.namelist()) == sorted(Path(p).name for p in chosen)
        for p in chosen:
            assert z.read(Path(p).name) == Path(p).read_bytes()
    page.click("#select-clear")
    assert page.locator("#selection").is_hidden()
    cards.nth(3).click()  # nothing selected: a click opens the photo again
    page.wait_for_selector("#detail[open]")


def test_the_zip_is_streamed_and_checks_every_path(server):
    import httpx

    some = [str(p) for p in sorted((server["photos"] / "full").iterdir())[:3]]
    with httpx.stream("POST", server["base"] + "/api/zip", data={"path": some}) as r:
        assert r.status_code == 200 and "content-length" not in r.headers  # sent as it is written
        body = r.read()
    assert sorted(zipfile.ZipFile(io.BytesIO(body)).namelist()) == sorted(Path(p).name for p in some)
    outside = httpx.post(server["base"] + "/api/zip", data={"path": [some[0], "/etc/passwd"]})
    assert outside.status_code == 404 and "not an indexed image" in outside.json()["error"]


def test_name_the_selected_photos(page, server):
    import httpx

    found = search(page, "animal")
    page.wait_for_load_state("networkidle")
    fish = [p for p in found if "n01443537" in p][:3]
    assert len(fish) == 3, found
    for p in fish:
        page.locator(f'#results .card[data-path="{p}"]').click(modifiers=["Control"])
    assert page.inner_text("#selection-count") == "3 photos selected"
    page.click("#select-name")
    page.fill("#teach-name", "glubfish")
    page.click("#teach-save")
    taught = wait_results(page, found)
    assert fragment(page) == {"q": "glubfish"} and page.locator("#selection").is_hidden()
    assert sum("n01443537" in p or "/dated/fish_" in p for p in taught[:5]) >= 4, taught[:5]
    concepts = {c["name"]: c for c in httpx.get(server["base"] + "/api/concepts").json()}
    assert concepts["glubfish"]["examples"] == 3
    assert httpx.delete(server["base"] + "/api/concepts/glubfish").status_code == 200
