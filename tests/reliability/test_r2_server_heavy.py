"""Work over the whole collection (near-duplicate grouping) never holds up searches or /api/health on a
running server: it runs on a handle of its own, and requests waiting for it hold no worker thread (issue:
one grouping of 10,000 photos stopped every other answer for over 10 s)."""

from __future__ import annotations

import shutil
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import uvicorn
from conftest import HAVE_DATA, copy_tiny, generated_images, wait_for

from pixseek.interfaces.collection import Collection
from pixseek.interfaces.http import create_app
from pixseek.interfaces.http_guard import server_config


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A real server in this process (a thread) over a few real photos, one of them copied twice."""
    root = tmp_path_factory.mktemp("heavy")
    photos = root / "photos"
    files = copy_tiny(photos, per_class=2) if HAVE_DATA else generated_images(photos, n=10)
    shutil.copy2(files[0], photos / f"copy{files[0].suffix}")
    with Collection.open(root / "db") as col:
        assert col.index([photos], progress=False, workers=0).failed == 0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(root / "db")
    server = uvicorn.Server(server_config(app, "127.0.0.1", port))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    assert wait_for(lambda: server.started, 30), "the server did not start"
    yield app, server, f"http://127.0.0.1:{port}/api"
    server.should_exit = True
    thread.join(30)


def _get(url: str, **params) -> httpx.Response:
    try:
        return httpx.get(url, params=params, timeout=30)
    except httpx.TimeoutException:
        pytest.fail(f"{url} did not answer in 30 s")


def test_duplicate_groups_and_facets_are_found_while_a_search_holds_the_collection(served):
    app, _, base = served
    with app.state.service.lock:  # as during a long search
        found = _get(f"{base}/duplicates", threshold=0.9)
        facets = _get(f"{base}/facets")
    assert found.status_code == 200, found.text
    assert found.json()["total"] >= 1  # the two identical copies at least
    assert facets.status_code == 200, facets.text
    assert sum(t["count"] for t in facets.json()["types"]) == 11


def test_health_and_search_answer_while_many_groupings_wait(served):
    app, server, base = served
    assert _get(f"{base}/search", q="animal", k=3).status_code == 200  # the words are loaded before the wait
    grouping = app.state.pages.duplicates._lock  # held: as while one grouping takes its time
    n = 60  # more than the server's worker threads
    with ThreadPoolExecutor(n) as pool:
        with grouping:
            waiting = [pool.submit(httpx.get, f"{base}/duplicates", params={"threshold": 0.5 + i / 1000}, timeout=120)
                       for i in range(n)]
            assert wait_for(lambda: len(server.server_state.tasks) >= n, 30), "the requests did not arrive"
            health = _get(f"{base}/health")
            assert health.status_code == 200 and health.json()["ok"] is True
            assert _get(f"{base}/search", q="animal", k=3).status_code == 200
        assert all(f.result().status_code == 200 for f in waiting)
