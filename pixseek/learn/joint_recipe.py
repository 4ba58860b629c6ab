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

from pixseek.atomic import atomic_path
from pixseek.learn.datasets import Dataset, file_vectors, open_dataset
from pixseek.learn.joint import SCENE_TEMPLATES, TEMPLATES, CaptionData, ClassData, train_joint
from pixseek.learn.joint_data import Captioned, class_holdout, class_prompts, read_captions
from pixseek.learn.train import caption_parts
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
    """Visual vectors of every file; one that cannot be decoded is an error (the recipe reads all its data)."""
    return file_vectors(encoder, files, progress, strict=True)[0]


def load_sources(data: Path, encoder, encode: TextEncoder, progress: bool | None = None) -> Sources:
    from pixseek.lexicon.wordnet import load_wordnet

    caps = read_captions(data / "flickr8k-train" / "captions.tsv", split=data / "flickr8k-train" / "split.tsv")
    classes = []
    for name, folder, templates in (("tiny", "tiny-imagenet-200", TEMPLATES), ("places", "miniplaces", SCENE_TEMPLATES)):
        ds = open_dataset(data / folder, load_wordnet())
        part = ds.split("train")
        prompts = class_prompts(ds, templates)
        vectors = encode([p for row in prompts for p in row]).reshape(len(prompts), len(templates), -1)
        classes.append((name, ds, visual_of(part.files, encoder, progress), part.labels, vectors))
    return Sources(caps, visual_of(caps.files, encoder, progress), cached_texts(encode, caps.captions), classes)


def cached_texts(encode: TextEncoder, texts: list[str]) -> np.ndarray:
    """Sentence vectors of many texts, kept in the cache folder: the recipe's 35,000 captions take minutes."""
    import hashlib

    from pixseek.config import cache_dir

    key = hashlib.sha1("\n".join(texts).encode()).hexdigest()[:16]
    path = cache_dir() / "phrases" / f"texts-{key}.npy"
    if path.is_file():
        return np.load(path)
    vectors = encode(texts)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, suffix=".npy") as tmp:
        np.save(tmp, vectors)
    return vectors


def split_sources(src: Sources) -> tuple[CaptionData, CaptionData, list[ClassData], list[ClassData]]:
    train_caps, dev_caps = caption_parts(src.caps_x, src.caps_t, src.caps.owner, src.caps.dev)
    train_cls, dev_cls = [], []
    for name, _, x, labels, prompts in src.classes:
        dev = class_holdout(labels, 10)
        train_cls.append(ClassData(name, x[~dev], labels[~dev], prompts, PLACES_WEIGHT if name == "places" else 1.0))
        dev_cls.append(ClassData(name, x[dev], labels[dev], prompts))
    return train_caps, dev_caps, train_cls, dev_cls


PLACES_WEIGHT = 2.0  # the scene prompts' loss counts double: dev places P@10 0.434 -> 0.460, captions R@10 0.525 -> 0.513


def all_sources(src: Sources) -> tuple[CaptionData, list[ClassData]]:
    """Train and dev together, for the final fit."""
    caps = CaptionData(src.caps_x, src.caps_t, src.caps.owner)
    return caps, [ClassData(name, x, labels, prompts, PLACES_WEIGHT if name == "places" else 1.0)
                  for name, _, x, labels, prompts in src.classes]


def build(data: Path, encoder_spec: str = "efficientnet-lite0", log=None, **train_options) -> tuple[JointSpace, Sources]:
    from pixseek.encoders.phrases import load_phrases
    from pixseek.encoders.registry import load_image_encoder

    phrases = load_phrases()
    src = load_sources(data, load_image_encoder(encoder_spec), phrases.encode)
    train_caps, dev_caps, train_cls, dev_cls = split_sources(src)
    space = train_joint(train_caps, dev_caps, train_cls, dev_cls, encoder_spec, phrases.name, log=log, **train_options)
    return space, src


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=Path("../shared/data"))
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--blend-only", action="store_true", help="keep the heads in --out, fit the blend again")
    p.add_argument("--final", action="store_true", help="then train again on train + dev for the chosen epochs")
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
    if args.final:
        from pixseek.encoders.phrases import load_phrases

        log(f"final fit on train + dev for {space.report['best_epoch']} epochs")
        caps, classes = all_sources(src)
        _, dev_caps, _, dev_cls = split_sources(src)  # still printed per epoch, no longer held out
        final = train_joint(caps, dev_caps, classes, dev_cls, space.encoder, load_phrases().name,
                            epochs=space.report["best_epoch"], seed=args.seed, keep_last=True, log=log)
        final.blend = space.blend
        final.report.update({"id": space.report["id"] + "-final", "held_out_dev": space.report["dev"],
                             "blend_fit": space.report.get("blend_fit"), "final_fit": "train + dev"})
        final.save(args.out)
        space = final
    print(f"saved {args.out}: dev {space.report.get('held_out_dev', space.report['dev'])}, blend {space.blend}")


if __name__ == "__main__":
    main()
