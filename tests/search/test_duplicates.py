"""Near-duplicates on real photos: planted copies (resized, re-encoded, cropped, brightened) are grouped
with their original, each labelled with why; look-alike distinct photos (one Tiny ImageNet class, one
person, consecutive street shots) are never grouped; shots dated seconds apart are a burst without a
keeper; the threshold has a lower bound."""

from __future__ import annotations

import shutil

import pytest
from conftest import DATA, PHOTOS, cli_json, requires_data, run_cli
from PIL import Image, ImageEnhance

ORIGINALS = ("skimage_chelsea.png", "skimage_coffee.png", "skimage_rocket.jpg", "skimage_astronaut.png")
LOOK_ALIKES = [*sorted((DATA / "tiny-imagenet-200" / "val" / "n02814533").glob("*.JPEG"))[:6],
               *[DATA / "faces" / "images" / n for n in ("001085.jpg", "007710.jpg")],
               *[DATA / "geotagged" / f"lund_{i:02d}.jpg" for i in (4, 5, 7, 8)]]


def _plant(src, folder) -> dict[str, str]:
    """The original and its four copies: {path: why it is a copy of the original (None: the original)}."""
    im = Image.open(src).convert("RGB")
    w, h = im.size
    orig = folder / src.name
    shutil.copy2(src, orig)
    made = {str(orig): None}
    for name, picture, why in (
            (f"half-{src.stem}.png", im.resize((w // 2, h // 2), Image.Resampling.LANCZOS), "resized"),
            (f"q40-{src.stem}.jpg", im, "re-encoded"),
            (f"crop-{src.stem}.png", im.crop((round(0.04 * w), round(0.02 * h), round(0.98 * w), round(0.96 * h))),
             "cropped"),
            (f"bright-{src.stem}.jpg", ImageEnhance.Brightness(im).enhance(1.25), "edited")):
        picture.save(folder / name, quality=40 if name.startswith("q40") else 90)
        made[str(folder / name)] = why
    return made


@pytest.fixture
def library(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    planted = [_plant(PHOTOS / name, folder) for name in ORIGINALS]
    for f in LOOK_ALIKES:
        shutil.copy2(f, folder / f"{f.parent.parent.name}-{f.name}")  # distinct photos of one kind of thing
    return folder, planted


@requires_data
def test_planted_copies_are_grouped_labelled_and_look_alikes_are_not(library, tmp_path):
    folder, planted = library
    db = tmp_path / "db"
    run_cli("index", str(folder), "--no-progress", db=db)
    groups = cli_json("duplicates", "--no-progress", db=db)
    assert sorted(g["paths"] for g in groups) == sorted(sorted(p) for p in planted)  # no look-alike grouped
    for g in groups:
        want = next(p for p in planted if set(p) == set(g["paths"]))
        assert g["kind"] == "copies" and want[g["keep"]] is None  # the original is the one to keep
        assert g["why"] == {p: why for p, why in want.items() if why is not None}
        assert 0.5 <= g["score"] <= 1


@requires_data
def test_a_burst_is_labelled_without_a_keeper_and_undated_consecutive_shots_are_not_grouped(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    shots = [DATA / "geotagged" / f"lund_{i:02d}.jpg" for i in (9, 10, 11)]
    for j, src in enumerate(shots):
        im = Image.open(src)
        exif = im.getexif()
        exif.get_ifd(0x8769)[0x9003] = f"2024:05:01 10:00:{2 * j:02d}"  # DateTimeOriginal, 2 s apart
        im.save(folder / f"burst-{j}.jpg", quality=92, exif=exif)
        undated = DATA / "geotagged" / f"lund_{12 + j:02d}.jpg"  # the walk goes on, no date taken
        shutil.copy2(undated, folder / f"undated-{j}.jpg")
    db = tmp_path / "db"
    run_cli("index", str(folder), "--no-progress", db=db)
    groups = cli_json("duplicates", "--no-progress", db=db)
    assert groups == [{"paths": [str(folder / f"burst-{j}.jpg") for j in range(3)], "score": groups[0]["score"],
                       "kind": "burst", "seconds": 4.0}]  # no "keep", no "why"
    text = run_cli("duplicates", "--no-progress", db=db).stdout
    assert "burst: 3 shots within 4 s" in text and "keep" not in text


@requires_data
def test_a_byte_identical_copy_is_a_group_and_the_threshold_is_checked(library, tmp_path):
    folder, _ = library
    shutil.copy2(folder / "skimage_coffee.png", folder / "coffee-again.png")
    db = tmp_path / "db"
    run_cli("index", str(folder), "--no-progress", db=db)
    strict = cli_json("duplicates", "--threshold", "1", "--no-progress", db=db)
    assert [(g["paths"], g["why"]) for g in strict] == [
        (sorted([str(folder / "coffee-again.png"), str(folder / "skimage_coffee.png")]),
         {str(folder / "skimage_coffee.png"): "same bytes"} if strict[0]["keep"].endswith("again.png")
         else {str(folder / "coffee-again.png"): "same bytes"})]
    for bad in ("nan", "0.0001", "0.44", "1.5"):
        out = run_cli("duplicates", "--threshold", bad, db=db, check=False)
        assert out.returncode != 0 and "threshold" in out.stderr and "Traceback" not in out.stderr, bad
    assert "from 0.45 to 1" in run_cli("duplicates", "--threshold", "0.0001", db=db, check=False).stderr


@requires_data
def test_the_graph_search_of_large_collections_finds_the_groups_the_exact_search_finds(library, tmp_path):
    """Above EXACT_UP_TO photos candidates come from an HNSW graph over PCA-reduced features; on a few
    hundred real photos (forced onto that path) it must find the same groups as the exact search."""
    import numpy as np

    from pixseek.interfaces.collection import Collection
    from pixseek.search.duplicates import near_duplicates

    folder, planted = library
    for f in sorted((DATA / "tiny-imagenet-200" / "val").glob("*/*.JPEG"))[::25]:
        shutil.copy2(f, folder / f.name)  # 400 more photos, 200 classes
    with Collection.open(tmp_path / "db") as col:
        col.index([folder], progress=False)
        ids = np.array(col.catalog.live_ids(), np.int64)
        dim, _ = col.layout.dims()
        paths = col.catalog.paths_of(ids.tolist())
        exact = near_duplicates(col.visual, ids, paths, feature_dims=dim)
        graph = near_duplicates(col.visual, ids, paths, feature_dims=dim, exact_up_to=0)
    assert [g.ids for g in graph] == [g.ids for g in exact]
    assert sorted(sorted(paths[i] for i in g.ids) for g in graph) == sorted(sorted(p) for p in planted)


@requires_data
def test_grouping_compares_the_thumbnails_kept_at_index_time_without_reading_a_photo(library, tmp_path):
    """Indexing keeps each photo's pixel thumbnail; grouping checks pairs on those, so it finds the same
    groups, with the same scores and reasons, when every photo file is gone since."""
    folder, planted = library
    db = tmp_path / "db"
    run_cli("index", str(folder), "--no-progress", db=db)
    before = cli_json("duplicates", "--no-progress", db=db)
    assert sorted(g["paths"] for g in before) == sorted(sorted(p) for p in planted)
    shutil.rmtree(folder)
    assert cli_json("duplicates", "--no-progress", db=db) == before


@requires_data
def test_a_collection_indexed_without_thumbnails_gets_them_on_its_next_index_run(library, tmp_path):
    """A collection from before thumbnails were kept (its file removed here), or whose thumbnail run was
    cut short, gets them all on the next `pixseek index`, with nothing new to embed."""
    from pixseek.interfaces.collection import Collection
    from pixseek.store import pixel_signatures

    folder, planted = library
    db = tmp_path / "db"
    run_cli("index", str(folder), "--no-progress", db=db)
    kept = pixel_signatures.signature_path(db)
    with Collection.open(db) as col:
        keys = pixel_signatures.content_keys(col.catalog.db)
    assert len(keys) == len(list(folder.iterdir())) and pixel_signatures.missing(db, keys) == []
    kept.unlink()
    assert pixel_signatures.missing(db, keys) == sorted(keys)
    assert "indexed 0" in run_cli("index", str(folder), "--no-progress", db=db).stdout
    assert pixel_signatures.missing(db, keys) == []
    shutil.rmtree(folder)
    groups = cli_json("duplicates", "--no-progress", db=db)
    assert sorted(g["paths"] for g in groups) == sorted(sorted(p) for p in planted)


@requires_data
def test_a_kept_thumbnail_counts_only_for_the_photo_it_was_made_from(tmp_path):
    """A record whose key is not the content's hash now (a content id reused after a catalog went back to
    an earlier state) is never served, so a photo is never compared as another photo's pixels."""
    from pixseek.media.pixel_thumbnail import SIDE, pixel_thumbnail
    from pixseek.store import pixel_signatures

    rgb, size = pixel_thumbnail(PHOTOS / "skimage_chelsea.png")
    assert max(rgb.shape[:2]) == SIDE and size == Image.open(PHOTOS / "skimage_chelsea.png").size
    pixel_signatures.write(tmp_path, {3: (pixel_signatures.key_of("ab" * 16), (rgb, size))})
    got = pixel_signatures.read(tmp_path, {3: pixel_signatures.key_of("ab" * 16)})
    assert (got[3][0] == rgb).all() and got[3][1] == size
    assert pixel_signatures.read(tmp_path, {3: pixel_signatures.key_of("cd" * 16), 1: 7, 9: 7}) == {}
    assert pixel_signatures.missing(tmp_path, {3: pixel_signatures.key_of("cd" * 16), 1: 7}) == [1, 3]
