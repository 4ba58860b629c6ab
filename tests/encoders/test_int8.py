"""The int8 EfficientNet-Lite0 (encoders/quantized.py): built from the float export, it gives the float
model's vectors closely enough on real photos to share its joint space and search cut-offs."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import CLASSES, PHOTOS, TINY_VAL, requires_data

from pixseek.encoders.base import Embedding
from pixseek.encoders.calibration import dead_leaves
from pixseek.encoders.registry import feature_space, load_image_encoder
from pixseek.encoders.visual import visual_vectors
from pixseek.errors import PixseekError


def _real_photos(size: int) -> np.ndarray:
    from pixseek.media.images import load_for_encoder

    files = [f for wnid in CLASSES for f in sorted((TINY_VAL / wnid).glob("*.JPEG"))[:4]]
    files += sorted(PHOTOS.iterdir())[:8]  # full-size photos too (none of them is a calibration picture)
    return np.stack([load_for_encoder(str(f), size)[0] for f in files])


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


@requires_data
def test_int8_encoder_agrees_with_the_float_one_on_real_photos():
    import onnx

    from pixseek.encoders.efficientnet import model_path

    int8, fp32 = load_image_encoder("efficientnet-lite0-int8"), load_image_encoder("efficientnet-lite0")
    assert (int8.name, int8.dim, int8.input_size, int8.classes) == ("efficientnet-lite0-int8", 1280, 224, fp32.classes)
    graph = onnx.load(str(model_path("efficientnet-lite0-int8"))).graph
    ops = {n.op_type for n in graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops  # really quantized, not a copy of the float file
    assert not {"Cast", "Div", "Sub"} & ops  # the scaling went into the stem, which takes the uint8 pixels
    first = next(n for n in graph.node if n.op_type == "Conv")
    assert first.name == "pixseek_stem_conv" and first.input[0] == "pixseek_stem_x_dq"
    pixels = _real_photos(224)
    a, b = fp32.embed(pixels), int8.embed(pixels)
    feats = _cosines(a.features, b.features)
    # measured on these 28 photos: features mean 0.988, min 0.946 (a texture, gravel, agrees least); image
    # vectors mean 0.990, min 0.963; the same top class for 23 of 28 (docs/benchmarks.md, "Int8 encoders")
    assert feats.mean() > 0.975 and feats.min() > 0.9, feats
    visual = (visual_vectors(Embedding(a.features, a.probs)) * visual_vectors(Embedding(b.features, b.probs))).sum(1)
    assert visual.mean() > 0.975 and visual.min() > 0.92, visual
    assert (a.probs.argmax(1) == b.probs.argmax(1)).mean() >= 0.7  # the classifier mostly names the same class
    np.testing.assert_allclose(b.probs.sum(1), 1, atol=1e-4)  # the head stayed float: real probabilities


def test_int8_shares_the_float_feature_space_and_refuses_unknown_variants():
    assert feature_space("efficientnet-lite0-int8") == "efficientnet-lite0"
    assert feature_space("efficientnet-lite0") == "efficientnet-lite0"
    assert feature_space("onnx:/models/x-int8") == "onnx:/models/x-int8"  # only the packaged models have copies
    with pytest.raises(PixseekError, match="efficientnet-lite0-int8"):
        load_image_encoder("efficientnet-lite7-int8")


def test_the_float_models_joint_space_and_cut_offs_serve_its_int8_copy():
    from pixseek.search.cutoff import shipped_cutoffs
    from pixseek.search.joint_space import find_joint_space, packaged_space_path

    shipped = str(packaged_space_path("efficientnet-lite0"))
    assert find_joint_space("efficientnet-lite0-int8") == packaged_space_path("efficientnet-lite0")
    files = {"joint": shipped, "mapping": None}
    assert shipped_cutoffs("efficientnet-lite0-int8", files) == shipped_cutoffs("efficientnet-lite0", files) != {}


def test_calibration_pictures_are_the_same_everywhere():
    a, b = dead_leaves(3, 64), dead_leaves(3, 64)
    assert a.shape == (3, 64, 64, 3) and a.dtype == np.uint8 and (a == b).all()
    assert a.std() > 30 and len({int(p.mean()) for p in a}) == 3  # varied pictures, not flat frames


NO_TORCH = "import sys; sys.modules['torch'] = None; sys.argv = ['pixseek', *sys.argv[1:]]; " \
           "from pixseek.interfaces.cli import main; raise SystemExit(main())"


def test_indexing_needs_no_torch_once_the_model_files_exist(tmp_path, photo_dir):
    """torch is an extra (`export`): with the ONNX files made, pixseek runs without it; without them it says
    in one line what to install."""
    import json
    import os
    import subprocess
    import sys

    load_image_encoder("efficientnet-lite0-int8")  # the files exist (made with torch, once)
    run = lambda *args, **env: subprocess.run([sys.executable, "-c", NO_TORCH, *args], capture_output=True, text=True,
                                              env={**os.environ, **env}, timeout=600)
    done = run("index", str(photo_dir), "--db", str(tmp_path / "db"), "--encoder", "efficientnet-lite0-int8", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["indexed"] > 0
    fresh = run("index", str(photo_dir), "--db", str(tmp_path / "db2"), PIXSEEK_CACHE=str(tmp_path / "empty-cache"))
    assert fresh.returncode != 0 and "Traceback" not in fresh.stderr
    assert "needs PyTorch once" in fresh.stderr and "pixseek[export]" in fresh.stderr and len(fresh.stderr.splitlines()) == 1


def test_the_int8_encoder_has_no_gpu_twin():
    """The PyTorch twin on a GPU is the float model: it would not give an int8 collection's vectors."""
    from pixseek.encoders.device import resolve_device

    assert resolve_device("auto", "efficientnet-lite0-int8") == "cpu"
    with pytest.raises(PixseekError, match="--encoder efficientnet-lite0"):
        resolve_device("cuda", "efficientnet-lite0-int8")


def test_the_stems_rounding_fits_the_pixels_better_than_rounding_to_nearest():
    """encoders/quantized_stem.py: on picture patches, the fitted int8 weights give a smaller output error
    than plain rounding, channel by channel (or the same, where nearest is already best)."""
    from pixseek.encoders.quantized_stem import _patches, _round_weights

    rng = np.random.default_rng(0)
    weights = rng.normal(0, 0.3, (8, 3, 3, 3))
    patches = _patches(dead_leaves(4, 64), 128, 1 / 127.5, (3, 3), (2, 2))
    q, scale = _round_weights(weights, np.zeros(8), 1 / 127.5, patches)
    flat = weights.reshape(8, -1)
    nearest = np.round(flat / scale[:, None])
    assert np.abs(q.reshape(8, -1) - nearest).max() <= 1 and (q != nearest.reshape(q.shape)).any()

    def error(w):
        out = patches @ (flat - scale[:, None] * w).T
        return (out ** 2).mean(0)

    fitted, plain = error(q.reshape(8, -1)), error(nearest)
    assert (fitted <= plain + 1e-12).all() and fitted.sum() < 0.8 * plain.sum(), (fitted, plain)


def test_a_new_collection_gets_int8_on_a_cpu_with_vnni_and_keeps_its_encoder(tmp_path, monkeypatch):
    from pixseek.encoders.device import cpu_has_vnni, new_collection_encoder
    from pixseek.interfaces.collection import Collection

    monkeypatch.delenv("PIXSEEK_ENCODER", raising=False)
    expected = "efficientnet-lite0-int8" if cpu_has_vnni() else "efficientnet-lite0"
    assert new_collection_encoder() == expected
    assert Collection.open(tmp_path / "a").encoder_spec == expected
    monkeypatch.setenv("PIXSEEK_ENCODER", "efficientnet-lite0")
    assert Collection.open(tmp_path / "b").encoder_spec == "efficientnet-lite0"
    assert Collection.open(tmp_path / "a").encoder_spec == expected  # an existing collection keeps its own
