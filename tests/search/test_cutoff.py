"""The relevance cut-off: calibrated per bridge, on by default, `min_score=0` shows everything."""

from __future__ import annotations

import shutil

import pytest
from conftest import PHOTOS, copy_tiny, requires_data

from pixseek import Collection
from pixseek.errors import PixseekError
from pixseek.search.cutoff import MIN_SCORE, resolve_min_score, shipped_cutoffs
from pixseek.search.joint_space import packaged_space_path

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


def test_the_shipped_bridges_and_similar_are_calibrated():
    for name in ("auto", "conse", "joint", "similar"):
        assert MIN_SCORE[name] is not None and 0 < MIN_SCORE[name] < 1, name
    shipped = shipped_cutoffs("efficientnet-lite0", {"joint": str(packaged_space_path("efficientnet-lite0")),
                                                     "mapping": None})
    assert shipped == {k: MIN_SCORE[k] for k in ("auto", "conse", "joint", "similar")}
    assert resolve_min_score(None, "auto", shipped) == MIN_SCORE["auto"]
    assert resolve_min_score(0, "auto", shipped) == float("-inf")  # 0 shows everything
    assert resolve_min_score("0.25", "clip", shipped) == 0.25
    assert resolve_min_score(None, "clip", shipped) == float("-inf")  # not calibrated: keep all


def test_a_collection_with_its_own_spaces_gets_no_default_for_them():
    """The values were calibrated for the shipped encoder and joint space only."""
    own = shipped_cutoffs("efficientnet-lite0", {"joint": "/c/joint.npz", "mapping": "/c/mapping.npz"})
    assert own == {"similar": MIN_SCORE["similar"]}
    assert shipped_cutoffs("clip:/models/vit", {"joint": None, "mapping": None}) == {}


@requires_data
def test_weak_matches_are_dropped_by_default(col):
    default = col.search("goldfish", k=100)
    everything = col.search("goldfish", k=100, min_score=0)
    assert len(everything) == 34
    assert 0 < len(default) < len(everything)
    assert all(h.score >= MIN_SCORE["auto"] for h in default)
    assert sum(GOLDFISH in h.path for h in default) >= 5  # the true matches stay
    assert not any("coffee" in h.path for h in default) and any("coffee" in h.path for h in everything)
    assert [h.path for h in default] == [h.path for h in everything[:len(default)]]


@requires_data
def test_an_explicit_min_score_is_applied(col):
    strict = col.search("goldfish", k=100, min_score=0.5)
    assert strict and all(h.score >= 0.5 for h in strict)
    assert len(strict) < len(col.search("goldfish", k=100, min_score=0.01))


@requires_data
def test_similar_has_its_own_cut_off(col):
    query = next(p for p in (col.folder.parent / "photos" / GOLDFISH).iterdir())
    default = col.similar(query, k=100)
    everything = col.similar(query, k=100, min_score=0)
    assert len(everything) == 33 and 0 < len(default) < 33
    assert all(h.score >= MIN_SCORE["similar"] for h in default)


@pytest.mark.parametrize("bad", ["nan", "inf", "many", True])
def test_bad_min_score_is_a_clear_error(col, bad):
    with pytest.raises(PixseekError, match="min_score wants a number"):
        col.search("goldfish", min_score=bad)
