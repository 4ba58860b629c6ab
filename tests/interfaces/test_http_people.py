"""People over HTTP: listed, named, searched by name, photos by face (indexed photo or upload), merged,
forgotten; bad ids and paths outside the collection refused with a one-line error."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pixseek.interfaces.collection import Collection
from pixseek.interfaces.http import create_app
from tests.ingest.test_faces import FACES, OTHERS, PEOPLE, labelled, lay_out

pytestmark = pytest.mark.skipif(not (FACES / "labels.tsv").is_file() or not OTHERS[0].is_file(),
                                reason="needs the shared CelebA faces and photos")


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    root = tmp_path_factory.mktemp("http-people")
    who = lay_out(root / "photos", per_person=3)
    col = Collection.open(root / "db")
    col.index([root / "photos"], progress=False, faces=True)
    col.close()
    return TestClient(create_app(root / "db"), raise_server_exceptions=False), root / "photos", who


def _of(who: dict, person: str) -> set[str]:
    return {n for n, w in who.items() if w == person}


def test_people_named_searched_and_found_by_face_over_http(client):
    http, photos, who = client
    people = http.get("/api/people").json()
    assert sorted(p["count"] for p in people) == [3, 3, 3] and all(p["name"] is None for p in people)
    first = photos / sorted(_of(who, PEOPLE[0]))[0]
    faces = http.get("/api/faces", params={"path": str(first)}).json()
    assert faces["source"] == "catalog" and len(faces["faces"]) >= 1
    pid = faces["faces"][0]["person"]
    r = http.put(f"/api/people/{pid}", json={"name": "Anna"})
    assert r.status_code == 200 and r.json()["name"] == "Anna"
    found = http.get("/api/search", params={"q": "anna", "k": 10}).json()["results"]
    assert {Path(h["path"]).name for h in found} == _of(who, PEOPLE[0])
    same = http.get("/api/similar-faces", params={"path": str(first), "k": 10}).json()
    assert {Path(h["path"]).name for h in same} == _of(who, PEOPLE[0]) - {first.name}
    new = labelled()[PEOPLE[1]][5]  # not in the collection
    up = http.post("/api/similar-faces", files={"file": ("q.jpg", new.read_bytes(), "image/jpeg")}, params={"k": 10})
    assert up.status_code == 200 and {Path(h["path"]).name for h in up.json()} == _of(who, PEOPLE[1])
    other = next(p["id"] for p in http.get("/api/people").json() if p["id"] != pid)
    merged = http.post(f"/api/people/{pid}/merge", json={"other": other}).json()
    assert merged["count"] == 6 and merged["name"] == "Anna"
    assert http.delete(f"/api/people/{pid}").json()["faces"] >= 6
    assert len(http.get("/api/people").json()) == 1


def test_bad_people_requests_are_refused_with_one_line(client, tmp_path):
    http, _, _ = client
    r = http.put("/api/people/9999", json={"name": "Zoe"})
    assert r.status_code == 400 and "no person 9999" in r.json()["error"]
    assert http.put("/api/people/abc", json={"name": "Zoe"}).status_code == 400
    outside = tmp_path / "x.jpg"
    outside.write_bytes(OTHERS[1].read_bytes())
    assert http.get("/api/faces", params={"path": str(outside)}).status_code == 404
    r = http.post("/api/similar-faces", files={"file": ("q.png", OTHERS[0].read_bytes(), "image/png")})
    assert r.status_code == 400 and "no face found" in r.json()["error"]
