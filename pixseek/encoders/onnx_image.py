"""Run any image model exported to ONNX with ONNX Runtime (about 10x faster than eager PyTorch on CPU).

A model file describes itself through ONNX metadata so that user models (CLIP, ResNet, VGG16 fc2, ...)
plug in without code: `pixseek.input` is "uint8_nhwc" (normalisation baked into the graph) or
"float_nchw" (we normalise with `pixseek.mean` / `pixseek.std`, comma-separated, on 0..1 pixels).
Outputs are matched by name: "features" (required, else the first output) and "probs" (optional).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pixseek.config import encoder_threads
from pixseek.encoders.base import Embedding
from pixseek.errors import PixseekError
from pixseek.media.preprocess import SquareCrop


class OnnxImageEncoder:
    """An ImageEncoder backed by an .onnx file."""

    def __init__(
        self,
        path: str | Path,
        name: str | None = None,
        classes: list[str] | None = None,
        input_size: int | None = None,
        mean: tuple[float, float, float] | None = None,
        std: tuple[float, float, float] | None = None,
    ) -> None:
        import onnxruntime as ort

        path = Path(path)
        if not path.is_file():
            raise PixseekError(f"ONNX model not found: {path}")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = encoder_threads()
        opts.inter_op_num_threads = 1
        # No busy-waiting between batches: the cycles belong to the decoding workers on small machines.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise PixseekError(f"cannot load ONNX model {path}: {exc}") from exc
        meta = self.session.get_modelmeta().custom_metadata_map
        inp = self.session.get_inputs()[0]
        self._input_name = inp.name
        self._layout = meta.get("pixseek.input", "uint8_nhwc" if "uint8" in inp.type else "float_nchw")
        shape = inp.shape
        guessed = shape[1] if self._layout == "uint8_nhwc" else shape[-1]
        self.input_size = int(input_size or meta.get("pixseek.input_size") or (guessed if isinstance(guessed, int) else 224))
        self.preprocess = SquareCrop(self.input_size)
        self.name = name or meta.get("pixseek.name") or path.stem
        self.weights = f"{path.name}:{path.stat().st_size}"  # an int8 file made by another recipe differs in both
        self.mean = np.array(mean or _floats(meta.get("pixseek.mean"), (0.5, 0.5, 0.5)), np.float32)
        self.std = np.array(std or _floats(meta.get("pixseek.std"), (0.5, 0.5, 0.5)), np.float32)
        outs = [o.name for o in self.session.get_outputs()]
        self._features = "features" if "features" in outs else outs[0]
        self._probs = "probs" if "probs" in outs else None
        feat_shape = self.session.get_outputs()[outs.index(self._features)].shape
        self.dim = int(feat_shape[-1])
        self.classes = classes if self._probs else None
        if self._probs and self.classes is None and meta.get("pixseek.classes"):
            self.classes = meta["pixseek.classes"].split(",")

    def embed(self, batch: np.ndarray) -> Embedding:
        assert batch.ndim == 4 and batch.shape[1:] == (self.input_size, self.input_size, 3), batch.shape
        if self._layout == "uint8_nhwc":
            x = np.ascontiguousarray(batch, dtype=np.uint8)
        else:
            x = (batch.astype(np.float32) / 255.0 - self.mean) / self.std
            x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
        wanted = [self._features] + ([self._probs] if self._probs else [])
        out = self.session.run(wanted, {self._input_name: x})
        feats = np.asarray(out[0], np.float32).reshape(len(batch), -1)
        probs = np.asarray(out[1], np.float32) if self._probs else None
        return Embedding(feats, probs)


def _floats(text: str | None, default: tuple[float, ...]) -> tuple[float, ...]:
    return tuple(float(v) for v in text.split(",")) if text else default
