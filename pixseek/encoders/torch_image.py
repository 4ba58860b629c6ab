"""EfficientNet-Lite in PyTorch: the model the ONNX file is exported from, run directly on a GPU.

`PixelModel` is the one wrapper both paths use: export_onnx (encoders/efficientnet.py) traces it in
float32, TorchImageEncoder runs it in float16 with channels_last convolutions on CUDA. It takes uint8
NHWC pixels; permuting them to NCHW gives a channels_last tensor without a copy. Same weights and graph,
so a collection may hold vectors from both (tests/encoders/test_torch_image.py checks they agree).
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
import torch

from pixseek.encoders.base import Embedding
from pixseek.encoders.efficientnet_weights import VARIANTS, weights_path
from pixseek.encoders.imagenet import imagenet_wnids
from pixseek.errors import PixseekError
from pixseek.media.preprocess import SquareCrop


class PixelModel(torch.nn.Module):
    """uint8 (n, size, size, 3) pixels -> (pooled features, class probabilities), both float32."""

    def __init__(self, net: torch.nn.Module, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.net, self.dtype = net, dtype

    def forward(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = pixels.permute(0, 3, 1, 2).to(self.dtype) / 127.5 - 1.0
        feats = self.net.extract_features(x).mean(dim=(2, 3))
        logits = self.net._fc(feats)
        if self.dtype != torch.float32:  # decided while tracing: the exported graph has no extra casts
            feats, logits = feats.float(), logits.float()
        return feats, torch.softmax(logits, dim=1)


def pixel_model(variant: str, dtype: torch.dtype = torch.float32) -> PixelModel:
    """The variant built from its packaged weights (no download), in eval mode."""
    from efficientnet_lite_pytorch import EfficientNet

    if variant not in VARIANTS:
        raise PixseekError(f"unknown EfficientNet variant {variant!r}; choose from {', '.join(VARIANTS)}")
    with contextlib.redirect_stdout(io.StringIO()):  # it prints "Loaded pretrained weights", stdout is for results
        net = EfficientNet.from_pretrained(variant, weights_path=weights_path(variant))
    return PixelModel(net.to(dtype).eval(), dtype).eval()


class TorchImageEncoder:
    """An ImageEncoder on a torch device: on CUDA float16, channels_last, `batch_size` images per call of
    the model; on the CPU float32 (the path the equivalence tests take)."""

    def __init__(self, variant: str = "efficientnet-lite0", device: str = "cuda", half: bool | None = None,
                 batch_size: int = 256) -> None:
        self.device = torch.device(device)
        self.half = self.device.type != "cpu" if half is None else half
        dtype = torch.float16 if self.half else torch.float32
        self.model = pixel_model(variant, dtype).to(self.device, memory_format=torch.channels_last)
        self.name = self.weights = variant  # the packaged weights, as the ONNX export's
        self.input_size = VARIANTS[variant]
        self.preprocess = SquareCrop(self.input_size)
        self.dim = int(self.model.net._fc.in_features)
        self.classes: list[str] | None = imagenet_wnids()
        self.batch_size = batch_size

    def embed(self, batch: np.ndarray) -> Embedding:
        assert batch.ndim == 4 and batch.shape[1:] == (self.input_size, self.input_size, 3), batch.shape
        feats, probs = [], []
        with torch.inference_mode():
            for start in range(0, len(batch), self.batch_size):
                x = torch.from_numpy(np.ascontiguousarray(batch[start:start + self.batch_size], dtype=np.uint8))
                if self.device.type == "cuda":
                    x = x.pin_memory().to(self.device, non_blocking=True)
                f, p = self.model(x)
                feats.append(f.cpu().numpy())
                probs.append(p.cpu().numpy())
        if not feats:
            return Embedding(np.zeros((0, self.dim), np.float32), np.zeros((0, len(self.classes or [])), np.float32))
        return Embedding(np.concatenate(feats).astype(np.float32), np.concatenate(probs).astype(np.float32))
