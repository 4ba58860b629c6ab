"""Pluggable encoders: a user's own ONNX model (built here from tiny random weights) indexes and searches."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pixseek import Collection
from pixseek.encoders.onnx_image import OnnxImageEncoder
from pixseek.errors import PixseekError


class TinyNet(torch.nn.Module):
    """A stand-in for CLIP/ResNet/VGG16: float NCHW in, 'features' out, optional 'probs'."""

    def __init__(self, classes: int = 0):
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(3, 16, 5, stride=4)
        self.head = torch.nn.Linear(16, classes) if classes else None

    def forward(self, x):
        f = torch.relu(self.conv(x)).mean(dim=(2, 3))
        return (f, torch.softmax(self.head(f), 1)) if self.head is not None else f


def _export(tmp_path, classes: int = 0, size: int = 64):
    import onnx

    path = tmp_path / f"tiny{classes}.onnx"
    outputs = ["features", "probs"] if classes else ["features"]
    torch.onnx.export(TinyNet(classes).eval(), (torch.zeros(1, 3, size, size),), str(path), opset_version=17,
                      dynamo=False, input_names=["pixels"], output_names=outputs,
                      dynamic_axes={"pixels": {0: "n"}, **{o: {0: "n"} for o in outputs}})
    m = onnx.load(str(path))
    for k, v in {"pixseek.name": "tiny-test", "pixseek.input": "float_nchw", "pixseek.input_size": str(size),
                 "pixseek.mean": "0.48,0.46,0.41", "pixseek.std": "0.27,0.26,0.28"}.items():
        m.metadata_props.add(key=k, value=v)
    onnx.save(m, str(path))
    return path


def test_onnx_encoder_reads_its_metadata(tmp_path):
    enc = OnnxImageEncoder(_export(tmp_path))
    assert (enc.name, enc.dim, enc.input_size, enc.classes) == ("tiny-test", 16, 64, None)
    out = enc.embed(np.zeros((3, 64, 64, 3), np.uint8) + 100)
    assert out.features.shape == (3, 16) and out.probs is None
    expected = TinyNet()(torch.tensor((np.full((1, 3, 64, 64), 100 / 255, np.float32) - np.array([0.48, 0.46, 0.41],
                         np.float32)[None, :, None, None]) / np.array([0.27, 0.26, 0.28], np.float32)[None, :, None, None]))
    np.testing.assert_allclose(out.features[0], expected.detach().numpy()[0], rtol=1e-4, atol=1e-5)


def test_collection_with_a_user_onnx_model(photo_dir, tmp_path):
    model = _export(tmp_path)
    col = Collection.open(tmp_path / "db", encoder=f"onnx:{model}")
    report = col.index([photo_dir], progress=False)
    assert report.indexed > 0 and report.failed == 0
    query = next(p for p in photo_dir.rglob("*") if p.is_file())
    hits = col.similar(query, k=3)
    assert len(hits) == 3 and str(query) not in {h.path for h in hits}
    with pytest.raises(PixseekError, match="no classifier head"):
        col.search("dog")
    assert col.status()["model"] == f"onnx:{model}"
    # the collection remembers its encoder; opening it with another one is refused
    with pytest.raises(PixseekError, match="was indexed with encoder"):
        Collection.open(tmp_path / "db", encoder="efficientnet-lite0")


def test_missing_model_file_is_a_clear_error(tmp_path):
    with pytest.raises(PixseekError, match="not found"):
        OnnxImageEncoder(tmp_path / "missing.onnx")
