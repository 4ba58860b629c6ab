"""`pixseek serve --watch DIR`: the running server indexes the folder, and a photo copied in (or deleted)
while it serves shows up in (or leaves) its answers without a restart."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys

import httpx
import pytest
from conftest import PHOTOS, copy_tiny, requires_data, wait_for


@requires_data
def test_a_served_collection_follows_its_watched_folder(tmp_path):
    photos = tmp_path / "photos"
    copy_tiny(photos, per_class=2)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "pixseek", "serve", "--db", str(tmp_path / "db"), "--port",
                             str(port), "--watch", str(photos)], stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}/api"
    try:
        def images() -> int | None:
            return httpx.get(f"{base}/status").json().get("images")

        assert wait_for(lambda: images() == 10, 60, (httpx.HTTPError,)), "the watched folder was not indexed by the server"
        new = photos / "rocket.jpg"
        shutil.copy2(PHOTOS / "skimage_rocket.jpg", new)

        other = sorted(photos.glob("*/*.JPEG"))[-1]

        def found(path) -> bool:  # among the photos like another one (every photo, with no cut-off)
            r = httpx.get(f"{base}/similar", params={"path": str(other), "k": 50, "min_score": 0})
            return str(path) in [h["path"] for h in r.json()]

        def new_is_found() -> bool:
            return found(new)

        assert wait_for(new_is_found, 30, (httpx.HTTPError,)), "a photo copied in never became searchable"
        assert images() == 11
        gone = sorted(photos.glob("*/*.JPEG"))[0]
        gone.unlink()
        assert wait_for(lambda: images() == 10, 30), "a deleted photo stayed in the collection"
        assert wait_for(lambda: not found(gone), 30) and found(new)
        hits = httpx.get(f"{base}/search", params={"q": "rocket", "k": 1}).json()["results"]
        assert [h["path"] for h in hits] == [str(new)]
    finally:
        proc.terminate()
        try:
            _, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail("pixseek serve --watch did not stop on SIGTERM")
    assert "Traceback" not in err
