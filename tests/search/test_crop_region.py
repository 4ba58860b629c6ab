"""The region searched is the box drawn: a tall or wide box reaches the encoder whole (padded to a square),
not centre-cropped to its middle square; tags follow the box. Over a collage of real collection photos."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from conftest import DATA, PHOTOS, copy_tiny, requires_data
from PIL import Image

from pixseek import Collection
from pixseek.encoders.visual import visual_vectors
from pixseek.errors import PixseekError

PORTRAIT = DATA / "flickr8k-500" / "images" / "1000268201_693b08cb0e.jpg"  # 150x200, a child on stairs
QUADRANTS = {"tall": PORTRAIT, "wide": PHOTOS / "skimage_rocket.jpg", "square": PHOTOS / "skimage_astronaut.png",
             "wider": PHOTOS / "skimage_motorcycle_left.png"}
HEIGHT, GAP = 300, 24


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A collection of 28 real photos holding the four collage photos, and the collage (2x2, each photo at
    its own aspect ratio, scaled to one height, on a grey ground) with the box around each."""
    root = tmp_path_factory.mktemp("crop")
    photos = root / "photos"
    copy_tiny(photos, per_class=4)
    for name in ("skimage_chelsea.png", "skimage_coffee.png", "skimage_camera.png", "sklearn_china.jpg"):
        shutil.copy2(PHOTOS / name, photos / name)
    for kind, src in QUADRANTS.items():
        shutil.copy2(src, photos / f"{kind}{src.suffix}")
    col = Collection.open(root / "db")
    assert col.index([photos], progress=False, workers=0).failed == 0
    scaled = {}
    for kind, src in QUADRANTS.items():
        im = Image.open(src).convert("RGB")
        scaled[kind] = im.resize((round(im.width * HEIGHT / im.height), HEIGHT), Image.LANCZOS)
    rows = [["tall", "wide"], ["square", "wider"]]
    width = max(sum(scaled[k].width for k in row) + 3 * GAP for row in rows)
    collage = Image.new("RGB", (width, 2 * HEIGHT + 3 * GAP), (200, 200, 200))
    boxes = {}
    for r, row in enumerate(rows):
        x = GAP
        for kind in row:
            y = GAP + r * (HEIGHT + GAP)
            collage.paste(scaled[kind], (x, y))
            boxes[kind] = (x, y, x + scaled[kind].width, y + HEIGHT)
            x += scaled[kind].width + GAP
    path = root / "collage.png"
    collage.save(path)
    yield {"col": col, "collage": path, "boxes": boxes, "photos": photos, "root": root}
    col.close()


@requires_data
@pytest.mark.parametrize("kind", list(QUADRANTS))
def test_a_box_around_each_quadrant_finds_its_photo_first(world, kind):
    box = world["boxes"][kind]
    w, h = box[2] - box[0], box[3] - box[1]
    assert {"tall": h > 1.3 * w, "wide": w > 1.3 * h, "wider": w > 1.3 * h, "square": w == h}[kind]
    hits = world["col"].similar(world["collage"], k=3, box=box, min_score=0)
    assert hits[0].path.endswith(f"/{kind}{QUADRANTS[kind].suffix}"), [h.path for h in hits]


@requires_data
def test_the_whole_tall_box_is_searched_not_its_middle_square(world, tmp_path):
    """Paint over the top eighth of the tall box: outside the middle square a centre crop would keep, so the
    old crop gave the very same vector; the padded region sees the change."""
    col, box = world["col"], world["boxes"]["tall"]
    im = Image.open(world["collage"]).convert("RGB")
    a = np.asarray(im).copy()
    a[box[1]:box[1] + (box[3] - box[1]) // 8, box[0]:box[2]] = (255, 0, 255)
    painted = tmp_path / "painted.png"
    Image.fromarray(a).save(painted)
    before = visual_vectors(col.embed(world["collage"], box))[0]
    after = visual_vectors(col.embed(painted, box))[0]
    assert float(before @ after) < 0.99


@requires_data
def test_tags_follow_the_box(world):
    col, box = world["col"], world["boxes"]["wide"]
    # a vocabulary of the caller's own: every word scored, none left out by the calibrated threshold
    words = ["rocket", "space shuttle", "missile", "tower", "sky", "cloud", "motorcycle", "bike", "road", "woman",
             "astronaut", "flag", "cat", "dog", "grass", "building", "car", "beach", "kitchen", "tree"]
    region = [t.tag for t in col.tag(world["collage"], k=5, box=box, vocabulary=words)]
    whole = [t.tag for t in col.tag(world["collage"], k=5, vocabulary=words)]
    alone = [t.tag for t in col.tag(world["photos"] / "wide.jpg", k=5, vocabulary=words)]
    assert region != whole
    assert len(set(region) & set(alone)) >= 2, (region, alone)


@requires_data
def test_a_box_outside_the_image_is_a_clear_error(world):
    with pytest.raises(PixseekError, match="outside"):
        world["col"].tag(world["collage"], box=(5000, 5000, 5100, 5100))
