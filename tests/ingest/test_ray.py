"""Indexing on Ray (a local `ray.init()`): the same catalog and vectors as the single-process run, and
a worker that dies mid-batch loses and doubles nothing."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from conftest import copy_tiny, requires_data

ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'pixseek[ray]')")

from pixseek import Collection  # noqa: E402
from pixseek.ingest import signature_stage  # noqa: E402
from pixseek.ingest.pipeline import Indexer  # noqa: E402
from pixseek.ingest.ray_reader import RayOptions, RayReader  # noqa: E402
from pixseek.ingest.signature_stage import ThumbnailSink  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("photos")
    files = copy_tiny(folder, per_class=30)  # 150 real photos
    shutil.copy(files[0], folder / "duplicate.JPEG")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    return folder


def snapshot(db: Path) -> tuple:
    """Everything an index run decides: catalog rows (without timestamps), the raw vector files and the pixel
    thumbnails (made where the photo was decoded: a Ray actor's come back with its vectors)."""
    con = sqlite3.connect(db / "catalog.sqlite")
    contents = con.execute("SELECT id, hash, width, height, live FROM contents ORDER BY id").fetchall()
    files = con.execute("SELECT path, size, mtime_ns, hash, status, error, content_id FROM files ORDER BY path").fetchall()
    con.close()
    return (contents, files, (db / "visual.float16").read_bytes(), (db / "probs.float16").read_bytes(),
            (db / "derived" / "pixels.u8").read_bytes())


def single(photos: Path, db: Path) -> tuple:
    with Collection.open(db) as col:
        col.index([photos], progress=False, workers=0)
    return snapshot(db)


@requires_data
def test_ray_gives_the_same_catalog_and_vectors(photos, tmp_path, monkeypatch):
    expected = single(photos, tmp_path / "one")

    def read_again(path):
        raise AssertionError(f"{path} was read again for its thumbnail")

    monkeypatch.setattr(signature_stage, "_thumbnail", read_again)
    with Collection.open(tmp_path / "ray") as col:
        r = col.index([photos], progress=False, ray="local", batch_size=16)
    assert (r.indexed, r.failed, r.duplicates) == (151, 1, 1)
    assert snapshot(tmp_path / "ray") == expected


@requires_data
def test_dead_worker_chunk_is_retried_not_lost_or_doubled(photos, tmp_path):
    expected = single(photos, tmp_path / "one")
    marker = tmp_path / "crashed"
    with Collection.open(tmp_path / "ray") as col:
        stores = col.layout.open_stores(writer=True)
        opts = RayOptions("local", col.encoder_spec, actors=2, chunk=16, crash_once=str(marker))
        indexer = Indexer(col.catalog, stores.visual, stores.probs, col.encoder, batch_size=16, reader=RayReader(opts),
                          thumbnails=ThumbnailSink(col.layout))
        counts = indexer.run([photos], progress=False)
    assert marker.exists()  # one actor really died mid-chunk
    assert (counts.indexed, counts.failed) == (151, 1)
    assert snapshot(tmp_path / "ray") == expected
