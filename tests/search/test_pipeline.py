"""search/pipeline.py: the stages of a text query, each on a real collection (Tiny ImageNet photos, the
shipped encoder, GloVe and the joint space)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import copy_tiny, requires_data

from pixseek import Collection
from pixseek.errors import PixseekError
from pixseek.search.filter_options import Filters, parse_filters
from pixseek.search.request import SearchRequest, parse_text
from pixseek.search.sources import NoSources


@pytest.fixture(scope="module")
def col(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline")
    copy_tiny(root / "photos", per_class=6)
    col = Collection.open(root / "db")
    col.index([root / "photos"], progress=False, workers=0)
    yield col
    col.close()


pytestmark = requires_data


def test_search_is_its_stages_in_order(col):
    s, request = col.searcher, SearchRequest("goldfish -tabby", k=8)
    parsed = parse_text(request.text)
    query = s.resolve_stage(parsed, request.text, False, None, visual_only=False)
    bridge = s.bridge("auto")
    parts = s.parts_stage(bridge, query, None)
    from pixseek.search.ranker import rank

    hits = s.explain_stage(bridge, rank(parts, 8), query)
    s.flag_weak(hits, s.flag_name(bridge, query, None), query)
    got = s.search(request).hits
    assert [(h.id, h.score, h.tags, h.weak) for h in got] == [(h.id, h.score, h.tags, h.weak) for h in hits]


def test_restrict_keeps_only_the_allowed_photos_before_the_top_k(col):
    folder = next(p for p in (col.folder.parent / "photos").iterdir() if p.name == "n01443537")
    filters = parse_filters(under=str(folder))
    allowed = col.searcher.sources.allowed(filters)
    hits = col.searcher.search(SearchRequest("tabby", k=20, filters=filters)).hits
    assert len(hits) == 6 and all(allowed.keep(np.array([h.id]))[0] for h in hits)


def test_resolve_for_photo_text_leaves_a_query_of_unknown_words_to_the_text(col):
    s = col.searcher
    assert s.resolve_stage(parse_text("RE16TGK"), "RE16TGK", False, None, visual_only=True) is None
    with pytest.raises(PixseekError, match="weights go from"):  # a malformed query stays the user's error
        s.resolve_stage(parse_text("500:RE16TGK"), "500:RE16TGK", False, None, visual_only=True)
    with pytest.raises(PixseekError, match="nothing left to search for"):  # without photo text it is an error
        s.search(SearchRequest("RE16TGK"))


def test_min_score_leaves_out_and_weak_only_flags(col):
    s = col.searcher
    every = s.search(SearchRequest("goldfish", k=30)).hits
    assert any(h.weak for h in every) and not any(h.weak for h in every[:every.index(next(h for h in every if h.weak))])
    bar = every[5].score
    kept = s.search(SearchRequest("goldfish", k=30, min_score=bar)).hits
    assert [h.id for h in kept] == [h.id for h in every if h.score >= bar]


def test_a_place_filter_in_the_query_joins_the_filters(col):
    with pytest.raises(PixseekError, match="no photos taken in 'Rome'"):  # no photo here has a position
        col.searcher.search(SearchRequest('goldfish place:"Rome"'))


def test_a_searcher_over_vectors_alone_refuses_filters_in_words():
    with pytest.raises(PixseekError, match="no catalog to filter by"):
        NoSources().allowed(Filters(place="Rome"))
    assert NoSources().allowed(Filters()) is None

