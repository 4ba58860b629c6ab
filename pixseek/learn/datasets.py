"""Labelled image folders for training and evaluating a learned mapping, and their cached features.

Two layouts are read:
  ImageFolder     DATASET/<class>/*.jpg, or DATASET/train/<class>/ and DATASET/val/<class>/
  Tiny ImageNet   wnids.txt, words.txt, train/<wnid>/images/*.JPEG (or train/<wnid>/*.JPEG),
                  val/images/ + val/val_annotations.txt (or val/<wnid>/*.JPEG)
Class names come from words.txt, else from WordNet when the folder name is a WordNet id, else the
folder name itself. Features are computed once through the collection's encoder and cached in chunks,
so an interrupted `pixseek train` resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pixseek.atomic import atomic_path
from pixseek.config import cache_dir
from pixseek.encoders.base import Embedding, ImageEncoder
from pixseek.encoders.visual import visual_vectors
from pixseek.errors import PixseekError
from pixseek.media.images import looks_like_image

SPLITS = ("train", "val")


@dataclass
class LabelledClass:
    id: str  # folder name (a WordNet id for ImageNet-style data)
    name: str  # the name a user would type ("goldfish")
    names: list[str]  # every known name, most common first
    wnid: str | None  # WordNet noun id, when known


@dataclass
class Split:
    files: list[str]
    labels: np.ndarray  # (n,) index into Dataset.classes


@dataclass
class Dataset:
    root: Path
    layout: str  # "tiny-imagenet" or "imagefolder"
    classes: list[LabelledClass]
    splits: dict[str, Split]

    def split(self, name: str) -> Split:
        if name not in self.splits or not self.splits[name].files:
            have = ", ".join(s for s, v in self.splits.items() if v.files) or "none"
            raise PixseekError(f"{self.root} has no {name!r} split (has: {have})")
        return self.splits[name]

    def subset(self, class_ids: list[str]) -> Dataset:
        """The same dataset restricted to some classes (labels renumbered), e.g. for a zero-shot split."""
        keep = [i for i, c in enumerate(self.classes) if c.id in set(class_ids)]
        remap = np.full(len(self.classes), -1, np.int64)
        remap[keep] = np.arange(len(keep))
        splits = {}
        for name, s in self.splits.items():
            mask = remap[s.labels] >= 0
            splits[name] = Split([f for f, m in zip(s.files, mask) if m], remap[s.labels[mask]])
        return Dataset(self.root, self.layout, [self.classes[i] for i in keep], splits)


def open_dataset(path: str | Path, wordnet=None) -> Dataset:
    """Read a labelled image folder (layout detected). Raises PixseekError with what was expected."""
    root = Path(os.path.expanduser(str(path)))
    if not root.is_dir():
        raise PixseekError(f"no such dataset folder: {root}")
    words = _read_words(root / "words.txt")
    if (root / "wnids.txt").is_file():
        ids = (root / "wnids.txt").read_text().split()
        splits = {s: _read_split(root / s, ids) for s in SPLITS}
        layout = "tiny-imagenet"
    elif (root / "train").is_dir():
        ids = sorted(d.name for d in (root / "train").iterdir() if d.is_dir() and not d.name.startswith("."))
        splits = {s: _read_split(root / s, ids) for s in SPLITS}
        layout = "imagefolder"
    else:
        ids = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
        splits = {"train": _read_split(root, ids), "val": Split([], np.zeros(0, np.int64))}
        layout = "imagefolder"
    if not ids or not splits["train"].files and not splits["val"].files:
        raise PixseekError(f"{root} holds no labelled images: expected <class>/*.jpg folders, "
                           "train/ and val/ folders of those, or the Tiny ImageNet layout (wnids.txt, train/, val/)")
    return Dataset(root, layout, [_resolve_class(c, words, wordnet) for c in ids], splits)


def _read_words(path: Path) -> dict[str, list[str]]:
    if not path.is_file():
        return {}
    out = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if "\t" in line:
            wnid, names = line.split("\t", 1)
            out[wnid.strip()] = [n.strip() for n in names.split(",") if n.strip()]
    return out


def _resolve_class(cid: str, words: dict[str, list[str]], wordnet) -> LabelledClass:
    is_wnid = len(cid) == 9 and cid[0] == "n" and cid[1:].isdigit()
    names = words.get(cid) or []
    if not names and is_wnid and wordnet is not None and cid in wordnet.lemmas:
        names = [n.replace("_", " ") for n in wordnet.lemmas[cid]]
    if not names:
        names = [cid.replace("_", " ")]
    wnid = cid if is_wnid else None
    if wnid is None and wordnet is not None:
        senses = wordnet.synsets(names[0])
        wnid = senses[0] if senses else None
    return LabelledClass(cid, names[0], names, wnid)


def _images(folder: Path) -> list[str]:
    if not folder.is_dir():
        return []
    return sorted(str(p) for p in folder.iterdir() if p.is_file() and not p.name.startswith(".") and looks_like_image(p))


def _read_split(folder: Path, ids: list[str]) -> Split:
    """<folder>/<class>/[images/]*; or Tiny ImageNet's val/images + val_annotations.txt."""
    files: list[str] = []
    labels: list[int] = []
    if not folder.is_dir():
        return Split(files, np.zeros(0, np.int64))
    index = {c: i for i, c in enumerate(ids)}
    annotations = folder / "val_annotations.txt"
    if annotations.is_file() and (folder / "images").is_dir():
        for line in annotations.read_text().splitlines():
            bits = line.split("\t")
            if len(bits) >= 2 and bits[1] in index and (folder / "images" / bits[0]).is_file():
                files.append(str(folder / "images" / bits[0]))
                labels.append(index[bits[1]])
        return Split(files, np.array(labels, np.int64))
    for c in ids:
        sub = folder / c / "images" if (folder / c / "images").is_dir() else folder / c
        found = _images(sub)
        files += found
        labels += [index[c]] * len(found)
    return Split(files, np.array(labels, np.int64))


# features ------------------------------------------------------------------------------------

@dataclass
class Features:
    features: np.ndarray  # (n, dim) float32
    probs: np.ndarray | None  # (n, n_classes) float32, or None for encoders without a head
    ok: np.ndarray  # (n,) bool: False where the image could not be decoded


def cached_features(files: list[str], encoder, cache_root: Path, batch_size: int = 64, chunk: int = 2048,
                    progress: bool | None = None) -> Features:
    """Encoder outputs for `files`, cached under cache_root/<key>/ in chunks; a rerun only computes missing chunks."""
    from pixseek.media.images import ImageError

    named = [os.path.abspath(f) for f in files]  # ../data/x.jpg and /work/data/x.jpg share one cache
    key = hashlib.sha1(json.dumps([encoder.name, encoder.weights, encoder.input_size, named]).encode()).hexdigest()[:16]
    folder = cache_root / f"{encoder.name}-{key}"
    folder.mkdir(parents=True, exist_ok=True)
    n_chunks = (len(files) + chunk - 1) // chunk
    show = sys.stderr.isatty() if progress is None else progress
    done = sum((folder / f"{c:05d}.npz").is_file() for c in range(n_chunks))
    bar = None
    if show and done < n_chunks:
        from tqdm import tqdm

        bar = tqdm(total=len(files), initial=min(len(files), done * chunk), unit="img", desc="features", file=sys.stderr)
    parts = []
    for c in range(n_chunks):
        path = folder / f"{c:05d}.npz"
        if not path.is_file():
            names = files[c * chunk:(c + 1) * chunk]
            feats, probs, ok = [], [], []
            for b in range(0, len(names), batch_size):
                batch, good = [], []
                for f in names[b:b + batch_size]:
                    try:
                        batch.append(encoder.preprocess.load(f)[0])
                        good.append(True)
                    except ImageError as exc:
                        print(f"skipping {f}: {exc}", file=sys.stderr)
                        batch.append(np.zeros((encoder.input_size, encoder.input_size, 3), np.uint8))
                        good.append(False)
                emb = encoder.embed(np.stack(batch))
                feats.append(emb.features.astype(np.float32))
                if emb.probs is not None:
                    probs.append(emb.probs.astype(np.float16))
                ok += good
                if bar is not None:
                    bar.update(len(batch))
            arrays = {"features": np.concatenate(feats), "ok": np.array(ok)}
            if probs:
                arrays["probs"] = np.concatenate(probs)
            with atomic_path(path, suffix=".npz") as tmp:  # a chunk is either whole or absent
                np.savez(tmp, **arrays)
        with np.load(path) as z:
            parts.append({k: z[k] for k in z.files})
    if bar is not None:
        bar.close()
    if not parts:
        return Features(np.zeros((0, encoder.dim), np.float32), None, np.zeros(0, bool))
    probs = np.concatenate([p["probs"] for p in parts]).astype(np.float32) if "probs" in parts[0] else None
    return Features(np.concatenate([p["features"] for p in parts]), probs, np.concatenate([p["ok"] for p in parts]))


def file_vectors(encoder: ImageEncoder, files: list[str], progress: bool | None = None,
                 strict: bool = False) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """(visual vectors, classifier probs or None, ok mask) of image files' decodable ones; `strict`: a photo
    that cannot be decoded is an error (a recipe must read all of its data)."""
    feats = cached_features(files, encoder, cache_dir() / "features", progress=progress)
    ok = feats.ok
    if strict and not ok.all():
        raise PixseekError(f"{int((~ok).sum())} photos could not be decoded")
    probs = feats.probs[ok] if feats.probs is not None else None
    return visual_vectors(Embedding(feats.features[ok], probs)), probs, ok


def dataset_vectors(encoder: ImageEncoder, dataset: Dataset, split: str,
                    progress: bool | None = None) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """(visual vectors, classifier probs or None, labels) of a split's decodable images."""
    part = dataset.split(split)
    visual, probs, ok = file_vectors(encoder, part.files, progress)
    return visual, probs, part.labels[ok]
