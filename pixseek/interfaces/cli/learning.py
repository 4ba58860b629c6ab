"""CLI commands for what pixseek learns: `pixseek train` and `pixseek eval`.

    pixseek train DATASET [--method mlp|ridge] [--loss cosine|hinge] [--epochs N] [--out NAME]   (DeViSE mapping)
    pixseek train --captions FILE [--split FILE] [--images DIR]                                 (joint space)
    pixseek eval DATASET [--bridge B] [--json]          keyword P@10, tags, image->image
    pixseek eval --captions FILE [--bridge B] [--json]  caption -> photo recall@1/5/10

Image features are computed once through the collection's encoder and cached under the pixseek cache
folder, so a second run (or an interrupted one) starts at once. `train` saves into the collection and
the collection's searches use it from then on.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pixseek.errors import PixseekError
from pixseek.interfaces.cli.common import log, open_collection, out

if TYPE_CHECKING:
    from pixseek.interfaces.collection import Collection
    from pixseek.learn.datasets import Dataset


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add this group's subcommands to the `pixseek` parser, each with its handler as `func`."""
    from pixseek.search.bridges import BRIDGES

    s = sub.add_parser("train", parents=[common], help="learn an image->word mapping (DATASET) or a joint "
                       "image-text space (--captions) for this collection")
    s.add_argument("dataset", metavar="DATASET", nargs="?", help="ImageFolder (class/xxx.jpg) or Tiny ImageNet layout")
    s.add_argument("--captions", metavar="FILE", help="TSV of photo path and caption: retrain the joint space on them")
    s.add_argument("--split", metavar="FILE", help="with --captions: TSV of photo and train|dev (default: every tenth is dev)")
    s.add_argument("--images", metavar="DIR", help="with --captions: folder the photo paths are relative to")
    s.add_argument("--method", choices=("mlp", "ridge"), default="mlp", help="mlp (default) or closed-form ridge")
    s.add_argument("--loss", choices=("cosine", "hinge"), default="cosine", help="MLP loss (default cosine)")
    s.add_argument("--epochs", type=int, default=None, help="at most this many epochs; stops early on validation")
    s.add_argument("--out", default="devise", metavar="NAME", help="mapping name in the collection (default devise)")
    s.add_argument("--classes", metavar="FILE", help="train on these class ids only (one per line)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--no-progress", action="store_true")
    s.set_defaults(func=cmd_train)

    s = sub.add_parser("eval", parents=[common], help="retrieval figures of a bridge on a labelled dataset or captions")
    s.add_argument("dataset", metavar="DATASET", nargs="?")
    s.add_argument("--captions", metavar="FILE", help="measure caption -> photo recall on this captions TSV instead")
    s.add_argument("--images", metavar="DIR", help="with --captions: folder the photo paths are relative to")
    s.add_argument("--bridge", choices=list(BRIDGES), default="auto")
    s.add_argument("--split", default="val", help="which split to measure on (default val)")
    s.add_argument("--classes", metavar="FILE", help="measure word queries for these class ids only")
    s.add_argument("--no-progress", action="store_true")
    s.set_defaults(func=cmd_eval)


def _read_ids(path: str | None) -> list[str] | None:
    if path is None:
        return None
    try:
        return [w.strip() for w in Path(path).read_text().split() if w.strip()]
    except OSError as exc:
        raise PixseekError(f"cannot read --classes {path}: {exc.strerror}") from None


def file_vectors(col: Collection, files: list[str], progress: bool | None) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """(visual vectors, classifier probs or None, ok mask) of image files, through the collection's encoder."""
    from pixseek.config import cache_dir
    from pixseek.encoders.base import Embedding
    from pixseek.encoders.visual import visual_vectors
    from pixseek.learn.datasets import cached_features

    feats = cached_features(files, col.encoder, cache_dir() / "features", progress=progress)
    ok = feats.ok
    probs = feats.probs[ok] if feats.probs is not None else None
    return visual_vectors(Embedding(feats.features[ok], probs)), probs, ok


def dataset_vectors(col: Collection, dataset: Dataset, split: str,
                    progress: bool | None) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """(visual vectors, classifier probs or None, labels) of a split's decodable images."""
    part = dataset.split(split)
    visual, probs, ok = file_vectors(col, part.files, progress)
    return visual, probs, part.labels[ok]


def _progress(args: argparse.Namespace) -> bool | None:
    return False if args.no_progress else None


def cmd_train(args: argparse.Namespace) -> None:
    """Learn what the collection's word searches use: a DeViSE mapping from DATASET, or a joint space from --captions."""
    if args.epochs is not None and args.epochs < 1:
        raise PixseekError("--epochs wants a whole number of at least 1")
    if args.captions:
        return _train_joint(args)
    if not args.dataset:
        raise PixseekError("give a labelled DATASET folder (DeViSE mapping) or --captions FILE (joint space)")
    from pixseek.encoders.wordnet import load_wordnet
    from pixseek.encoders.words import load_words
    from pixseek.learn.datasets import open_dataset
    from pixseek.learn.devise import fit_mapping
    from pixseek.search.mapping import mapping_path, set_active

    col = open_collection(args)
    path = mapping_path(col.folder, args.out)
    dataset = open_dataset(args.dataset, load_wordnet())
    wanted = _read_ids(args.classes)
    if wanted is not None:
        dataset = dataset.subset(wanted)
    x, _, labels = dataset_vectors(col, dataset, "train", _progress(args))
    log(f"training {args.method}{'' if args.method == 'ridge' else ' (' + args.loss + ' loss)'} on {len(x)} images "
        f"of {len(dataset.classes)} classes")
    mapping = fit_mapping(x, labels, [c.id for c in dataset.classes], [c.names for c in dataset.classes],
                          [c.wnid for c in dataset.classes], load_words(col.words_spec), col.encoder_spec,
                          method=args.method, loss=args.loss, epochs=args.epochs or 50, seed=args.seed, log=log)
    mapping.report["dataset"] = str(dataset.root)
    mapping.save(path)
    set_active(col.folder, args.out)
    r = mapping.report
    lines = [f"validation accuracy {r['val_accuracy']:.3f} (chance {r['chance_accuracy']:.3f}) on {r['val_images']} held-out "
             f"images, {r['classes']} classes" + (f", best epoch {r['best_epoch']} of {r['epochs_run']}" if "best_epoch" in r
                                                   else ""), f"saved {path} (report {path.with_suffix('.json')})"]
    out(args, {"mapping": str(path), **{k: v for k, v in r.items() if k != "history"}}, lines)


def _train_joint(args: argparse.Namespace) -> None:
    """Retrain the joint space on the user's captioned photos; the collection uses it from then on."""
    import time

    from pixseek.encoders.phrases import load_phrases
    from pixseek.learn.joint import CaptionData, train_joint
    from pixseek.learn.joint_data import read_captions
    from pixseek.search.joint_space import JointSpace, find_joint_space

    col = open_collection(args)
    caps = read_captions(args.captions, args.images, args.split)
    if caps.dev.all() or not caps.dev.any():
        raise PixseekError("--captions needs photos for both training and dev (see --split)")
    visual, _, ok = file_vectors(col, caps.files, _progress(args))
    rows = np.cumsum(ok) - 1
    keep_caption = ok[caps.owner]
    log(f"encoding {int(keep_caption.sum())} captions with {load_phrases().name}")
    texts = load_phrases().encode([c for c, k in zip(caps.captions, keep_caption) if k])
    owner, dev = rows[caps.owner[keep_caption]], caps.dev[ok]
    parts = []
    for is_dev in (False, True):
        sel = np.flatnonzero(dev == is_dev)
        remap = np.full(len(dev), -1)
        remap[sel] = np.arange(len(sel))
        mask = dev[owner] == is_dev
        parts.append(CaptionData(visual[sel], texts[mask], remap[owner[mask]]))
    log(f"training the joint space on {len(parts[0].x)} photos ({len(parts[0].owner)} captions), "
        f"dev {len(parts[1].x)} photos")
    space = train_joint(parts[0], parts[1], [], [], col.encoder_spec, load_phrases().name, epochs=args.epochs or 30,
                        seed=args.seed, log=log)
    shipped = find_joint_space(col.encoder_spec)
    if shipped is not None:
        space.blend = JointSpace.load(shipped).blend  # fitted on dev data with the shipped space
    space.report.update({"id": f"user-{int(time.time())}", "captions_file": str(Path(args.captions).resolve())})
    path = col.folder / "joint.npz"
    space.save(path)
    col.derive()
    d = space.report["dev"]
    out(args, {"joint": str(path), "dev": d, "best_epoch": space.report["best_epoch"]},
        [f"dev caption->photo R@1 {d['r1']:.3f}  R@5 {d['r5']:.3f}  R@10 {d['r10']:.3f} on {len(parts[1].x)} dev photos",
         f"saved {path}; this collection's searches use it from now on"])


def cmd_eval(args: argparse.Namespace) -> None:
    """Measure a bridge with the same code the benchmarks use, so the figures a user gets match the documented ones."""
    from pixseek.encoders.wordnet import load_wordnet
    from pixseek.learn.datasets import open_dataset
    from pixseek.learn.evaluate import array_searcher, caption_recall, evaluate

    col = open_collection(args)
    if args.captions:
        from pixseek.learn.joint_data import read_captions

        caps = read_captions(args.captions, args.images)
        visual, probs, ok = file_vectors(col, caps.files, _progress(args))
        searcher = array_searcher(col.folder, col.encoder_spec, col.words_spec, col.class_ids(), visual, probs)
        rows = np.cumsum(ok) - 1
        keep = ok[caps.owner]
        r = caption_recall(searcher, [c for c, k in zip(caps.captions, keep) if k], rows[caps.owner[keep]], args.bridge)
        r.update({"bridge": args.bridge, "photos": int(ok.sum())})
        out(args, r, [f"{args.bridge} bridge, {r['captions']} captions over {r['photos']} photos: R@1 {r['r1']}  "
                      f"R@5 {r['r5']}  R@10 {r['r10']}  ({r['refused']} refused)"])
        return
    if not args.dataset:
        raise PixseekError("give a labelled DATASET folder or --captions FILE")
    dataset = open_dataset(args.dataset, load_wordnet())
    visual, probs, labels = dataset_vectors(col, dataset, args.split, _progress(args))
    searcher = array_searcher(col.folder, col.encoder_spec, col.words_spec, col.class_ids(), visual, probs)
    wanted = _read_ids(args.classes)
    ids = [c.id for c in dataset.classes]
    query_classes = None if wanted is None else [ids.index(w) for w in wanted if w in ids]
    r = evaluate(searcher, visual, probs, labels, [c.name for c in dataset.classes], args.bridge, query_classes)
    trained = searcher.context.trained
    r.update({"dataset": str(dataset.root), "split": args.split, "encoder": col.encoder_spec, "words": col.words_spec,
              "mapping": None if trained is None else trained.mapping.report.get("method")})
    lines = [f"{r['bridge']} bridge on {r['images']} {args.split} images, {r['classes']} class names:",
             f"  keyword->image P@10 {r['keyword_p10']} ({r['queries']} queries)",
             f"  tag top-1 {r['tag_top1']}  top-5 {r['tag_top5']}",
             f"  image->image P@10 {r['image_p10_visual']} (visual vectors)"
             + (f", {r['image_p10_learned']} (learned space)" if "image_p10_learned" in r else "")]
    if r["unknown_names"]:
        lines.append(f"  skipped unknown names: {', '.join(r['unknown_names'])}")
    out(args, r, lines)
