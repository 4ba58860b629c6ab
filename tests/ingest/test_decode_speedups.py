"""What the indexing speed-ups must not change: photos decoded in the worker pool (pixels through shared
slots, the date taken read there) equal photos decoded in this process, and a large JPEG decoded at a
reduced DCT scale embeds like the full decode."""

from __future__ import annotations

import os
import shutil
from datetime import datetime

import numpy as np
import pytest
from conftest import PHOTOS, TINY_VAL, requires_data
from PIL import Image, ImageOps

from pixseek.ingest.decode import prepare
from pixseek.ingest.pool import DecoderPool
from pixseek.media.exif import taken_ns, wall_ns
from pixseek.media.images import _open, open_image, square_crop
from pixseek.media.preprocess import SquareCrop

pytestmark = requires_data


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> list[str]:
    """Real photos of every kind the pool meets: 64 px JPEGs, full-size PNG/JPEG, one photo with an EXIF
    date, one broken file and one that is not an image."""
    folder = tmp_path_factory.mktemp("mixed")
    files = [shutil.copy(p, folder) for p in sorted(TINY_VAL.glob("n014*/*.JPEG"))[:40]]
    files += [shutil.copy(p, folder) for p in sorted(PHOTOS.iterdir())]
    im = Image.open(PHOTOS / "sklearn_china.jpg")
    exif = Image.Exif()
    exif[0x8769] = {0x9003: "2021:06:05 14:30:00"}
    im.save(folder / "dated.jpg", exif=exif)
    (folder / "broken.jpg").write_bytes((PHOTOS / "skimage_rocket.jpg").read_bytes()[:3000])
    (folder / "text.jpg").write_text("not a photo")
    return files + [str(folder / n) for n in ("dated.jpg", "broken.jpg", "text.jpg")]


def test_the_pool_gives_what_decoding_here_gives(mixed):
    tasks = [(p, os.path.getsize(p), os.stat(p).st_mtime_ns, SquareCrop(224)) for p in mixed]
    here = {t[0]: prepare(t) for t in tasks}
    pool = DecoderPool(workers=2, window=16, chunk=3)  # a window smaller than the run: slots are lent again
    try:
        got = {p.path: p for p in pool.run(tasks)}
    finally:
        pool.close()
    assert sorted(got) == sorted(here)
    for path, want in here.items():
        item = got[path]
        assert (item.hash, item.width, item.height, item.error, item.taken) == \
               (want.hash, want.width, want.height, want.error, want.taken), path
        if want.error is None:
            assert item.pixels.shape == (224, 224, 3) and np.array_equal(item.pixels, want.pixels), path
            assert item.taken == taken_ns(path, item.mtime_ns)  # as the main process used to read it
    assert got[mixed[-3]].taken == wall_ns(datetime(2021, 6, 5, 14, 30))  # its EXIF date, not its mtime
    assert got[mixed[-2]].error and got[mixed[-1]].error


def test_a_12_megapixel_jpeg_is_decoded_small_and_embeds_like_the_full_decode(tmp_path):
    from pixseek.encoders.registry import load_image_encoder
    from pixseek.encoders.visual import visual_vectors

    enc = load_image_encoder()
    cos = []
    for name in ("skimage_astronaut.png", "skimage_coffee.png", "sklearn_china.jpg"):
        big = tmp_path / f"{name}.jpg"
        ImageOps.fit(Image.open(PHOTOS / name).convert("RGB"), (4000, 3000), Image.BICUBIC).save(big, quality=90)
        assert _open(str(big), short_side=256)[0].size == (500, 375)  # 1/8 scale keeps a 256 px short side
        small, size = SquareCrop(224).load(str(big))
        full = square_crop(open_image(str(big)), 224)  # every pixel decoded
        assert size == (4000, 3000)
        assert np.abs(small.astype(int) - full.astype(int)).mean() < 4  # of 255
        v = visual_vectors(enc.embed(np.stack([small, full])))
        cos.append(float(v[0] @ v[1]))
    assert min(cos) > 0.995, cos
