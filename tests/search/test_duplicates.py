"""Near-duplicates on real photos: resized and recompressed copies are grouped with their original, the
original is the suggested keeper, and different photos (of the same kind of scene too) stay apart."""

from __future__ import annotations

import shutil

import pytest
from conftest import DATA, PHOTOS, cli_json, requires_data, run_cli
from PIL import Image

ORIGINALS = ("skimage_chelsea.png", "skimage_coffee.png", "skimage_rocket.jpg", "skimage_astronaut.png")


@pytest.fixture
def library(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ORIGINALS:
        shutil.copy2(PHOTOS / name, folder / name)
        im = Image.open(PHOTOS / name).convert("RGB")
        im.resize((im.width // 2, im.height // 2), Image.Resampling.LANCZOS).save(folder / f"half-{name}.png")
        im.save(folder / f"q40-{name}.jpg", quality=40)
    for f in sorted((DATA / "flickr8k-500" / "images").iterdir())[:12]:
        shutil.copy2(f, folder / f.name)  # other photos: people, dogs, streets, none copies of another
    return folder


@requires_data
def test_copies_are_grouped_with_their_original_and_nothing_else(library, tmp_path):
    db = tmp_path / "db"
    run_cli("index", str(library), "--no-progress", db=db)
    groups = cli_json("duplicates", "--no-progress", db=db)
    want = [sorted(str(library / n) for n in (name, f"half-{name}.png", f"q40-{name}.jpg")) for name in ORIGINALS]
    assert sorted(g["paths"] for g in groups) == sorted(want)
    for g in groups:
        assert g["keep"] in g["paths"] and "half-" not in g["keep"]  # the largest copy is the one to keep
        assert 0 < g["score"] <= 1


@requires_data
def test_a_byte_identical_copy_is_a_group_and_the_threshold_is_checked(library, tmp_path):
    shutil.copy2(library / "skimage_coffee.png", library / "coffee-again.png")
    db = tmp_path / "db"
    run_cli("index", str(library), "--no-progress", db=db)
    strict = cli_json("duplicates", "--threshold", "1", "--no-progress", db=db)
    assert [g["paths"] for g in strict] == [sorted([str(library / "coffee-again.png"), str(library / "skimage_coffee.png")])]
    bad = run_cli("duplicates", "--threshold", "nan", db=db, check=False)
    assert bad.returncode != 0 and "threshold" in bad.stderr and "Traceback" not in bad.stderr


@requires_data
def test_the_graph_search_of_large_collections_finds_the_groups_the_exact_search_finds(library, tmp_path):
    """Above EXACT_UP_TO photos candidates come from an HNSW graph over PCA-reduced features; on a few
    hundred real photos (forced onto that path) it must find the same groups as the exact search."""
    import numpy as np

    from pixseek.interfaces.collection import Collection
    from pixseek.search.duplicates import near_duplicates

    for f in sorted((DATA / "tiny-imagenet-200" / "val").glob("*/*.JPEG"))[::25]:
        shutil.copy2(f, library / f.name)  # 400 more photos, 200 classes
    with Collection.open(tmp_path / "db") as col:
        col.index([library], progress=False)
        ids = np.array(col.catalog.live_ids(), np.int64)
        dim, _ = col.layout.dims()
        exact = near_duplicates(col.visual, ids, feature_dims=dim)
        graph = near_duplicates(col.visual, ids, feature_dims=dim, exact_up_to=0)
        paths = col.catalog.paths_of(ids.tolist())
    assert [g.ids for g in graph] == [g.ids for g in exact]
    for name in ORIGINALS:  # every original found with its two copies
        assert any({paths[i] for i in g.ids} >= {str(library / name), str(library / f"q40-{name}.jpg")} for g in graph)
