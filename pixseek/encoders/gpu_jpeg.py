"""JPEG decoding and the encoder's square crop as tensor operations, for the GPU path of `pixseek index`.

nvJPEG (torchvision.io.decode_jpeg with a CUDA device) turns a batch of JPEG files into pixels on the
GPU; `upright` applies the EXIF orientation and `square_crop` the geometry of the CPU path
(encoders/images.py: short side to size*256/224, centre size x size, antialiased when shrinking), so
the encoder sees the same photo either way (within a grey level or two: another IDCT, another resize).
Only the decode needs torchvision; the rest is plain torch and runs on any device.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

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
    """(3, h, w) uint8 -> (size, size, 3) uint8: the centre square scaled to size*256/224, its centre
    size x size kept (the CPU path maps the same box; here it starts on a whole source pixel)."""
    _, h, w = img.shape
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    big = round(size * 256 / 224)
    sq = img[:, top:top + side, left:left + side].unsqueeze(0).float()
    scaled = F.interpolate(sq, size=(big, big), mode="bilinear", align_corners=False, antialias=big < side)
    off = (big - size + 1) // 2
    out = scaled[0, :, off:off + size, off:off + size]
    return out.round_().clamp_(0, 255).to(torch.uint8).permute(1, 2, 0)
