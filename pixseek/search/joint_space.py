"""The joint image–text space: two small heads that put photos and sentences side by side.

The image head takes what a collection already stores (the visual vector, so every indexed photo maps
without decoding it again); the text head takes all-MiniLM-L6-v2's sentence vector. Both end in unit
vectors, so a sentence against a collection is one inner product. The heads are trained contrastively
on captioned photos and on class-name prompts (pixseek/learn/joint.py); one trained for the default
encoder ships in the package (docs/model-card-joint.md). Inference is numpy only.

The file also carries the blend the `auto` bridge uses (how much the joint space weighs beside ConSE
for keyword-like and for other queries), fitted on dev data at training time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pixseek.atomic import atomic_path
from pixseek.errors import PixseekError
from pixseek.search import layers as mlp

FORMAT = "pixseek-joint"
FORMAT_VERSION = 1
PACKAGED = Path(__file__).parent / "data"



@dataclass
class JointSpace:
    image_layers: mlp.Layers  # (W (in, out), b) float32, ReLU between layers; input standardisation folded in
    text_layers: mlp.Layers
    encoder: str  # the image encoder whose visual vectors the image head takes
    text_encoder: str  # the sentence encoder whose vectors the text head takes
    blend: dict[str, float] = field(default_factory=lambda: {"keyword": 0.0, "other": 1.0})
    report: dict = field(default_factory=dict)

    in_dim = property(lambda self: mlp.in_dim(self.image_layers))
    dim = property(lambda self: mlp.out_dim(self.image_layers))
    text_dim = property(lambda self: mlp.in_dim(self.text_layers))

    def map_images(self, visual: np.ndarray) -> np.ndarray:
        """(n, in_dim) visual vectors -> (n, dim) unit joint vectors."""
        visual = np.atleast_2d(np.asarray(visual, np.float32))
        assert visual.shape[1] == self.in_dim, (visual.shape, self.in_dim)
        return mlp.forward(self.image_layers, visual)

    def map_texts(self, sentences: np.ndarray) -> np.ndarray:
        """(n, text_dim) sentence vectors -> (n, dim) unit joint vectors."""
        sentences = np.atleast_2d(np.asarray(sentences, np.float32))
        assert sentences.shape[1] == self.text_dim, (sentences.shape, self.text_dim)
        return mlp.forward(self.text_layers, sentences)

    @property
    def key(self) -> str:
        """Names the derived vectors of a collection: a new head means new vectors."""
        return str(self.report.get("id") or f"{self.encoder}-v{FORMAT_VERSION}")

    def save(self, path: Path) -> None:
        """Weights as int8 with one float scale per output column (a quarter of float32, under 4 MB for the
        shipped heads; the joint vectors move by well under 1% of their length), biases as float32."""
        header = {"format": FORMAT, "version": FORMAT_VERSION, "encoder": self.encoder, "text_encoder": self.text_encoder,
                  "n_image": len(self.image_layers), "n_text": len(self.text_layers), "blend": self.blend,
                  "report": self.report}
        arrays = {"header": np.array(json.dumps(header))}
        for prefix, layers in (("i", self.image_layers), ("t", self.text_layers)):
            for n, (w, b) in enumerate(layers):
                scale = np.maximum(np.abs(w).max(axis=0), 1e-12) / 127.0
                arrays[f"{prefix}w{n}"] = np.round(w / scale).astype(np.int8)
                arrays[f"{prefix}s{n}"], arrays[f"{prefix}b{n}"] = scale.astype(np.float32), b.astype(np.float32)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path, suffix=".npz") as tmp:
            np.savez_compressed(tmp, **arrays)

    @classmethod
    def load(cls, path: Path) -> JointSpace:
        """The text head is decoded now, the image head when first used (mlp.LazyLayers)."""
        header, arrays = mlp.read_npz(path, "joint space", skip="i")
        if header.get("format") != FORMAT or header.get("version") != FORMAT_VERSION:
            raise PixseekError(f"{path} is not a {FORMAT} v{FORMAT_VERSION} file")
        n_image, shapes = header["n_image"], mlp.read_shapes(path, "joint space", "iw")

        def layers(src: dict[str, np.ndarray], prefix: str, n: int) -> list[tuple[np.ndarray, np.ndarray]]:
            return [(src[f"{prefix}w{i}"].astype(np.float32) * src.get(f"{prefix}s{i}", np.float32(1.0)),
                     src[f"{prefix}b{i}"].astype(np.float32)) for i in range(n)]

        def image_head() -> list[tuple[np.ndarray, np.ndarray]]:
            names = [f"i{kind}{i}" for i in range(n_image) for kind in "wsb"]
            got = layers(mlp.read_arrays(path, "joint space", names), "i", n_image)
            if (got[0][0].shape[0], got[-1][0].shape[1]) != dims:
                raise PixseekError(f"joint space {path} changed since it was opened: open the collection again")
            return got

        try:
            dims = (shapes["iw0"][0], shapes[f"iw{n_image - 1}"][1])
        except (KeyError, IndexError):
            raise PixseekError(f"cannot read joint space {path}: its image head is incomplete") from None
        head = mlp.LazyLayers(image_head, dims)
        return cls(head, layers(arrays, "t", header["n_text"]), header["encoder"],
                   header["text_encoder"], header["blend"], header.get("report", {}))


def packaged_space_path(encoder: str) -> Path:
    return PACKAGED / f"joint-{encoder}.npz"


def find_joint_space(encoder: str, folder: Path | None = None) -> Path | None:
    """A collection's own joint space (retrained with `pixseek train --captions`), else the one shipped for
    its encoder (or for the float model an int8 copy stands in for), else None (a user's own ONNX encoder has
    no joint space until trained)."""
    from pixseek.encoders.registry import feature_space

    if folder is not None and (folder / "joint.npz").is_file():
        return folder / "joint.npz"
    path = packaged_space_path(feature_space(encoder))
    return path if path.is_file() else None
