"""The learned mapping on a few real Tiny ImageNet classes: training, saving, refusing, and the search bridges."""

from __future__ import annotations

import os

import numpy as np
import pytest

from pixseek.encoders.base import Embedding
from pixseek.encoders.visual import visual_vectors
from pixseek.errors import PixseekError
from pixseek.learn.datasets import cached_features, open_dataset
from pixseek.learn.devise import fit_mapping
from pixseek.search.mapping import Mapping
from tests.conftest import CLASSES, DATA, cli_json, requires_data, run_cli

TINY = DATA / "tiny-imagenet-200"
pytestmark = requires_data


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory):
    """ImageFolder train/ + val/ of the five test classes, as links to the shared photos."""
    root = tmp_path_factory.mktemp("ds")
    for wnid in CLASSES:
        for split, n in (("train", 60), ("val", 12)):
            (root / split / wnid).mkdir(parents=True)
            for f in sorted((TINY / split / wnid).glob("*.JPEG"))[:n]:
                os.symlink(f, root / split / wnid / f.name)
    return root


@pytest.fixture(scope="module")
def features(dataset_dir, tmp_path_factory):
    from pixseek.encoders.registry import load_image_encoder
    from pixseek.lexicon.wordnet import load_wordnet

    ds = open_dataset(dataset_dir, load_wordnet())
    part = ds.split("train")
    f = cached_features(part.files, load_image_encoder(), tmp_path_factory.mktemp("cache"), progress=False)
    return ds, visual_vectors(Embedding(f.features, f.probs)), part.labels


def _fit(features, **kw) -> Mapping:
    from pixseek.lexicon.words import load_words

    ds, x, labels = features
    return fit_mapping(x, labels, [c.id for c in ds.classes], [c.names for c in ds.classes],
                       [c.wnid for c in ds.classes], load_words(), "efficientnet-lite0", **kw)


def test_mlp_cosine_converges(features):
    m = _fit(features, epochs=15)
    history = m.report["history"]
    assert history[-1]["train_loss"] < 0.7 * history[0]["train_loss"]
    assert m.report["chance_accuracy"] == 0.2
    assert m.report["val_accuracy"] >= 0.7  # chance is 0.2
    assert 0 < m.report["best_epoch"] <= len(history)


def test_hinge_and_ridge_beat_chance(features):
    assert _fit(features, loss="hinge", epochs=10).report["val_accuracy"] >= 0.7
    ridge = _fit(features, method="ridge")
    assert ridge.method == "ridge" and ridge.report["val_accuracy"] >= 0.7


def test_saved_mapping_reloads_identically(features, tmp_path):
    _, x, _ = features
    m = _fit(features, epochs=3)
    m.save(tmp_path / "m.npz")
    back = Mapping.load(tmp_path / "m.npz", encoder="efficientnet-lite0", words="glove-6b-50d", in_dim=x.shape[1])
    np.testing.assert_array_equal(back.map(x[:50]), m.map(x[:50]))
    np.testing.assert_array_equal(back.class_probs(x[:5]), m.class_probs(x[:5]))
    assert back.class_names == m.class_names and back.report["val_accuracy"] == m.report["val_accuracy"]


def test_class_head_learns_the_classes(features):
    """The softmax head behind `auto`: far above chance on held-out photos, and its folded standardisation
    gives the same class for the training photos as the accuracy it reports."""
    _, x, labels = features
    m = _fit(features, method="ridge")
    assert m.head is not None and m.report["class_head"]["val_accuracy"] >= 0.7  # chance is 0.2
    probs = m.class_probs(x)
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)
    assert (probs.argmax(axis=1) == labels).mean() >= 0.8


def test_mapping_without_class_head_still_loads(features, tmp_path):
    """A version-1 file (before the head) keeps working: its class probabilities come from word cosines."""
    import json

    _, x, _ = features
    m = _fit(features, method="ridge")
    m.head = None
    m.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz") as z:
        arrays = dict(z)
    header = json.loads(str(arrays["header"]))
    arrays["header"] = np.array(json.dumps({**header, "version": 1}))
    np.savez(tmp_path / "v1.npz", **arrays)
    back = Mapping.load(tmp_path / "v1.npz")
    assert back.head is None
    np.testing.assert_allclose(back.class_probs(x[:5]), m.class_probs(x[:5]), rtol=1e-6)


def test_mapping_for_another_encoder_or_word_space_is_refused(features, tmp_path):
    m = _fit(features, method="ridge")
    m.save(tmp_path / "m.npz")
    with pytest.raises(PixseekError, match="trained for encoder 'efficientnet-lite0'.*uses 'onnx:/x.onnx'"):
        Mapping.load(tmp_path / "m.npz", encoder="onnx:/x.onnx")
    with pytest.raises(PixseekError, match="maps into word space 'glove-6b-50d'.*uses 'vectors.txt'"):
        Mapping.load(tmp_path / "m.npz", words="vectors.txt")
    with pytest.raises(PixseekError, match="takes 2280-d image vectors"):
        Mapping.load(tmp_path / "m.npz", in_dim=1280)
    (tmp_path / "junk.npz").write_bytes(b"not a mapping")
    with pytest.raises(PixseekError, match="cannot read mapping"):
        Mapping.load(tmp_path / "junk.npz")


def test_cli_train_search_tag_eval(dataset_dir, tmp_path, monkeypatch):
    """End to end through the CLI: no mapping -> auto and conse find the class, devise asks for training; after training
    both learned bridges find the class named, and eval reports the figures."""
    from pixseek.config import cache_dir

    cache = tmp_path / "cache"
    cache.mkdir()
    os.symlink(cache_dir() / "models", cache / "models")  # reuse the exported encoder, keep features apart
    monkeypatch.setenv("PIXSEEK_CACHE", str(cache))
    db = tmp_path / "col"
    run_cli("index", str(dataset_dir / "val"), "--no-progress", db=db)
    conse = cli_json("search", "goldfish", "-k", "5", "--bridge", "conse", db=db)["results"]
    auto = cli_json("search", "goldfish", "-k", "5", db=db)["results"]  # conse blended with the joint space
    assert sum("n01443537" in h["path"] for h in auto) >= 4 and {h["path"] for h in auto} & {h["path"] for h in conse}
    proc = run_cli("search", "goldfish", "--bridge", "devise", db=db, check=False)
    assert proc.returncode == 1 and "pixseek train" in proc.stderr

    out = cli_json("train", str(dataset_dir), "--epochs", "10", "--no-progress", db=db)
    assert out["val_accuracy"] >= 0.7 and (db / "mappings" / "devise.npz").is_file()
    assert (db / "mappings" / "devise.json").is_file()
    for bridge in ("devise", "auto"):
        hits = cli_json("search", "goldfish", "-k", "5", "--bridge", bridge, db=db)["results"]
        assert sum("n01443537" in h["path"] for h in hits) >= 4, (bridge, hits)
    tabby = sorted((dataset_dir / "val" / "n02123045").iterdir())[0]
    # the trained mapping's own tags (the default, calibrated tags of a 64-px photo may be empty or wrong: "dog"
    # on this tabby, docs/benchmarks.md "Tags a user can trust")
    tags = cli_json("tag", str(tabby), "-k", "5", "--bridge", "devise", db=db)
    assert any("cat" in t["tag"] or "tabby" in t["tag"] for t in tags), tags

    figures = cli_json("eval", str(dataset_dir), "--no-progress", db=db)
    assert figures["bridge"] == "auto" and figures["images"] == 60 and figures["queries"] == 5
    assert figures["keyword_p10"] >= 0.8 and figures["tag_top1"] >= 0.6 and "image_p10_learned" in figures
    assert cli_json("eval", str(dataset_dir), "--bridge", "conse", "--no-progress", db=db)["bridge"] == "conse"
