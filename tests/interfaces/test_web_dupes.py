"""The near-duplicates review view (#dupes) in real headless Chromium over real photos with real copies:
resized and recompressed copies of three Flickr photos among Tiny ImageNet photos of five classes."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from conftest import CLASSES, DATA, copy_tiny
from PIL import Image
from test_web_app import chromium, serving

FLICKR = DATA / "flickr8k-500" / "images"


def _copies(src, folder) -> list[str]:
    """The photo itself, a copy resized to 60 % and one recompressed at quality 50."""
    im = Image.open(src).convert("RGB")
    orig = folder / src.name
    shutil.copy2(src, orig)
    small = im.resize((im.width * 3 // 5, im.height * 3 // 5), Image.Resampling.LANCZOS)
    small.save(folder / f"{src.stem}_small.jpg", quality=85)
    im.save(folder / f"{src.stem}_q50.jpg", quality=50)
    return [str(orig), str(folder / f"{src.stem}_small.jpg"), str(folder / f"{src.stem}_q50.jpg")]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    if not FLICKR.is_dir():
        pytest.skip(f"the view is checked on real photos, not found at {FLICKR}")
    root = tmp_path_factory.mktemp("dupes")
    photos = root / "photos"
    copy_tiny(photos, per_class=4, classes=[c for c in CLASSES if c != "n04487081"])  # 3 trolleybuses look alike
    (photos / "copies").mkdir()
    sources = sorted(FLICKR.glob("*.jpg"))
    groups = [_copies(src, photos / "copies") for src in sources[:3]]
    with serving(photos, root / "db") as base, chromium() as browser:
        yield {"base": base, "groups": groups, "browser": browser, "photos": photos, "db": root / "db",
               "spare": sources[3]}


@pytest.fixture
def page(world):
    ctx = world["browser"].new_context(viewport={"width": 1280, "height": 860})
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(world["base"] + "/#dupes")
    yield pg
    ctx.close()
    assert not errors, errors


def _groups(page) -> list[dict]:
    page.wait_for_function("() => !document.querySelector('#dupes-message').textContent.startsWith('grouping')")
    return page.eval_on_selector_all(".dupe-group", """gs => gs.map(g => ({
        title: g.querySelector('h3').textContent,
        paths: [...g.querySelectorAll('.card')].map(c => c.dataset.path),
        keep: [...g.querySelectorAll('.card.keep')].map(c => c.dataset.path)}))""")


def test_groups_with_their_keeper_and_similarity(page, world):
    shown = _groups(page)
    assert sorted(sorted(g["paths"]) for g in shown) == sorted(sorted(g) for g in world["groups"])  # none over-grouped
    for g in shown:
        original = next(p for p in g["paths"] if not p.endswith(("_small.jpg", "_q50.jpg")))
        assert g["keep"] == [original] and g["paths"][0] == original  # the keeper marked, shown first
        assert "3 photos" in g["title"] and "similarity 0." in g["title"]
    page.wait_for_function("() => [...document.querySelectorAll('.dupe-group img')].every(i => i.complete)")
    assert page.eval_on_selector_all(".dupe-group img", "is => is.every(i => i.naturalWidth > 0)")  # thumbnails
    assert page.locator(".card.keep .keep-badge").first.is_visible()
    assert "3 groups" in page.inner_text("#dupes-message")
    assert page.locator("#search-view").is_hidden()


def test_keyboard_review_and_threshold_in_the_url(page, world):
    _groups(page)
    page.focus("#threshold")
    page.keyboard.press("Tab")  # the Group button
    page.keyboard.press("Tab")  # the first photo of the first group
    first = page.evaluate("() => document.activeElement.dataset.path")
    assert first in [g[0] for g in world["groups"]]
    page.keyboard.press("Enter")
    page.wait_for_selector("#detail[open]")
    page.wait_for_function("() => document.querySelector('#d-facts').textContent.includes('Size')")
    assert page.inner_text("#d-name") == first.split("/")[-1] and page.inner_text("#d-pos") == "1 of 3"
    page.keyboard.press("ArrowRight")
    assert page.inner_text("#d-pos") == "2 of 3"
    page.keyboard.press("Escape")
    page.wait_for_selector("#detail", state="hidden")
    page.fill("#threshold", "0.999")
    page.press("#threshold", "Enter")
    page.wait_for_function("() => location.hash === '#dupes&threshold=0.999'")
    page.wait_for_function("() => document.querySelector('#dupes-message').textContent.includes('0.999')")
    strict = _groups(page)
    assert len(strict) < 3
    page.go_back()
    page.wait_for_function("() => document.querySelector('#dupes-message').textContent.includes('3 groups')")
    assert len(_groups(page)) == 3


def test_the_groups_follow_the_collection(page, world):
    """Grouping is cached per collection generation: an index run that adds a copy is seen on reload."""
    assert len(_groups(page)) == 3
    _copies(world["spare"], world["photos"] / "copies")
    subprocess.run([sys.executable, "-m", "pixseek", "index", str(world["photos"]), "--db", str(world["db"]),
                    "--no-progress"], check=True, capture_output=True)
    page.reload()
    page.wait_for_function("() => document.querySelector('#dupes-message').textContent.includes('4 groups')")
    assert len(_groups(page)) == 4
