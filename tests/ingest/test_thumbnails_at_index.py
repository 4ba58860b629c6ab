"""Pixel thumbnails made by the decoding workers from the image they decode for the encoder
(ingest/decode.py, ingest/signature_stage.py: ThumbnailSink): an index run keeps one for every photo
without reading any photo a second time, and they are what reading the photo for one alone gives."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from conftest import PHOTOS, copy_tiny, requires_data

from pixseek.ingest import signature_stage
from pixseek.interfaces.collection import Collection
from pixseek.media.pixel_thumbnail import pixel_thumbnail
from pixseek.search.duplicate_check import compare, small_from
from pixseek.store import pixel_signatures


@requires_data
@pytest.mark.parametrize("workers", [0, 2])  # decoded here, or in worker processes
def test_an_index_run_keeps_every_photos_thumbnail_from_its_one_decode(tmp_path, monkeypatch, workers):
    from PIL import Image

    photos = tmp_path / "photos"
    small = copy_tiny(photos, per_class=2)
    shutil.copy2(PHOTOS / "sklearn_china.jpg", photos / "china.jpg")
    big = photos / "astronaut-2000.jpg"  # decoded at a reduced JPEG scale, another one for a thumbnail alone
    Image.open(PHOTOS / "skimage_astronaut.png").convert("RGB").resize((2000, 2000)).save(big, quality=92)

    def read_again(path):
        raise AssertionError(f"{path} was read a second time for its thumbnail")

    monkeypatch.setattr(signature_stage, "_thumbnail", read_again)
    col = Collection.open(tmp_path / "db")
    report = col.index([photos], progress=False, workers=workers)
    assert report.indexed == len(small) + 2 and report.failed == 0

    keys = pixel_signatures.content_keys(col.catalog.db)
    assert pixel_signatures.missing(col.folder, keys) == []
    kept = pixel_signatures.read(col.folder, keys)
    paths = col.catalog.paths_of(sorted(keys))
    for cid, (rgb, size) in kept.items():
        alone, alone_size = pixel_thumbnail(paths[cid])
        assert size == alone_size and rgb.shape == alone.shape
        diff = np.abs(rgb.astype(int) - alone.astype(int))
        if max(size) <= 2 * pixel_signatures.SIDE:  # small: decoded at full size either way, the same pixels
            assert diff.max() == 0, paths[cid]
        else:  # the encoder's JPEG scale against the thumbnail's own: two resamplings, a level or two apart
            assert diff.mean() < 2.0, (paths[cid], diff.mean())
            match = compare(small_from(rgb, size), small_from(alone, alone_size))
            assert match is not None and match.score > 0.95, (paths[cid], match)
