"""A learned image -> word-space mapping (DeViSE): the trained layers, their file, and where a collection keeps it.

The mapping takes an image's visual vector (what the collection already stores, so every indexed image
can be mapped without decoding it again) to a unit vector in the word space, and carries a softmax class
head over the trained classes. Inference is numpy only (BatchNorm folded into the first layer), so
searching needs no torch; training lives in pixseek/learn/devise.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pixseek.atomic import atomic_path, atomic_write
from pixseek.encoders.registry import feature_space
from pixseek.errors import PixseekError
from pixseek.search import layers as mlp

FORMAT = "pixseek-devise"
FORMAT_VERSION = 2  # 2 added the class head; version 1 files still load (no head)
READABLE_VERSIONS = (1, 2)
MAPPINGS_DIR = "mappings"


@dataclass
class Mapping:
    """Dense layers (ReLU between them) from visual vectors to unit word vectors, plus what it was trained on."""

    layers: mlp.Layers  # (W (in, out), b (out,)) float32
    encoder: str
    words: str
    class_ids: list[str]
    class_names: list[str]
    class_wnids: list[str | None]
    class_vectors: np.ndarray  # (n_classes, out_dim) unit word vectors of the class names (the targets)
    scale: float = 10.0  # softmax temperature^-1 over class cosines, fitted on the validation split
    head: tuple[np.ndarray, np.ndarray] | None = None  # (W (in, n_classes), b): class logits from visual vectors
    fusion: float = 0.0  # weight of the word-cosine logits beside the head's, fitted on the validation split
    method: str = "mlp"
    loss: str = "cosine"
    report: dict = field(default_factory=dict)

    in_dim = property(lambda self: mlp.in_dim(self.layers))
    out_dim = property(lambda self: mlp.out_dim(self.layers))

    def map(self, x: np.ndarray) -> np.ndarray:
        """(n, in_dim) visual vectors -> (n, out_dim) unit vectors in word space."""
        x = np.asarray(x, np.float32)
        assert x.ndim == 2 and x.shape[1] == self.in_dim, (x.shape, self.in_dim)
        return mlp.forward(self.layers, x)

    def class_probs(self, visual: np.ndarray) -> np.ndarray:
        """Probabilities over the trained classes: a softmax of the class head's logits blended with
        scale * cosine(mapped image, class word); a mapping without a head has the cosines alone."""
        s = self.class_logits(visual)
        s = np.exp(s - s.max(axis=1, keepdims=True))
        return s / s.sum(axis=1, keepdims=True)

    def class_logits(self, visual: np.ndarray, fusion: float | None = None) -> np.ndarray:
        fusion = self.fusion if fusion is None else fusion
        if self.head is None:
            fusion = 1.0
        s = 0.0
        if fusion > 0:
            s = fusion * self.scale * (self.map(visual) @ self.class_vectors.T)
        if fusion < 1:
            w, b = self.head
            s = s + (1 - fusion) * (np.asarray(visual, np.float32) @ w + b)
        return s

    def save(self, path: Path) -> None:
        """One .npz (weights + a JSON header with format version, encoder, word space, dims) and a .json report."""
        header = {"format": FORMAT, "version": FORMAT_VERSION, "encoder": self.encoder, "words": self.words,
                  "in_dim": self.in_dim, "out_dim": self.out_dim, "n_layers": len(self.layers),
                  "scale": self.scale, "fusion": self.fusion,
                  "method": self.method, "loss": self.loss, "class_ids": self.class_ids, "class_names": self.class_names,
                  "class_wnids": self.class_wnids}
        arrays = {"header": np.array(json.dumps(header)), "class_vectors": self.class_vectors.astype(np.float32)}
        for i, (w, b) in enumerate(self.layers):
            arrays[f"w{i}"], arrays[f"b{i}"] = w.astype(np.float32), b.astype(np.float32)
        if self.head is not None:
            arrays["head_w"], arrays["head_b"] = (a.astype(np.float32) for a in self.head)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path, suffix=".npz") as tmp:
            np.savez(tmp, **arrays)
        path.with_suffix(".json").write_text(json.dumps({**header, "report": self.report}, indent=1) + "\n")

    @classmethod
    def load(cls, path: Path, encoder: str | None = None, words: str | None = None, in_dim: int | None = None) -> Mapping:
        """Read a saved mapping; refuses one made for another encoder, word space or vector size."""
        header, arrays = mlp.read_npz(path, "mapping")
        if header.get("format") != FORMAT or header.get("version") not in READABLE_VERSIONS:
            raise PixseekError(f"{path} is a {header.get('format')} v{header.get('version')} file; this pixseek reads "
                               f"{FORMAT} v{FORMAT_VERSION}: run `pixseek train` again")
        if encoder is not None and feature_space(header["encoder"]) != feature_space(encoder):
            raise PixseekError(f"mapping {path.name} was trained for encoder {header['encoder']!r}, but this collection "
                               f"uses {encoder!r}: run `pixseek train` on this collection")
        if words is not None and header["words"] != words:
            raise PixseekError(f"mapping {path.name} maps into word space {header['words']!r}, but this collection "
                               f"uses {words!r}: run `pixseek train` on this collection")
        if in_dim is not None and header["in_dim"] != in_dim:
            raise PixseekError(f"mapping {path.name} takes {header['in_dim']}-d image vectors, this collection has "
                               f"{in_dim}-d: run `pixseek train` on this collection")
        layers = [(arrays[f"w{i}"], arrays[f"b{i}"]) for i in range(header["n_layers"])]
        report = {}
        if path.with_suffix(".json").is_file():
            report = json.loads(path.with_suffix(".json").read_text()).get("report", {})
        head = (arrays["head_w"], arrays["head_b"]) if "head_w" in arrays else None
        return cls(layers, header["encoder"], header["words"], header["class_ids"], header["class_names"],
                   header["class_wnids"], arrays["class_vectors"], header["scale"], head, header.get("fusion", 0.0),
                   header["method"], header["loss"], report)


def class_word_vectors(names: list[list[str]], words) -> tuple[np.ndarray, list[bool]]:
    """Unit word vector per class: its first name the word space knows (names are most common first)."""
    out = np.zeros((len(names), words.dim), np.float32)
    found = []
    for i, options in enumerate(names):
        v = next((v for v in (words.vector(n) for n in options) if v is not None), None)
        if v is not None:
            out[i] = v
        found.append(v is not None)
    return out, found


# where a collection keeps its mapping ----------------------------------------------------------------

def mapping_path(folder: Path, name: str) -> Path:
    if not name or "/" in name or name.startswith("."):
        raise PixseekError(f"bad mapping name {name!r}: use letters, digits, - and _")
    return folder / MAPPINGS_DIR / f"{name}.npz"


def set_active(folder: Path, name: str) -> None:
    (folder / MAPPINGS_DIR).mkdir(parents=True, exist_ok=True)
    atomic_write(folder / MAPPINGS_DIR / "active", name + "\n")


def active_mapping(folder: Path) -> Path | None:
    """The mapping `pixseek train` last saved into this collection, or None."""
    marker = folder / MAPPINGS_DIR / "active"
    if not marker.is_file():
        return None
    path = mapping_path(folder, marker.read_text().strip())
    return path if path.is_file() else None


def derive_rows(visual: np.ndarray, probs: np.ndarray | None, mapping: Mapping, kind: str) -> np.ndarray:
    if kind == "mapped":
        return mapping.map(visual)
    learned = mapping.class_probs(visual)
    return learned if probs is None else np.hstack([np.asarray(probs, np.float32), learned])
