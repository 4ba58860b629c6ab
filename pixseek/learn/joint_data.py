"""What the joint space trains on: captioned photos (a TSV of path and caption) and labelled folders as prompts.

Captions TSV: one `path<TAB>caption` per line, paths relative to the file's folder or absolute; a header
naming `image` and `caption` columns (Flickr8k's captions.tsv: image, caption_idx, caption) also works.
A photo may have several captions. An optional split file (`image<TAB>train|dev`, like Flickr8k's
split.tsv) decides the dev photos; without one every tenth photo is dev.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pixseek.errors import PixseekError
from pixseek.learn.datasets import Dataset


@dataclass
class Captioned:
    files: list[str]  # photo paths
    captions: list[str]
    owner: np.ndarray  # (n_captions,) index into files
    dev: np.ndarray  # (n_files,) bool: held out for early stopping and fitting


def read_captions(path: str | Path, images: str | Path | None = None, split: str | Path | None = None) -> Captioned:
    """Read a captions TSV (see the module docstring). `images`: the folder relative paths start from
    (default: the TSV's folder, or its images/ subfolder when the paths are not found there)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise PixseekError(f"no such captions file: {path}")
    with open(path, encoding="utf-8", errors="replace", newline="") as f:
        rows = [r for r in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE) if r and any(c.strip() for c in r)]
    if not rows:
        raise PixseekError(f"{path} holds no captions")
    col_img, col_cap = 0, -1
    head = [c.strip().lower() for c in rows[0]]
    if "caption" in head and ("image" in head or "path" in head):
        col_img, col_cap = head.index("image" if "image" in head else "path"), head.index("caption")
        rows = rows[1:]
    bad = [i + 1 for i, r in enumerate(rows) if len(r) < 2 or not r[col_cap].strip()]
    if bad:
        raise PixseekError(f"{path}: line(s) {', '.join(map(str, bad[:5]))} need a path, a tab and a caption")
    base = Path(images).expanduser() if images else path.parent
    if images is None and not (base / rows[0][col_img]).is_file() and (base / "images" / rows[0][col_img]).is_file():
        base = base / "images"
    index: dict[str, int] = {}
    files, captions, owner = [], [], []
    for r in rows:
        name = r[col_img].strip()
        if name not in index:
            index[name] = len(files)
            files.append(str(base / name))
        captions.append(r[col_cap].strip())
        owner.append(index[name])
    missing = [f for f in files if not Path(f).is_file()]
    if missing:
        raise PixseekError(f"{len(missing)} photo(s) named in {path} are missing, e.g. {missing[0]}")
    dev = np.arange(len(files)) % 10 == 9
    if split is not None:
        dev = _read_split(Path(split).expanduser(), list(index))
    return Captioned(files, captions, np.array(owner, np.int64), dev)


def _read_split(path: Path, names: list[str]) -> np.ndarray:
    if not path.is_file():
        raise PixseekError(f"no such split file: {path}")
    which = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        bits = line.strip().split("\t")
        if len(bits) == 2 and bits[1] in ("train", "dev"):
            which[bits[0]] = bits[1] == "dev"
    return np.array([which.get(n, False) for n in names])


def class_holdout(labels: np.ndarray, per_class: int) -> np.ndarray:
    """(n,) bool: the last `per_class` photos of each class (in file order) are dev."""
    dev = np.zeros(len(labels), bool)
    for c in np.unique(labels):
        dev[np.flatnonzero(labels == c)[-per_class:]] = True
    return dev


def class_prompts(dataset: Dataset, templates: tuple[str, ...]) -> list[list[str]]:
    """Per class, one text per template, with the class's everyday name ("living room", "goldfish")."""
    return [[t.format(c.name.replace("_", " ")) for t in templates] for c in dataset.classes]
