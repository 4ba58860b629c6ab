"""Search by the text in photos: real Flickr8k photos (and scikit-image's coffee cup) with signs drawn on them,
indexed with --ocr; words and substrings of the signs find them first, text:"..." restricts, the visual match
orders photos whose text matches alike, and a query no photo's text matches is answered as without OCR."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from pixseek import Collection
from pixseek.errors import PixseekError
from pixseek.search.request import parse_text
from tests.conftest import DATA, cli_json

FLICKR = DATA / "flickr8k-500" / "images"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
pytestmark = pytest.mark.skipif(not FLICKR.is_dir() or not FONT.is_file(),
                                reason="needs the shared Flickr8k photos and the DejaVu fonts")
SIGNS = {"plate.jpg": "RE16 TGK", "sign.jpg": "CAFE PARIS 1978", "coffee_street.jpg": "COFFEE"}


def _draw(src: Path, dest: Path, text: str, letters: int = 30) -> None:
    """`text` on a white sign in the photo's top-left corner, letters about 0.73 * `letters` px tall."""
    im = Image.open(src).convert("RGB").resize((400, 300))
    d = ImageDraw.Draw(im)
    font = ImageFont.truetype(str(FONT), letters)
    x0, y0, x1, y1 = d.textbbox((20, 16), text, font=font)
    d.rectangle((10, 10, x1 + 10, y1 + 8), fill="white")
    d.text((20, 16), text, font=font, fill="black")
    im.save(dest, quality=92)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("photo_text")
    folder = root / "photos"
    folder.mkdir()
    plain = sorted(FLICKR.glob("*.jpg"))
    for p in plain[:18]:
        shutil.copy2(p, folder / p.name)
    for (name, text), src in zip(SIGNS.items(), plain[18:]):
        _draw(src, folder / name, text)
    _draw(DATA / "photos" / "skimage_coffee.png", folder / "coffee_cup.jpg", "COFFEE", letters=26)
    col = Collection.open(root / "db")
    report = col.index([folder], progress=False, ocr=True)
    assert report.text["with_text"] == 4, report.text
    plain_col = Collection.open(root / "plain")
    plain_col.index([folder], progress=False)
    yield {"col": col, "plain": plain_col, "folder": folder, "db": root / "db"}
    col.close()
    plain_col.close()


def _names(hits) -> list[str]:
    return [Path(h.path).name for h in hits]


@pytest.mark.parametrize("query, first", [
    ("paris", "sign.jpg"), ("ARIS", "sign.jpg"), ("re16", "plate.jpg"),
    ("REI6", "plate.jpg"),  # an OCR confusion (1 read as I) folded on both sides
    ("TGK", "plate.jpg"), ('"cafe paris"', "sign.jpg"),
])
def test_a_word_or_a_substring_of_a_sign_finds_it_first(world, query, first):
    hits = world["col"].search(query, k=5)
    assert _names(hits)[0] == first
    assert hits[0].text["matched"] == SIGNS.get(first)
    x0, y0, x1, y1 = hits[0].text["box"]
    assert 0 <= x0 < x1 <= 400 and 0 <= y0 < y1 <= 300 and y1 < 80  # the sign is in the top-left corner


def test_an_unknown_word_no_text_holds_is_still_an_error(world):
    for col in (world["col"], world["plain"]):  # "RE16 TGK" does not hold "e16t": across the space
        with pytest.raises(PixseekError, match="ignored unknown word 'E16T'"):
            col.search("E16T")


def test_photos_whose_text_matches_are_ordered_by_the_visual_match(world):
    hits = world["col"].search("coffee", k=5)
    assert _names(hits)[:2] == ["coffee_cup.jpg", "coffee_street.jpg"]  # both say COFFEE; the cup looks it
    assert all(h.text is None for h in hits[2:])


def test_text_filter_restricts(world):
    col = world["col"]
    assert _names(col.search('text:"TGK"', k=10)) == ["plate.jpg"]
    assert sorted(_names(col.search("text:coffee", k=10))) == ["coffee_cup.jpg", "coffee_street.jpg"]
    assert _names(col.search('dog text:"paris"', k=10)) == ["sign.jpg"]
    assert list(col.search('text:"no such words"', k=10)) == []
    with pytest.raises(PixseekError, match="text: needs"):
        col.search('text:""')


def test_queries_no_text_matches_are_answered_as_without_ocr(world):
    for query in ("dog", "two children playing in the snow", "dog -grass", "espresso"):
        with_ocr, without = world["col"].search(query, k=10), world["plain"].search(query, k=10)
        assert [(h.path, h.score, h.tags) for h in with_ocr] == [(h.path, h.score, h.tags) for h in without]
        assert all(h.text is None for h in with_ocr)


def test_parse_takes_text_filters_out_and_parses_the_rest_once():
    q = parse_text('receipt text:"RE16 TGK" 2:coffee -the text:abc')
    assert q.required == ["RE16 TGK", "abc"] and q.rest == "receipt 2:coffee -the" and q.words == ["receipt", "coffee"]
    assert [(t.text, t.weight) for t in q.terms] == [("receipt", 1.0), ("coffee", 2.0), ("the", -1.0)]
    broken = parse_text('text:abc "open quote')
    assert broken.words == [] and broken.error is not None


def test_cli_json_says_which_text_matched(world):
    found = cli_json("search", "RE16", db=world["db"])
    assert found["ignored"] == []  # an unknown word that the photo text holds is not "ignored"
    top = found["results"][0]
    assert top["path"].endswith("plate.jpg") and top["text"]["matched"] == "RE16 TGK" and len(top["text"]["box"]) == 4
    read = cli_json("text", str(world["folder"] / "sign.jpg"), db=world["db"])
    assert read["source"] == "catalog" and [t["text"] for t in read["lines"]] == ["CAFE PARIS 1978"]
    status = cli_json("status", db=world["db"])
    assert status["text"] == {"ocr": True, "read": 22, "with_text": 4}


def test_http_hits_carry_the_matched_text(world):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from pixseek.interfaces.http import create_app

    client = TestClient(create_app(world["db"]))
    found = client.get("/api/search", params={"q": 'text:"cafe"', "k": 5}).json()
    assert [Path(h["path"]).name for h in found["results"]] == ["sign.jpg"]
    assert found["results"][0]["text"]["matched"] == "CAFE PARIS 1978"
    plain = client.get("/api/search", params={"q": "dog", "k": 5}).json()
    assert all("text" not in h for h in plain["results"])  # absent (null) where no photo text matched
