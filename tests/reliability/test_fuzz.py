"""Fuzzing the query language, the Python API and the HTTP routes: no crash, no 500, no traceback.

Bounded by hypothesis' example counts (PIXSEEK_FUZZ_EXAMPLES, default 300 per target); the figures in
docs/reliability.md come from a run with PIXSEEK_FUZZ_EXAMPLES=2000.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pixseek import Collection
from pixseek.errors import PixseekError
from pixseek.search.query import parse_query

EXAMPLES = int(os.environ.get("PIXSEEK_FUZZ_EXAMPLES", "300"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
WORDS = st.sampled_from(["dog", "cat", "beach", "-grass", "2:sunset", '"golden retriever"', "animal", "qqzzx", "-",
                         ":", "0:dog", "1e9:cat", "-0.5:sea", '"', "''", "ü", "\x00", "dog's", "....", "日本"])
QUERIES = st.one_of(st.text(max_size=80), st.lists(WORDS, max_size=8).map(" ".join))


@FUZZ
@given(QUERIES)
def test_parser_only_raises_pixseek_errors(text):
    try:
        terms = parse_query(text)
    except PixseekError:
        return
    assert terms and any(t.weight > 0 for t in terms)


@pytest.fixture(scope="module")
def col(tmp_path_factory):
    from conftest import PHOTOS, generated_images

    db = tmp_path_factory.mktemp("fuzz") / "db"
    c = Collection.open(db)
    if PHOTOS.is_dir():
        c.index([PHOTOS], progress=False)
    else:
        c.index([generated_images(db.parent / "photos")], progress=False)
    return c


@FUZZ
@given(QUERIES, st.integers(min_value=-5, max_value=20))
def test_search_only_raises_pixseek_errors(col, text, k):
    try:
        hits = col.search(text, k=k)
    except PixseekError:
        return
    assert len(hits) <= k and all(h.score == h.score for h in hits)


@FUZZ
@given(st.text(max_size=40), st.integers(min_value=-3, max_value=50))
def test_words_only_raise_pixseek_errors(col, word, k):
    try:
        col.words(word, k=k)
    except PixseekError:
        pass


@pytest.fixture(scope="module")
def client(col):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from pixseek.interfaces.http import create_app

    return TestClient(create_app(col.folder), raise_server_exceptions=False)


PARAMS = st.dictionaries(st.sampled_from(["q", "k", "offset", "path", "box", "word", "token"]),
                         st.one_of(st.text(max_size=40), st.integers(-10, 10**6).map(str)), max_size=5)


@FUZZ
@given(st.sampled_from(["/api/search", "/api/similar", "/api/tag", "/api/words", "/api/thumb", "/api/original",
                        "/api/status", "/api/health", "/api/nope"]), PARAMS)
def test_http_get_routes_never_500(client, route, params):
    r = client.get(route, params=params)
    assert r.status_code < 500, (route, params, r.text)
    if r.status_code >= 400:
        assert "error" in r.json() and "Traceback" not in r.text


@FUZZ
@given(st.sampled_from(["/api/similar", "/api/tag"]), st.binary(max_size=2048), PARAMS)
def test_http_uploads_never_500(client, route, body, params):
    r = client.post(route, params=params, files={"file": ("x.jpg", body, "image/jpeg")})
    assert r.status_code < 500, (route, r.text)
    if r.status_code >= 400:
        assert "error" in r.json() and "Traceback" not in r.text
