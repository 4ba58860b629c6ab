"""The recipe for the joint space shipped with pixseek, from the shared data folder (../shared/data).

    python -m pixseek.learn.joint_recipe --data ../shared/data --out pixseek/search/data/joint-efficientnet-lite0.npz

Trains on Flickr8k's train split (flickr8k-train/, 5,247 photos x 5 captions), Tiny ImageNet train
(90 photos per class) and MiniPlaces train (40 per class) as class prompts; early stops and fits the
`auto` blend on the dev parts (Flickr8k dev, 1,844 photos; the other 10 per class). The test sets
(flickr8k-500, miniplaces/val, Tiny ImageNet val) are never read here.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pixseek.learn.datasets import Dataset, open_dataset
from pixseek.learn.joint import SCENE_TEMPLATES, TEMPLATES, CaptionData, ClassData, train_joint
from pixseek.learn.joint_data import Captioned, class_holdout, class_prompts, read_captions
from pixseek.search.joint_space import JointSpace

TextEncoder = Callable[[list[str]], np.ndarray]


@dataclass
class Sources:
    """Visual vectors and texts of everything the recipe reads, computed once (features are cached)."""

    caps: Captioned
    caps_x: np.ndarray
    caps_t: np.ndarray
    classes: list[tuple[str, Dataset, np.ndarray, np.ndarray, np.ndarray]]  # (name, dataset, x, labels, prompt vectors)


def visual_of(files: list[str], encoder, progress: bool | None = None) -> np.ndarray:
    from pixseek.encoders.base import Embedding
    from pixseek.encoders.visual import visual_vectors
    from pixseek.learn.datasets import cached_features
    from pixseek.paths import cache_dir

    feats = cached_features(files, encoder, cache_dir() / "features", progress=progress)
    if not feats.ok.all():
        raise SystemExit(f"{int((~feats.ok).sum())} photos could not be decoded")
    return visual_vectors(Embedding(feats.features, feats.probs))


def load_sources(data: Path, encoder, encode: TextEncoder, progress: bool | None = None) -> Sources:
    from pixseek.encoders.wordnet import load_wordnet

    caps = read_captions(data / "flickr8k-train" / "captions.tsv", split=data / "flickr8k-train" / "split.tsv")
    classes = []
    for name, folder, templates in (("tiny", "tiny-imagenet-200", TEMPLATES), ("places", "miniplaces", SCENE_TEMPLATES)):
        ds = open_dataset(data / folder, load_wordnet())
        part = ds.split("train")
        prompts = class_prompts(ds, templates)
        vectors = encode([p for row in prompts for p in row]).reshape(len(prompts), len(templates), -1)
        classes.append((name, ds, visual_of(part.files, encoder, progress), part.labels, vectors))
    return Sources(caps, visual_of(caps.files, encoder, progress), encode(caps.captions), classes)


def split_sources(src: Sources) -> tuple[CaptionData, CaptionData, list[ClassData], list[ClassData]]:
    dev_img = src.caps.dev
    remap = np.full(len(dev_img), -1)
    train_caps, dev_caps = [], []
    for dev in (False, True):
        rows = np.flatnonzero(dev_img == dev)
        remap[rows] = np.arange(len(rows))
        keep = dev_img[src.caps.owner] == dev
        data = CaptionData(src.caps_x[rows], src.caps_t[keep], remap[src.caps.owner[keep]])
        (dev_caps if dev else train_caps).append(data)
    train_cls, dev_cls = [], []
    for name, _, x, labels, prompts in src.classes:
        dev = class_holdout(labels, 10)
        train_cls.append(ClassData(name, x[~dev], labels[~dev], prompts))
        dev_cls.append(ClassData(name, x[dev], labels[dev], prompts))
    return train_caps[0], dev_caps[0], train_cls, dev_cls


def build(data: Path, encoder_spec: str = "efficientnet-lite0", log=None, **train_options) -> tuple[JointSpace, Sources]:
    from pixseek.encoders.phrases import load_phrases
    from pixseek.encoders.registry import load_image_encoder

    phrases = load_phrases()
    src = load_sources(data, load_image_encoder(encoder_spec), phrases.encode)
    train_caps, dev_caps, train_cls, dev_cls = split_sources(src)
    space = train_joint(train_caps, dev_caps, train_cls, dev_cls, encoder_spec, phrases.name, log=log, **train_options)
    return space, src


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=Path("../shared/data"))
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--blend-only", action="store_true", help="keep the heads in --out, fit the blend again")
    args = p.parse_args(argv)
    from pixseek.learn.joint_blend import fit_blend

    def log(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    if args.blend_only:
        from pixseek.encoders.phrases import load_phrases
        from pixseek.encoders.registry import load_image_encoder

        space = JointSpace.load(args.out)
        src = load_sources(args.data, load_image_encoder(space.encoder), load_phrases().encode)
    else:
        space, src = build(args.data, log=log, epochs=args.epochs, seed=args.seed)
        space.report["id"] = f"{space.encoder}-{args.seed}-{space.report['best_epoch']}"
        space.save(args.out)  # the heads are kept even if fitting the blend is interrupted
    fit_blend(space, src, log=log)
    space.save(args.out)
    print(f"saved {args.out}: dev {space.report['dev']}, blend {space.blend}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
