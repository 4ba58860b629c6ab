"""Teaching over HTTP: a word taught from selected results, listed, searched, forgotten; feedback on search."""

from __future__ import annotations

import pytest
from conftest import copy_tiny, requires_data
from fastapi.testclient import TestClient

from pixseek.interfaces.collection import Collection
from pixseek.interfaces.http import create_app

pytestmark = requires_data
GOLDFISH = "n01443537"


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    root = tmp_path_factory.mktemp("http-teach")
    copy_tiny(root / "photos", per_class=8)
    col = Collection.open(root / "db")
    col.index([root / "photos"], progress=False, workers=0)
    col.close()
    return TestClient(create_app(root / "db"), raise_server_exceptions=False), sorted(
        str(p) for p in (root / "photos" / GOLDFISH).glob("*.JPEG"))


def test_teach_list_search_and_forget_over_http(client):
    http, fish = client
    r = http.post("/api/concepts", json={"name": "zorblax", "paths": fish[:3]})
    assert r.status_code == 200 and r.json()["examples"] == 3
    assert [c["name"] for c in http.get("/api/concepts").json()] == ["zorblax"]
    found = http.get("/api/search", params={"q": "zorblax", "k": 8, "min_score": 0}).json()["results"]
    assert sum(h["path"] in fish for h in found[:6]) >= 5
    assert http.delete("/api/concepts/zorblax").status_code == 200
    assert http.get("/api/concepts").json() == []
    assert http.delete("/api/concepts/zorblax").status_code == 400


def test_teaching_refuses_paths_outside_the_collection_and_bad_names(client, tmp_path):
    http, fish = client
    assert http.post("/api/concepts", json={"name": "x", "paths": [str(tmp_path / "nope.jpg")]}).status_code == 404
    r = http.post("/api/concepts", json={"name": "-x", "paths": fish[:1]})
    assert r.status_code == 400 and "concept name" in r.json()["error"]


def test_more_like_this_on_search(client):
    http, fish = client
    r = http.get("/api/search", params={"like": fish[:2], "k": 5, "min_score": 0})
    rows = r.json()["results"]
    assert r.status_code == 200 and not {h["path"] for h in rows} & set(fish[:2])
    assert sum(h["path"] in fish for h in rows) >= 4
    assert http.get("/api/search", params={"q": ""}).status_code == 400
