"""CLIP-family models a user already has, from a folder laid out as Immich keeps them:

    DIR/config.json                      open_clip model config: embed_dim, text_cfg.context_length,
                                         optional text_cfg.tokenizer_kwargs.clean
    DIR/visual/model.onnx                input "image": float32 N x 3 x S x S; output 0: the embedding
    DIR/visual/preprocess_cfg.json       size, mean, std, interpolation, resize_mode ("shortest"/"squash")
    DIR/textual/model.onnx               input "text": int32 (or int64) N x context_length; output 0
    DIR/textual/tokenizer.json           a Hugging Face `tokenizers` file
    DIR/textual/tokenizer_config.json    pad_token

`pixseek index DIR --encoder clip:MODEL_DIR` stores the image tower's unit embeddings as the visual
vectors; the text tower turns queries into vectors in the same space (search/bridges/clip.py).
Preprocessing follows preprocess_cfg.json as open_clip does: "shortest" resizes the short side to S
(the long side to int(S * long / short)) and centre-crops S x S (offsets rounded as torchvision's
CenterCrop); "squash" resizes to S x S. Pixels are scaled to [0, 1], then (x - mean) / std.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
from PIL import Image

from pixseek.encoders.base import Embedding
from pixseek.errors import PixseekError

INTERPOLATION = {"bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR,
                 "nearest": Image.Resampling.NEAREST, "lanczos": Image.Resampling.LANCZOS,
                 "box": Image.Resampling.BOX}


@dataclass(frozen=True)
class ClipPreprocess:
    """How a CLIP image tower wants its pixels; picklable, so decoding workers can apply it."""

    size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    interpolation: str = "bicubic"
    resize_mode: str = "shortest"

    def load(self, source: str | Path | bytes, box: tuple[float, float, float, float] | None = None
             ) -> tuple[np.ndarray, tuple[int, int]]:
        """The Preprocess protocol (encoders/base.py): decode (upright RGB), crop to `box`, then `apply`."""
        from pixseek.media.images import check_box

        im, (w, h) = self.open(source)
        if box is not None:
            im = im.crop(check_box(box, w, h))
        return self.apply(im), (w, h)

    def open(self, source: str | Path | bytes) -> tuple[Image.Image, tuple[int, int]]:
        """Decoded in full (the tower's own resampling decides every pixel), upright."""
        from pixseek.media.images import open_image

        im = open_image(source)
        return im, im.size

    def apply(self, im: Image.Image) -> np.ndarray:
        """An upright RGB image -> (S, S, 3) uint8."""
        s, resample = self.size, INTERPOLATION[self.interpolation]
        if self.resize_mode == "squash":
            return np.asarray(im.resize((s, s), resample), np.uint8)
        w, h = im.size
        short, long = min(w, h), max(w, h)
        other = int(s * long / short)
        size = (s, other) if w <= h else (other, s)
        im = im.resize(size, resample)
        left, top = int(round((size[0] - s) / 2.0)), int(round((size[1] - s) / 2.0))
        return np.asarray(im.crop((left, top, left + s, top + s)), np.uint8)

    def normalise(self, batch: np.ndarray) -> np.ndarray:
        """(n, S, S, 3) uint8 -> (n, 3, S, S) float32, as the tower was trained."""
        x = batch.astype(np.float32) / 255.0
        x = (x - np.asarray(self.mean, np.float32)) / np.asarray(self.std, np.float32)
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def _read_json(path: Path) -> dict:
    if not path.is_file():
        raise PixseekError(f"CLIP model folder: {path} is missing (see the layout in `pixseek index --help`)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PixseekError(f"CLIP model folder: cannot read {path}: {exc}") from None


def _session(path: Path, input_name: str):
    import onnxruntime as ort

    from pixseek.config import encoder_threads

    if not path.is_file():
        raise PixseekError(f"CLIP model folder: {path} is missing")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = encoder_threads()
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    try:
        session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types for a broken file
        raise PixseekError(f"CLIP model folder: cannot load {path}: {exc}") from None
    names = [i.name for i in session.get_inputs()]
    if names != [input_name]:
        raise PixseekError(f"CLIP model folder: {path} takes inputs {names}, pixseek expects [{input_name!r}]")
    return session


def _check_dim(session, path: Path, dim: int) -> None:
    shape = session.get_outputs()[0].shape
    if isinstance(shape[-1], int) and shape[-1] != dim:
        raise PixseekError(f"CLIP model folder: {path} gives {shape[-1]}-d embeddings but config.json says "
                           f"embed_dim {dim}: the towers do not belong together")


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


class ClipModel:
    """Both towers of one CLIP folder; each loads on first use."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder).expanduser().resolve()
        if not self.folder.is_dir():
            raise PixseekError(f"CLIP model folder {self.folder} does not exist")
        config = _read_json(self.folder / "config.json")
        try:
            self.dim = int(config["embed_dim"])
            self.context_length = int(config.get("text_cfg", {}).get("context_length", 77))
        except (KeyError, TypeError, ValueError):
            raise PixseekError(f"CLIP model folder: {self.folder / 'config.json'} has no embed_dim") from None
        self.clean = (config.get("text_cfg", {}).get("tokenizer_kwargs") or {}).get("clean") or "lower"
        cfg = _read_json(self.folder / "visual" / "preprocess_cfg.json")
        try:
            size = cfg["size"]
            size = int(size[0] if isinstance(size, list) else size)
            self.preprocess = ClipPreprocess(size, tuple(float(v) for v in cfg["mean"]),
                                             tuple(float(v) for v in cfg["std"]),
                                             str(cfg.get("interpolation", "bicubic")),
                                             str(cfg.get("resize_mode", "shortest")))
        except (KeyError, TypeError, ValueError, IndexError):
            raise PixseekError(f"CLIP model folder: {self.folder / 'visual' / 'preprocess_cfg.json'} needs size, "
                               "mean and std") from None
        if self.preprocess.interpolation not in INTERPOLATION or self.preprocess.resize_mode not in ("shortest", "squash"):
            raise PixseekError(f"CLIP model folder: unsupported interpolation {self.preprocess.interpolation!r} or "
                               f"resize_mode {self.preprocess.resize_mode!r} (use {', '.join(INTERPOLATION)}; "
                               "shortest or squash)")
        for part in ("textual/tokenizer.json", "textual/tokenizer_config.json", "visual/model.onnx", "textual/model.onnx"):
            if not (self.folder / part).is_file():
                raise PixseekError(f"CLIP model folder: {self.folder / part} is missing")

    @cached_property
    def visual(self):
        return self._tower("visual", "image")

    @cached_property
    def textual(self):
        return self._tower("textual", "text")

    def _tower(self, part: str, input_name: str):
        path = self.folder / part / "model.onnx"
        session = _session(path, input_name)
        _check_dim(session, path, self.dim)
        return session

    @cached_property
    def tokenizer(self):
        from tokenizers import Tokenizer

        path = self.folder / "textual" / "tokenizer.json"
        try:
            tok = Tokenizer.from_file(str(path))
        except Exception as exc:  # tokenizers raises a plain Exception for a malformed file
            raise PixseekError(f"CLIP model folder: cannot read {path}: {exc}") from None
        pad = _read_json(self.folder / "textual" / "tokenizer_config.json").get("pad_token")
        pad = pad.get("content") if isinstance(pad, dict) else pad
        pad_id = tok.token_to_id(pad) if pad else None
        if pad_id is None:
            raise PixseekError(f"CLIP model folder: the pad token {pad!r} of tokenizer_config.json is not in {path}")
        tok.enable_truncation(self.context_length)
        tok.enable_padding(length=self.context_length, pad_id=pad_id, pad_token=pad)
        return tok

    def tokens(self, texts: list[str]) -> np.ndarray:
        """(n, context_length) token ids: cleaned, truncated and padded with the pad token."""
        encoded = self.tokenizer.encode_batch([clean_text(t, self.clean) for t in texts])
        return np.array([e.ids for e in encoded], np.int64)

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        """(n, dim) unit text embeddings."""
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        ids = self.tokens(texts)
        kind = self.textual.get_inputs()[0].type
        ids = ids.astype(np.int32 if kind == "tensor(int32)" else np.int64)
        out = self.textual.run(None, {"text": ids})[0]
        return _unit(self._checked(out, "text"))

    def encode_images(self, batch: np.ndarray) -> np.ndarray:
        """(n, S, S, 3) uint8, prepared by `preprocess` -> (n, dim) embeddings (not normalised)."""
        out = self.visual.run(None, {"image": self.preprocess.normalise(batch)})[0]
        return self._checked(out, "image")

    def _checked(self, out: np.ndarray, tower: str) -> np.ndarray:
        out = np.asarray(out, np.float32).reshape(len(out), -1)
        if out.shape[1] != self.dim:
            raise PixseekError(f"CLIP model folder {self.folder}: the {tower} tower gives {out.shape[1]}-d "
                               f"embeddings, config.json says {self.dim}")
        return out


def clean_text(text: str, how: str) -> str:
    """open_clip's tokenizer clean options: whitespace, lower (the default), canonicalize."""
    text = re.sub(r"\s+", " ", text).strip()
    if how == "whitespace":
        return text
    if how == "canonicalize":
        text = re.sub(r"[^\w\s]", "", text)
        return re.sub(r"\s+", " ", text).strip().lower()
    return text.lower()


class ClipImageEncoder:
    """The ImageEncoder (encoders/base.py) over a CLIP image tower: no classifier head, so words reach its
    photos through the text tower rather than through classes."""

    classes = None

    def __init__(self, spec: str, model: ClipModel) -> None:
        self.name, self.model = spec, model
        self.weights = f"{model.folder}:{(model.folder / 'visual' / 'model.onnx').stat().st_size}"
        self.dim = model.dim
        self.preprocess = model.preprocess
        self.input_size = model.preprocess.size

    def embed(self, batch: np.ndarray) -> Embedding:
        return Embedding(self.model.encode_images(batch), None)
