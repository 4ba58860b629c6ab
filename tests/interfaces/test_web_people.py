"""The People view (#people) in real headless Chromium over real CelebA photos indexed with --faces: a card
per person with their photo count, naming one, and a click listing that person's photos."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_web_app import chromium, serving

from tests.ingest.test_faces import FACES, OTHERS, PEOPLE, lay_out

pytestmark = pytest.mark.skipif(not (FACES / "labels.tsv").is_file() or not OTHERS[0].is_file(),
                                reason="needs the shared CelebA faces and photos")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("web-people")
    who = lay_out(root / "photos", per_person=3)
    with serving(root / "photos", root / "db", "--faces") as base, chromium() as browser:
        yield {"base": base, "browser": browser, "who": who, "photos": root / "photos"}


def test_people_are_listed_named_and_open_their_photos(world):
    ctx = world["browser"].new_context(viewport={"width": 1280, "height": 860})
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(world["base"] + "/#people")
    page.wait_for_selector(".person")
    titles = page.eval_on_selector_all(".person h3", "hs => hs.map(h => h.textContent)")
    assert len(titles) == 3 and all(t.endswith("· 3 photos") for t in titles)
    page.once("dialog", lambda d: d.accept("Anna"))
    page.locator(".person").first.get_by_role("button", name="Name").click()
    page.wait_for_function("() => [...document.querySelectorAll('.person h3')].some(h => h.textContent.startsWith('Anna'))")
    anna = page.locator(".person", has=page.locator("h3", has_text="Anna"))
    first = anna.locator(".card").get_attribute("data-path")
    anna.locator(".card").click()
    page.wait_for_function("() => location.hash.startsWith('#q=Anna')")
    page.wait_for_selector("#results .card")
    shown = {Path(p).name for p in page.eval_on_selector_all("#results .card", "cs => cs.map(c => c.dataset.path)")}
    person = world["who"][Path(first).name]
    assert person in PEOPLE and shown == {n for n, w in world["who"].items() if w == person}
    assert page.eval_on_selector_all("#people-names option", "os => os.map(o => o.value)") == ["Anna"]  # completes
    other = next(n for n, w in world["who"].items() if w == PEOPLE[2])
    page.goto(world["base"] + "/#" + f"path={world['photos']}/{other}")  # a detail view outlines the faces
    page.wait_for_selector("#results .card")
    page.locator("#results .card").first.click()
    page.wait_for_selector("#d-frame .face-box")
    boxes = page.eval_on_selector_all("#d-frame .face-box", "bs => bs.map(b => b.title)")
    assert len(boxes) >= 1 and (boxes[0] == "Anna" or boxes[0].startswith("person "))
    opened = page.eval_on_selector("#d-name", "h => h.textContent")
    page.locator("#d-frame .face-box").first.click()  # lists that face's person's photos
    page.wait_for_function("() => location.hash.startsWith('#q=')")
    page.wait_for_selector("#results .card")
    listed = {Path(p).name for p in page.eval_on_selector_all("#results .card", "cs => cs.map(c => c.dataset.path)")}
    assert opened in listed and {world["who"][n] for n in listed} == {world["who"][opened]}
    ctx.close()
    assert not errors, errors
