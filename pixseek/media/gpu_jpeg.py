"""JPEG decoding and the encoder's square crop as tensor operations, for the GPU path of `pixseek index`.

nvJPEG (torchvision.io.decode_jpeg with a CUDA device) turns a batch of JPEG files into pixels on the
GPU; `upright` applies the EXIF orientation and `square_crop` the geometry of the CPU path
(media/images.py: short side to size*256/224, centre size x size, antialiased when shrinking), so
the encoder sees the same photo either way (within a grey level or two: another IDCT; Pillow shrinks a
large JPEG partly while decoding it, nvJPEG decodes it whole).
Only the decode needs torchvision; the rest is plain torch and runs on any device.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch

Decoder = Callable[[Sequence[bytes], torch.device], list[torch.Tensor | None]]  # -> (3, h, w) uint8, None: refused


def nvjpeg_missing() -> str | None:
    """Why torchvision's JPEG decoder cannot be used here, or None when it can. An installed torchvision
    built for another torch fails on import (its operators do not register): that counts as missing."""
    try:
        from torchvision.io import decode_jpeg  # noqa: F401
    except Exception as exc:  # ImportError, or RuntimeError from a mismatched build
        return f"torchvision is not usable ({type(exc).__name__}: {str(exc)[:120]})"
    return None


def nvjpeg_decode(files: Sequence[bytes], device: torch.device) -> list[torch.Tensor | None]:
    """Decode JPEG files on `device` in one batch; when the batch fails, each file alone, so one broken
    file costs only itself (None: left to the CPU decoders, which name the reason)."""
    from torchvision.io import ImageReadMode, decode_jpeg

    data = [torch.frombuffer(bytearray(f), dtype=torch.uint8) for f in files]
    try:
        return list(decode_jpeg(data, mode=ImageReadMode.RGB, device=device))
    except RuntimeError:
        out: list[torch.Tensor | None] = []
        for d in data:
            try:
                out.append(decode_jpeg(d, mode=ImageReadMode.RGB, device=device))
            except RuntimeError:
                out.append(None)
        return out


def upright(img: torch.Tensor, orientation: int) -> torch.Tensor:
    """(3, h, w) pixels turned as EXIF orientation 1-8 says (PIL's ImageOps.exif_transpose)."""
    if orientation == 2:
        return img.flip(2)
    if orientation == 3:
        return img.flip(1, 2)
    if orientation == 4:
        return img.flip(1)
    if orientation == 5:
        return img.transpose(1, 2)
    if orientation == 6:
        return torch.rot90(img, -1, dims=(1, 2))
    if orientation == 7:
        return img.transpose(1, 2).flip(1, 2)
    if orientation == 8:
        return torch.rot90(img, 1, dims=(1, 2))
    return img


def square_crop(img: torch.Tensor, size: int) -> torch.Tensor:
    """(3, h, w) uint8 -> (size, size, 3) uint8: the box the CPU path maps (the centre square of side
    min(w, h) * 224/256) resampled to size x size with Pillow's antialiased bilinear (triangle) weights,
    written as two small matrix products, so the pixels agree with the CPU crop within a grey level."""
    _, h, w = img.shape
    scale = round(size * 256 / 224) / min(w, h)
    side = size / scale  # the output's extent in source pixels
    rows, y0 = _weights(h, (h - side) / 2, side, size, img.device)
    cols, x0 = _weights(w, (w - side) / 2, side, size, img.device)
    region = img[:, y0:y0 + rows.shape[1], x0:x0 + cols.shape[1]].float()
    out = rows @ region @ cols.T  # (3, size, size)
    return out.round_().clamp_(0, 255).to(torch.uint8).permute(1, 2, 0).contiguous()


def _weights(n_in: int, start: float, length: float, n_out: int, device: torch.device) -> tuple[torch.Tensor, int]:
    """Pillow's bilinear resampling of source pixels [start, start + length) onto n_out pixels, as an
    (n_out, m) matrix over the m source pixels from the returned first one (those the filter reaches)."""
    step = length / n_out
    support = max(step, 1.0)  # shrinking widens the triangle: antialiasing
    first = max(0, math.floor(start - support))
    last = min(n_in, math.ceil(start + length + support))
    centre = start + (torch.arange(n_out, device=device, dtype=torch.float64) + 0.5) * step
    x = torch.arange(first, last, device=device, dtype=torch.float64) + 0.5
    w = (1 - (x[None, :] - centre[:, None]).abs() / support).clamp_(min=0)
    return (w / w.sum(dim=1, keepdim=True)).float(), first
