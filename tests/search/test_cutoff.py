"""Where confident matches end: calibrated per bridge and per query, it flags the weaker results and hides none;
only a min_score the user gives drops results."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import PHOTOS, copy_tiny, requires_data

from pixseek import Collection
from pixseek.errors import PixseekError
from pixseek.search.cutoff import MIN_SCORE, RELATIVE, drop_below, query_kind, shipped_cutoffs, weak_flags
from pixseek.search.joint_space import packaged_space_path
from tests.search.test_photo_text import FLICKR, FONT, world  # noqa: F401 (world: photos with signs, read by OCR)

PHOTO_TEXT_READY = FLICKR.is_dir() and FONT.is_file()

GOLDFISH = "n01443537"


@pytest.fixture(scope="module")
def col(tmp_path_factory):
    """34 real photos: five Tiny ImageNet classes (6 each) and four full-size photos (cat, coffee, rocket,
    motorcycle)."""
    root = tmp_path_factory.mktemp("cutoff")
    copy_tiny(root / "photos", per_class=6)
    for name in ("skimage_chelsea.png", "skimage_coffee.png", "skimage_rocket.jpg", "skimage_motorcycle_left.png"):
        shutil.copy2(PHOTOS / name, root / "photos" / name)
    c = Collection.open(root / "db")
    assert c.index([root / "photos"], progress=False, workers=0).indexed == 34
    yield c
    c.close()


SHIPPED = ("blend", "blend sentence", "conse", "conse sentence", "joint", "joint sentence", "similar")


def test_the_shipped_bridges_and_similar_are_calibrated():
    for name in SHIPPED:
        assert MIN_SCORE[name] is not None and 0 < MIN_SCORE[name] < 1, name
        assert 0 <= RELATIVE[name] < 1, name
    shipped = shipped_cutoffs("efficientnet-lite0", {"joint": str(packaged_space_path("efficientnet-lite0")),
                                                     "mapping": None})
    assert shipped == {k: MIN_SCORE[k] for k in SHIPPED}
    floor = MIN_SCORE["blend"]
    assert weak_flags([floor + 0.01, floor - 0.01], "blend", shipped) == [False, True]
    assert weak_flags([floor - 0.01, floor - 0.02], "blend", shipped) == [True, True]  # nothing confident
    low = min(MIN_SCORE["blend"], MIN_SCORE["blend sentence"]) - 0.01  # each kind of query has its own floor
    assert weak_flags([low], "blend", shipped, "sentence") == weak_flags([low], "blend", shipped) == [True]
    assert weak_flags([0.2, 0.1], "clip", shipped) == [False, False]  # not calibrated: no divider
    assert drop_below(None) == drop_below(0) == float("-inf")  # nothing dropped unless asked
    assert drop_below("0.25") == 0.25


def test_a_query_reads_as_keywords_or_a_sentence():
    for text in ("dog", "dog beach", "dog -grass", "2:sunset sea", '"European fire salamander"'):
        assert query_kind(text) == "keyword", text
    for text in ("a dog on the beach", "dog in snow", "two children playing"):
        assert query_kind(text) == "sentence", text


def test_the_cut_off_adapts_to_the_query():
    """A result far below its query's best is weak even above the floor (where RELATIVE is set)."""
    floor, rel = MIN_SCORE["joint"], RELATIVE["joint"]
    best = floor / rel + 0.2 if rel else 1.0
    flags = weak_flags([best, floor + 0.001], "joint")
    assert flags == [False, bool(rel and floor + 0.001 < rel * best)]


def test_a_collection_with_its_own_spaces_gets_no_default_for_them():
    """The values were calibrated for the shipped encoder and joint space only."""
    own = shipped_cutoffs("efficientnet-lite0", {"joint": "/c/joint.npz", "mapping": "/c/mapping.npz"})
    assert own == {"similar": MIN_SCORE["similar"]}
    assert shipped_cutoffs("efficientnet-lite0", {"joint": "/c/joint.npz", "mapping": None}) == {
        k: MIN_SCORE[k] for k in ("conse", "conse sentence", "similar")}
    assert shipped_cutoffs("clip:/models/vit", {"joint": None, "mapping": None}) == {}


@requires_data
def test_weak_matches_are_flagged_not_dropped(col):
    default = col.search("goldfish", k=100)
    everything = col.search("goldfish", k=100, min_score=0)
    assert len(default) == len(everything) == 34  # all of them, ranked, whatever their scores
    assert [(h.path, h.weak) for h in default] == [(h.path, h.weak) for h in everything]
    flags = [h.weak for h in default]
    assert flags == sorted(flags) and 5 <= default.confident < 34  # the confident ones come first
    assert sum(GOLDFISH in h.path for h in default[:default.confident]) >= 5  # the true matches are confident
    assert all(h.weak for h in default if "coffee" in h.path)
    assert all(h.score >= MIN_SCORE["blend"] for h in default[:default.confident])
    assert default.to_dict()["confident"] == default.confident
    assert {"weak"} <= set(default[0].to_dict()) and default.to_dict()["results"][-1]["weak"] is True


@requires_data
def test_the_k_asked_for_come_back_under_the_defaults(col):
    for k in (1, 10, 33):
        assert len(col.search("goldfish", k=k)) == k
        assert len(col.search("a red car parked on the street", k=k)) == k
    query = next(p for p in (col.folder.parent / "photos" / GOLDFISH).iterdir())
    assert len(col.similar(query, k=20)) == 20


@requires_data
def test_a_query_nothing_fits_has_no_confident_match(col):
    """No elephant among these photos: the nearest are still listed, all weak."""
    hits = col.search("elephant", k=10)
    assert len(hits) == 10 and hits.confident == 0 and all(h.weak for h in hits)


@requires_data
def test_an_explicit_min_score_is_applied(col):
    strict = col.search("goldfish", k=100, min_score=0.5)
    assert strict and all(h.score >= 0.5 for h in strict)
    assert len(strict) < len(col.search("goldfish", k=100, min_score=0.01)) < 34


@requires_data
def test_similar_has_its_own_cut_off(col):
    query = next(p for p in (col.folder.parent / "photos" / GOLDFISH).iterdir())
    default = col.similar(query, k=100)
    everything = col.similar(query, k=100, min_score=0)
    assert len(default) == len(everything) == 33
    assert 0 < default.confident < 33 and all(h.weak for h in default[default.confident:])
    assert all(h.score >= MIN_SCORE["similar"] for h in default[:default.confident])
    assert all(GOLDFISH in h.path for h in default[:default.confident])
    assert len(col.similar(query, k=100, min_score=MIN_SCORE["similar"])) < 33


@pytest.mark.parametrize("bad", ["nan", "inf", "many", True])
def test_bad_min_score_is_a_clear_error(col, bad):
    with pytest.raises(PixseekError, match="min_score wants a number"):
        col.search("goldfish", min_score=bad)


@pytest.mark.skipif(not PHOTO_TEXT_READY, reason="needs the shared Flickr8k photos and the DejaVu fonts")
def test_a_photo_text_match_is_confident_and_the_rest_flagged_as_usual(request):
    """Photos with signs, indexed with --ocr (tests/search/test_photo_text.py): "cafe" finds the sign that says
    CAFE first and confident; the visual results after it are flagged by their own scores, still k of them."""
    signs = request.getfixturevalue("world")["col"]
    hits = signs.search("cafe", k=10)
    assert len(hits) == 10 and Path(hits[0].path).name == "sign.jpg" and not hits[0].weak
    flags = [h.weak for h in hits]
    assert flags == sorted(flags) and hits.confident == flags.count(False)
    plate = signs.search('text:"RE16"', k=10)  # text alone: its one match, confident
    assert [(Path(h.path).name, h.weak) for h in plate] == [("plate.jpg", False)]
