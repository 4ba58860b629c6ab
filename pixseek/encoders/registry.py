"""Encoder specs as short strings: "efficientnet-lite0" (default) or "onnx:/path/to/model.onnx"."""

from __future__ import annotations

from pixseek.config import DEFAULT_ENCODER
from pixseek.encoders.base import ImageEncoder
from pixseek.errors import PixseekError


def load_image_encoder(spec: str = DEFAULT_ENCODER) -> ImageEncoder:
    if spec.startswith("efficientnet-"):
        from pixseek.encoders.efficientnet import load_efficientnet

        return load_efficientnet(spec)
    if spec.startswith("onnx:"):
        from pixseek.encoders.onnx_image import OnnxImageEncoder

        return OnnxImageEncoder(spec[len("onnx:"):])
    raise PixseekError(f"unknown encoder {spec!r}: use efficientnet-lite0/1/2 or onnx:PATH")
