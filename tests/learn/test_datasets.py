"""The labelled-folder reader and the feature cache, on real Tiny ImageNet files (linked, never copied into the repo)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from pixseek.errors import PixseekError
from pixseek.learn.datasets import cached_features, open_dataset
from pixseek.lexicon.wordnet import load_wordnet
from tests.conftest import CLASSES, DATA, requires_data

TINY = DATA / "tiny-imagenet-200"
pytestmark = requires_data


def _link(src, dest):
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(src, dest)


def test_shared_tiny_imagenet_layout():
    ds = open_dataset(TINY)
    assert ds.layout == "tiny-imagenet" and len(ds.classes) == 200
    assert len(ds.split("train").files) == 20000 and len(ds.split("val").files) == 10000
    goldfish = next(i for i, c in enumerate(ds.classes) if c.id == "n01443537")
    assert ds.classes[goldfish].name == "goldfish" and ds.classes[goldfish].wnid == "n01443537"
    assert (ds.split("val").labels == goldfish).sum() == 50
    sub = ds.subset(list(CLASSES))
    assert [c.id for c in sub.classes] == sorted(CLASSES, key=[c.id for c in ds.classes].index)
    assert set(sub.split("train").labels) == set(range(5)) and len(sub.split("train").files) == 500


def test_original_tiny_imagenet_layout(tmp_path):
    """train/<wnid>/images/ and val/images + val_annotations.txt, as the archive ships them."""
    root = tmp_path / "tiny"
    ids = list(CLASSES)[:3]
    (root).mkdir()
    (root / "wnids.txt").write_text("\n".join(ids) + "\n")
    (root / "words.txt").write_text("".join(f"{w}\t{n}, other name\n" for w, n in CLASSES.items()))
    notes = []
    for w in ids:
        for f in sorted((TINY / "train" / w).glob("*.JPEG"))[:4]:
            _link(f, root / "train" / w / "images" / f.name)
        for f in sorted((TINY / "val" / w).glob("*.JPEG"))[:2]:
            _link(f, root / "val" / "images" / f.name)
            notes.append(f"{f.name}\t{w}\t0\t0\t63\t63")
    (root / "val" / "val_annotations.txt").write_text("\n".join(notes) + "\n")
    ds = open_dataset(root)
    assert [c.name for c in ds.classes] == [CLASSES[w] for w in ids]
    assert ds.classes[0].names == [CLASSES[ids[0]], "other name"]
    assert len(ds.split("train").files) == 12 and list(np.bincount(ds.split("val").labels)) == [2, 2, 2]


def test_imagefolder_names_from_wordnet_and_folders(tmp_path):
    root = tmp_path / "folder"
    for w in ("n01443537", "orange"):
        src = TINY / "val" / ("n01443537" if w == "n01443537" else "n07747607")
        for f in sorted(src.glob("*.JPEG"))[:3]:
            _link(f, root / w / f.name)
    (root / "notes.txt").write_text("not a class")
    ds = open_dataset(root, load_wordnet())
    assert ds.layout == "imagefolder" and len(ds.split("train").files) == 6
    names = {c.id: c for c in ds.classes}
    if load_wordnet() is not None:
        assert names["n01443537"].name == "goldfish"
        assert names["orange"].wnid is not None  # resolved through WordNet
    assert names["orange"].name == "orange"
    with pytest.raises(PixseekError, match="no 'val' split"):
        ds.split("val")


def test_empty_or_missing_folder(tmp_path):
    with pytest.raises(PixseekError, match="no such dataset folder"):
        open_dataset(tmp_path / "absent")
    (tmp_path / "empty" / "cls").mkdir(parents=True)
    with pytest.raises(PixseekError, match="holds no labelled images"):
        open_dataset(tmp_path / "empty")


def test_feature_cache_resumes(tmp_path):
    from pixseek.encoders.registry import load_image_encoder

    files = [str(f) for f in sorted((TINY / "val" / "n01443537").glob("*.JPEG"))[:10]]
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff not really")
    files.append(str(bad))
    enc = load_image_encoder()
    first = cached_features(files, enc, tmp_path / "cache", chunk=4, progress=False)
    assert first.features.shape == (11, enc.dim) and first.probs.shape == (11, 1000)
    assert first.ok.tolist() == [True] * 10 + [False]
    chunks = sorted((tmp_path / "cache").rglob("*.npz"))
    assert len(chunks) == 3
    chunks[1].unlink()  # as if interrupted before the second chunk was written
    again = cached_features(files, enc, tmp_path / "cache", chunk=4, progress=False)
    np.testing.assert_allclose(again.features, first.features, rtol=1e-5, atol=1e-5)
    assert len(sorted((tmp_path / "cache").rglob("*.npz"))) == 3
