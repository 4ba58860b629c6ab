"""What a collection learns from its user's data, as recipes the CLI and the Python API delegate to
(Collection.train, interfaces/training.py): a DeViSE mapping from a labelled dataset, a joint space from
captioned photos, and the figures of a bridge on either (`pixseek eval`).

Image features are computed once through the collection's encoder and cached under the pixseek cache
folder (learn/datasets.py), so a second run (or an interrupted one) starts at once. What is trained is
saved into the collection folder; its searches use it from then on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from pixseek.encoders.base import ImageEncoder
from pixseek.errors import PixseekError
from pixseek.learn.datasets import dataset_vectors, file_vectors
from pixseek.learn.joint import CaptionData

Log = Callable[[str], None]


def caption_parts(x: np.ndarray, texts: np.ndarray, owner: np.ndarray, dev: np.ndarray) -> tuple[CaptionData, CaptionData]:
    """(train, dev) caption data from photos `x`, caption vectors `texts` of photo `owner`, photos marked `dev`."""
    out = []
    for is_dev in (False, True):
        rows = np.flatnonzero(dev == is_dev)
        remap = np.full(len(dev), -1)
        remap[rows] = np.arange(len(rows))
        keep = dev[owner] == is_dev
        out.append(CaptionData(x[rows], texts[keep], remap[owner[keep]]))
    return out[0], out[1]


def read_class_ids(path: str | Path | None) -> list[str] | None:
    """Class ids, one per line (or separated by spaces), from a file; None without one."""
    if path is None:
        return None
    try:
        return [w.strip() for w in Path(path).read_text().split() if w.strip()]
    except OSError as exc:
        raise PixseekError(f"cannot read --classes {path}: {exc.strerror}") from None


def train_mapping(folder: Path, encoder: ImageEncoder, encoder_spec: str, words_spec: str, dataset_path: str,
                  method: str = "mlp", loss: str = "cosine", epochs: int | None = None, name: str = "devise",
                  classes: list[str] | None = None, seed: int = 0, progress: bool | None = None,
                  log: Log | None = None) -> dict:
    """Fit a DeViSE mapping on a labelled dataset's train split, save it as the collection's mapping `name`
    and make it the active one. Returns its report, with "mapping": the file."""
    from pixseek.learn.datasets import open_dataset
    from pixseek.learn.devise import fit_mapping
    from pixseek.lexicon.wordnet import load_wordnet
    from pixseek.lexicon.words import load_words
    from pixseek.search.mapping import mapping_path, set_active

    log = log or (lambda text: None)
    _check_epochs(epochs)
    path = mapping_path(folder, name)
    dataset = open_dataset(dataset_path, load_wordnet())
    if classes is not None:
        dataset = dataset.subset(classes)
    x, _, labels = dataset_vectors(encoder, dataset, "train", progress)
    log(f"training {method}{'' if method == 'ridge' else ' (' + loss + ' loss)'} on {len(x)} images "
        f"of {len(dataset.classes)} classes")
    mapping = fit_mapping(x, labels, [c.id for c in dataset.classes], [c.names for c in dataset.classes],
                          [c.wnid for c in dataset.classes], load_words(words_spec), encoder_spec,
                          method=method, loss=loss, epochs=epochs or 50, seed=seed, log=log)
    mapping.report["dataset"] = str(dataset.root)
    mapping.save(path)
    set_active(folder, name)
    return {"mapping": str(path), **{k: v for k, v in mapping.report.items() if k != "history"}}


def train_joint_space(folder: Path, encoder: ImageEncoder, encoder_spec: str, captions: str,
                      images: str | None = None, split: str | None = None, epochs: int | None = None, seed: int = 0,
                      progress: bool | None = None, log: Log | None = None) -> dict:
    """Train the joint space on the user's captioned photos and save it as the collection's (joint.npz).
    Returns {"joint": file, "dev": recall figures, "best_epoch", "dev_photos"}; the caller derives the
    collection's joint vectors anew."""
    from pixseek.encoders.phrases import load_phrases
    from pixseek.learn.joint import train_joint
    from pixseek.learn.joint_data import read_captions
    from pixseek.search.joint_space import JointSpace, find_joint_space

    log = log or (lambda text: None)
    _check_epochs(epochs)
    caps = read_captions(captions, images, split)
    if caps.dev.all() or not caps.dev.any():
        raise PixseekError("--captions needs photos for both training and dev (see --split)")
    visual, _, ok = file_vectors(encoder, caps.files, progress)
    rows = np.cumsum(ok) - 1
    keep_caption = ok[caps.owner]
    log(f"encoding {int(keep_caption.sum())} captions with {load_phrases().name}")
    texts = load_phrases().encode([c for c, k in zip(caps.captions, keep_caption) if k])
    train, dev = caption_parts(visual, texts, rows[caps.owner[keep_caption]], caps.dev[ok])
    log(f"training the joint space on {len(train.x)} photos ({len(train.owner)} captions), dev {len(dev.x)} photos")
    space = train_joint(train, dev, [], [], encoder_spec, load_phrases().name, epochs=epochs or 30, seed=seed, log=log)
    shipped = find_joint_space(encoder_spec)
    if shipped is not None:
        space.blend = JointSpace.load(shipped).blend  # fitted on dev data with the shipped space
    space.report.update({"id": f"user-{int(time.time())}", "captions_file": str(Path(captions).resolve())})
    path = folder / "joint.npz"
    space.save(path)
    return {"joint": str(path), "dev": space.report["dev"], "best_epoch": space.report["best_epoch"],
            "dev_photos": len(dev.x)}


def _check_epochs(epochs: int | None) -> None:
    if epochs is not None and (not isinstance(epochs, int) or epochs < 1):
        raise PixseekError("--epochs wants a whole number of at least 1")
