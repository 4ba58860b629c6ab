"""The near-duplicates review view (#dupes) in real headless Chromium over real photos with real copies:
resized and recompressed copies of three Flickr photos among Tiny ImageNet photos of five classes, and a
burst of two street shots dated 2 s apart."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from conftest import CLASSES, DATA, copy_tiny
from PIL import Image
from test_web_a11y import AXE, audit
from test_web_app import chromium, serving

FLICKR = DATA / "flickr8k-500" / "images"
LUND = DATA / "geotagged"


def _burst(folder) -> list[str]:
    """Two consecutive street shots with EXIF dates 2 s apart."""
    out = []
    for j, i in enumerate((9, 10)):
        im = Image.open(LUND / f"lund_{i:02d}.jpg")
        exif = im.getexif()
        exif.get_ifd(0x8769)[0x9003] = f"2024:05:01 10:00:{2 * j:02d}"  # DateTimeOriginal
        im.save(folder / f"shot-{j}.jpg", quality=92, exif=exif)
        out.append(str(folder / f"shot-{j}.jpg"))
    return out


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
    burst = _burst(photos / "copies")
    with serving(photos, root / "db") as base, chromium() as browser:
        yield {"base": base, "groups": groups, "browser": browser, "photos": photos, "db": root / "db",
               "spare": sources[3], "burst": burst}


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
        keep: [...g.querySelectorAll('.card.keep')].map(c => c.dataset.path),
        why: [...g.querySelectorAll('.dupe-why')].map(w => w.textContent)}))""")


def test_groups_with_their_keeper_and_similarity(page, world):
    shown = _groups(page)
    copies = [g for g in shown if "burst" not in g["title"]]
    assert sorted(sorted(g["paths"]) for g in copies) == sorted(sorted(g) for g in world["groups"])  # none over-grouped
    threshold = page.input_value("#threshold")
    for g in copies:
        original = next(p for p in g["paths"] if not p.endswith(("_small.jpg", "_q50.jpg")))
        assert g["keep"] == [original] and g["paths"][0] == original  # the keeper marked, shown first
        assert g["why"] == ["resized", "re-encoded"] if g["paths"][1].endswith("_small.jpg") else ["re-encoded", "resized"]
        assert "3 copies" in g["title"] and f"threshold {threshold})" in g["title"]
        assert float(g["title"].split("similarity ")[1].split(" ")[0]) >= float(threshold)  # header and groups agree
    bursts = [g for g in shown if "burst" in g["title"]]
    assert [sorted(g["paths"]) for g in bursts] == [world["burst"]]
    assert bursts[0]["keep"] == [] and "nothing suggested to delete" in bursts[0]["title"]  # no keep badge
    page.wait_for_function("() => [...document.querySelectorAll('.dupe-group img')].every(i => i.complete)")
    assert page.eval_on_selector_all(".dupe-group img", "is => is.every(i => i.naturalWidth > 0)")  # thumbnails
    assert page.locator(".card.keep .keep-badge").first.is_visible()
    assert "4 groups" in page.inner_text("#dupes-message")
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
    assert len(strict) < 4
    page.go_back()
    page.wait_for_function("() => document.querySelector('#dupes-message').textContent.includes('4 groups')")
    assert len(_groups(page)) == 4


def test_the_groups_follow_the_collection(page, world):
    """Grouping is cached per collection generation: an index run that adds a copy is seen on reload."""
    assert len(_groups(page)) == 4
    _copies(world["spare"], world["photos"] / "copies")
    subprocess.run([sys.executable, "-m", "pixseek", "index", str(world["photos"]), "--db", str(world["db"]),
                    "--no-progress"], check=True, capture_output=True)
    page.reload()
    page.wait_for_function("() => document.querySelector('#dupes-message').textContent.includes('5 groups')")
    assert len(_groups(page)) == 5


def test_a_threshold_below_the_bound_is_refused_in_words(page, world):
    _groups(page)
    page.evaluate("() => { location.hash = '#dupes&threshold=0.0001'; }")
    page.wait_for_function("() => document.querySelector('#dupes-message').classList.contains('error')")
    assert "from 0.45 to 1" in page.inner_text("#dupes-message")
    assert page.locator(".dupe-group").count() == 0


@pytest.mark.skipif(not AXE.exists(), reason=f"axe-core is not installed at {AXE}: run ./install.sh (npm install axe-core)")
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_serious_violations_on_duplicate_groups(world, scheme):
    """The review page with groups on it (copies with a keeper, a burst): axe-core finds nothing serious."""
    ctx = world["browser"].new_context(viewport={"width": 1280, "height": 860}, color_scheme=scheme, bypass_csp=True)
    try:
        pg = ctx.new_page()
        pg.goto(world["base"] + "/#dupes")
        pg.wait_for_selector(".dupe-group .card.keep")
        assert audit(pg) == []
    finally:
        ctx.close()


def test_the_viewer_over_the_groups_is_a_history_entry(page, world):
    groups = _groups(page)
    second = groups[1]["paths"]
    page.locator(".dupe-group").nth(1).locator(".card").nth(1).click()
    page.wait_for_selector("#detail[open]")
    page.wait_for_function("p => location.hash.startsWith('#dupes') && location.hash.includes(encodeURIComponent(p))",
                           arg=second[1])
    page.go_back()  # closes the viewer; the groups stay as they were
    page.wait_for_selector("#detail", state="hidden")
    assert page.url.endswith("#dupes") and _groups(page) == groups
    page.go_forward()
    page.wait_for_selector("#detail[open]")
    assert page.inner_text("#d-name") == second[1].split("/")[-1] and page.inner_text("#d-pos") == "2 of 3"
    address = page.url
    page.goto("about:blank")
    page.goto(address)  # a bookmark: the groups, then the photo within its group
    page.wait_for_selector("#detail[open]")
    page.wait_for_function("() => document.getElementById('d-pos').textContent === '2 of 3'")
