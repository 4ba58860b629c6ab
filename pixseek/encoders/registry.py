"""Encoder specs as short strings: "efficientnet-lite0", its int8 copy "efficientnet-lite0-int8"
(encoders/quantized.py), "onnx:/path/to/model.onnx" or "clip:/path/to/model-folder" (a CLIP image and
text tower, encoders/clip.py). config.DEFAULT_ENCODER names the one new collections get."""

from __future__ import annotations

from pixseek.config import DEFAULT_ENCODER
from pixseek.encoders.base import ImageEncoder
from pixseek.errors import PixseekError


def canonical_spec(spec: str) -> str:
    """The spec a collection records: a model file or folder as an absolute path, so that the collection
    opens the same model from any working directory."""
    import os

    for prefix in ("onnx:", "clip:"):
        if spec.startswith(prefix):
            return prefix + os.path.abspath(os.path.expanduser(spec[len(prefix):]))
    return spec


def load_image_encoder(spec: str = DEFAULT_ENCODER, device: str = "cpu") -> ImageEncoder:
    """The encoder a spec names; device "cuda" (or "auto" on a machine with a GPU) gives the PyTorch twin of
    an EfficientNet-Lite, with the same weights and vectors (encoders/device.py, encoders/torch_image.py)."""
    if device != "cpu":
        from pixseek.encoders.device import resolve_device

        device = resolve_device(device, spec)
    if device == "cuda":
        from pixseek.encoders.torch_image import TorchImageEncoder

        if spec not in _gpu_encoders:  # one copy on the GPU per process (a watch indexes again and again)
            _gpu_encoders[spec] = TorchImageEncoder(spec, device="cuda")
        return _gpu_encoders[spec]
    if spec.startswith("efficientnet-"):
        from pixseek.encoders.efficientnet import load_efficientnet

        return load_efficientnet(spec)
    if spec.startswith("onnx:"):
        from pixseek.encoders.onnx_image import OnnxImageEncoder

        return OnnxImageEncoder(spec[len("onnx:"):])
    if spec.startswith("clip:"):
        from pixseek.encoders.clip import ClipImageEncoder

        return ClipImageEncoder(spec, clip_model(spec))
    raise PixseekError(f"unknown encoder {spec!r}: use efficientnet-lite0/1/2 (float), "
                       "efficientnet-lite0/1/2-int8, onnx:PATH or clip:DIR")


_clip_models: dict[str, object] = {}
_gpu_encoders: dict[str, ImageEncoder] = {}


def clip_model(spec: str):
    """The CLIP folder of a clip:DIR spec, loaded once per process (both towers share it)."""
    from pixseek.encoders.clip import ClipModel

    if spec not in _clip_models:
        _clip_models[spec] = ClipModel(spec[len("clip:"):])
    return _clip_models[spec]


def feature_space(spec: str) -> str:
    """The encoder whose feature space `spec` shares: the float model for its int8 copy (their vectors
    agree to a cosine of 0.99, docs/benchmarks.md), so that the joint space and the search cut-offs
    shipped for the float model serve the int8 one; any other spec is its own."""
    from pixseek.encoders.quantized import split_spec

    variant, int8 = split_spec(spec)
    return variant if int8 and spec.startswith("efficientnet-") else spec


def load_text_tower(spec: str):
    """The text encoder that belongs to an image encoder (a CLIP text tower), or None when words reach the
    encoder's photos through its classes, a mapping or the joint space instead."""
    return clip_model(spec) if spec.startswith("clip:") else None
