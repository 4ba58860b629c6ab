"""`pixseek map`: a picture of the layout with a legend, and Projector files with one row per photo."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import CLASSES, cli_json, copy_tiny, requires_data, run_cli
from PIL import Image

pytest.importorskip("openTSNE")


@requires_data
def test_map_picture_and_projector_files(tmp_path):
    photos = tmp_path / "photos"
    copy_tiny(photos, per_class=8)
    db = tmp_path / "db"
    run_cli("index", str(photos), "--no-progress", db=db)
    report = cli_json("map", str(tmp_path / "map.png"), "--projector", str(tmp_path / "proj"), db=db)
    assert report["photos"] == 40
    picture = Image.open(tmp_path / "map.png")
    assert picture.width > 1000 and picture.height > 1000
    assert sum(report["legend"].values()) <= 40 and report["legend"]

    proj = tmp_path / "proj"
    tensors = np.loadtxt(proj / "tensors.tsv", delimiter="\t")
    rows = (proj / "metadata.tsv").read_text(encoding="utf-8").splitlines()
    assert tensors.shape[0] == 40 and rows[0] == "path\ttags" and len(rows) == 41
    paths = [r.split("\t")[0] for r in rows[1:]]
    assert sorted(paths) == sorted(str(p) for p in photos.rglob("*.JPEG"))
    # a goldfish photo's top tags say so: the metadata is the photo's own (its calibrated tags name the fine
    # class only where the classifier is confident: 4 of these 8 64-px photos, at class probability >= 0.9)
    goldfish = [r.split("\t")[1] for r in rows[1:] if "/n01443537/" in r]
    assert sum("goldfish" in t for t in goldfish) >= 4
    config = (proj / "projector_config.pbtxt").read_text()
    dim = int(config.split("single_image_dim:")[1].split()[0])
    sprite = Image.open(proj / "sprite.png")
    assert sprite.size == (7 * dim, 7 * dim)  # ceil(sqrt(40)) thumbnails per row
    assert 'tensor_path: "tensors.tsv"' in config and 'metadata_path: "metadata.tsv"' in config
    # photos of one class sit closer together in the layout than photos of different classes
    from pixseek import Collection
    from pixseek.search.collection_map import layout_2d

    col = Collection.open(db)
    ids = np.array(sorted(col.catalog.live_ids()))
    where = col.catalog.paths_of(ids.tolist())
    label = np.array([list(CLASSES).index(where[i].split("/")[-2]) for i in ids])
    xy = layout_2d(col.visual.get(ids))
    d = np.linalg.norm(xy[:, None] - xy[None], axis=2)
    same = label[:, None] == label[None]
    assert d[same & ~np.eye(len(ids), dtype=bool)].mean() < 0.6 * d[~same].mean()


@requires_data
def test_map_needs_something_to_write(tmp_path):
    photos = tmp_path / "photos"
    copy_tiny(photos, per_class=1)
    run_cli("index", str(photos), "--no-progress", db=tmp_path / "db")
    proc = run_cli("map", db=tmp_path / "db", check=False)
    assert proc.returncode != 0 and "OUT.png" in proc.stderr and "Traceback" not in proc.stderr
