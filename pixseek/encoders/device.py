"""Where the image encoder runs: "cpu" (ONNX Runtime), "cuda" (PyTorch on an NVIDIA GPU) or "auto".

Resolving "cpu" imports nothing; "cuda" and "auto" import torch to ask it for a GPU. A request that cannot
be met is a PixseekError that says why and what to use instead, never a traceback.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from pixseek.config import DEFAULT_ENCODER, INT8_ENCODER, env
from pixseek.errors import PixseekError

DEVICES = ("cpu", "cuda", "auto")
TORCH_ENCODERS = "efficientnet-"  # the encoders with a PyTorch twin (encoders/torch_image.py), but not
INT8 = "-int8"  # their int8 copies (encoders/quantized.py): a float twin would not give their vectors


def has_torch_twin(encoder_spec: str) -> bool:
    return encoder_spec.startswith(TORCH_ENCODERS) and not encoder_spec.endswith(INT8)


def cuda_missing() -> str | None:
    """Why PyTorch cannot run on a GPU here, or None when it can."""
    if importlib.util.find_spec("torch") is None:
        return "PyTorch is not installed"
    import torch

    if torch.version.cuda is None:
        return f"the installed PyTorch ({torch.__version__}) is a CPU-only build"
    if not torch.cuda.is_available():
        return f"PyTorch {torch.__version__} (CUDA {torch.version.cuda}) sees no GPU"
    return None


def resolve_device(requested: str, encoder_spec: str) -> str:
    """'cpu' or 'cuda' for `requested` and the collection's encoder: auto is cuda only when the encoder has
    a PyTorch twin and torch sees a GPU; cuda that cannot run is refused with the reason."""
    if requested not in DEVICES:
        raise PixseekError(f"unknown device {requested!r}: use {', '.join(DEVICES)}")
    if requested == "cpu":
        return "cpu"
    twin = has_torch_twin(encoder_spec)
    if requested == "auto":
        return "cuda" if twin and cuda_missing() is None else "cpu"
    if not twin:
        raise PixseekError(f"--device cuda runs the float efficientnet-lite encoders only; this collection uses "
                           f"{encoder_spec}: index it with --device cpu (a new collection for the GPU: "
                           "--encoder efficientnet-lite0)")
    reason = cuda_missing()
    if reason is not None:
        raise PixseekError(f"--device cuda: {reason}; index with --device cpu, or --device auto (CUDA when "
                           "there is a GPU, the CPU otherwise)")
    return "cuda"


def new_collection_encoder(device: str = "cpu") -> str:
    """The encoder a new collection gets when none is named: $PIXSEEK_ENCODER if set; the float model when
    it will be indexed on a GPU (its PyTorch twin runs there) or the CPU lacks VNNI; else its int8 copy."""
    if named := env("PIXSEEK_ENCODER"):
        return named
    if device != "cpu" and resolve_device(device, DEFAULT_ENCODER) == "cuda":
        return DEFAULT_ENCODER
    return INT8_ENCODER if cpu_has_vnni() else DEFAULT_ENCODER


def cpu_has_vnni() -> bool:
    """Whether this CPU has VNNI dot products (x86 AVX-512 VNNI or AVX-VNNI). With them ONNX Runtime's int8
    kernels run the int8 encoder at 2.2-2.5x the float one (docs/benchmarks.md, "Int8 encoders"); without
    them its uint8 x int8 products can saturate (ONNX Runtime's quantization guide) and the int8 vectors
    were not measured, so those machines (and any whose CPU cannot be read, such as macOS) keep float."""
    try:
        flags = next((line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags")), "")
    except OSError:
        return False
    return bool({"avx512_vnni", "avx_vnni"} & set(flags.split()))
