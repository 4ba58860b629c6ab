"""The browsing routes without a browser (real app, real SQLite): a new empty collection answers with empty
pages, not errors, and a filled one lists its photos newest first, pages and filters them (the page's
home and 'filters without words' are checked in Chromium in test_web_home.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from conftest import HAVE_DATA, copy_tiny

pytest.importorskip("fastapi", reason="the web extras are not installed")
from fastapi.testclient import TestClient  # noqa: E402

from pixseek.interfaces.http import create_app  # noqa: E402


def test_an_empty_collection_browses_to_nothing_without_an_error(tmp_path):
    client = TestClient(create_app(tmp_path / "db"), raise_server_exceptions=False)
    assert client.get("/api/browse").json() == {"results": [], "total": 0}
    assert client.get("/api/browse", params={"after": "2020-01-01"}).json() == {"results": [], "total": 0}
    assert client.get("/api/coverage").json() == {"photos": 0, "first": None, "last": None, "root": None}
    assert client.get("/api/examples").json() == []
    folder = client.get("/api/browse", params={"under": "holidays"})
    assert folder.status_code == 400 and "no photos yet" in folder.json()["error"]


@pytest.mark.skipif(not HAVE_DATA, reason="browsing is checked on real photos")
def test_newest_first_paged_and_filtered(tmp_path):
    photos = tmp_path / "photos"
    copy_tiny(photos, per_class=3)
    files = sorted(f for f in photos.rglob("*") if f.is_file())
    day = 86_400
    base = time.mktime((2023, 1, 15, 12, 0, 0, 0, 0, -1))
    for i, f in enumerate(files):  # one photo a day, the last file the newest
        os.utime(f, (base + i * day, base + i * day))
    subprocess.run([sys.executable, "-m", "pixseek", "index", str(photos), "--db", str(tmp_path / "db"), "--no-progress"],
                   check=True, capture_output=True)
    client = TestClient(create_app(tmp_path / "db"), raise_server_exceptions=False)
    first = client.get("/api/browse", params={"k": 4}).json()
    assert first["total"] == len(files) and [r["path"] for r in first["results"]] == [str(f) for f in files[::-1][:4]]
    assert first["results"][0]["taken"].startswith(time.strftime("%Y-%m-%d", time.localtime(base + (len(files) - 1) * day)))
    rest = client.get("/api/browse", params={"k": 100, "offset": 4}).json()["results"]
    assert [r["path"] for r in rest] == [str(f) for f in files[::-1][4:]]
    folder = files[0].parent
    relative = client.get("/api/browse", params={"under": folder.name}).json()  # below the collection's folder
    assert relative["total"] == 3 and all(r["path"].startswith(str(folder) + "/") for r in relative["results"])
    cov = client.get("/api/coverage").json()
    assert cov["photos"] == len(files) and cov["root"] == str(photos) and cov["first"] < cov["last"]
