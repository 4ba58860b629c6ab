"""A photo's tags on real photos: one list for result cards, the detail view and `pixseek tag`; everyday words;
nothing shown below the calibrated threshold."""

from __future__ import annotations

import shutil

import pytest

from pixseek import Collection
from pixseek.search.tags import CARD_TAGS, load_calibration
from tests.conftest import DATA, PHOTOS, TINY_VAL, cli_json

FLICKR = DATA / "flickr8k-500" / "images"
TABBY = "n02123045"
PHOTO_NAMES = ("skimage_chelsea.png", "skimage_coffee.png", "skimage_motorcycle_left.png", "skimage_astronaut.png")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    if not FLICKR.is_dir() or not PHOTOS.is_dir() or not TINY_VAL.is_dir():
        pytest.skip(f"real photos not found under {DATA}")
    root = tmp_path_factory.mktemp("tags")
    photos = root / "photos"
    photos.mkdir()
    for f in sorted(FLICKR.iterdir())[:30]:
        shutil.copy2(f, photos / f.name)
    for name in PHOTO_NAMES:
        shutil.copy2(PHOTOS / name, photos / name)
    for f in sorted((TINY_VAL / TABBY).glob("*.JPEG"))[:3]:
        shutil.copy2(f, photos / f"tabby_{f.name}")
    col = Collection.open(root / "db")
    col.index([photos], progress=False)
    return {"col": col, "db": root / "db", "photos": photos}


def test_card_tags_are_the_first_tags_of_the_photo_list(world):
    """Whatever the query, a result card shows the first tags of the list the detail view and `tag` give."""
    col = world["col"]
    checked = 0
    for query in ("dog", "people on a beach", "cat", "man"):
        for hit in col.search(query, k=8, min_score=0):
            listed = [t.tag for t in col.tag(hit.path, k=8)]
            assert (hit.tags or []) == listed[:CARD_TAGS], (query, hit.path, hit.tags, listed)
            checked += 1
    assert checked >= 30


def test_http_detail_tags_match_the_card(world):
    """The page's detail view asks /api/tag; the card's tags are its first ones."""
    from fastapi.testclient import TestClient

    from pixseek.interfaces.http import create_app

    client = TestClient(create_app(world["db"]))
    hits = client.get("/api/search", params={"q": "dog", "k": 5, "min_score": 0}).json()["results"]
    assert hits
    for hit in hits:
        tags = client.get("/api/tag", params={"path": hit["path"], "k": 8}).json()
        assert (hit["tags"] or []) == [t["tag"] for t in tags][:CARD_TAGS]


def test_a_tabby_cat_is_tagged_cat(world):
    chelsea = str(world["photos"] / "skimage_chelsea.png")
    tags = [t["tag"] for t in cli_json("tag", chelsea, "-k", "10", db=world["db"])]
    assert "cat" in tags, tags
    assert "tabby" in tags or "tabby cat" in tags or tags.index("cat") < 3, tags


def test_no_tag_is_shown_below_the_threshold(world):
    col = world["col"]
    threshold = float(load_calibration()["threshold"])
    assert 0.3 <= threshold < 1
    every = [t for f in sorted(world["photos"].iterdir()) for t in col.tag(str(f), k=50)]
    assert every and all(t.score >= threshold for t in every)
    assert any(len(col.tag(str(f), k=50)) < 50 for f in world["photos"].iterdir())  # the threshold cuts lists short


def test_everyday_words_replace_raw_imagenet_guesses(world):
    """Tags are words people use: no flickr photo of the 30 gets an ImageNet name a caption could not back."""
    col = world["col"]
    calibration = load_calibration()
    everyday = {str(w) for w in calibration["words"]}
    lists = [[t.tag for t in col.tag(str(f), k=3)] for f in sorted(world["photos"].glob("*.jpg"))]
    shown = [t for tags in lists for t in tags]
    assert shown and sum(t in everyday for t in shown) / len(shown) >= 0.8
