"""CLI commands for what pixseek learns: `pixseek train` and `pixseek eval`.

    pixseek train DATASET [--method mlp|ridge] [--loss cosine|hinge] [--epochs N] [--out NAME]   (DeViSE mapping)
    pixseek train --captions FILE [--split FILE] [--images DIR]                                 (joint space)
    pixseek eval DATASET [--bridge B] [--json]          keyword P@10, tags, image->image
    pixseek eval --captions FILE [--bridge B] [--json]  caption -> photo recall@1/5/10

The CLI parses and delegates: the recipes are learn/train.py and learn/evaluate.py, reached through
Collection.train and Collection.evaluate (interfaces/training.py).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pixseek.errors import PixseekError
from pixseek.interfaces.cli.common import log, open_collection, out


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


def _progress(args: argparse.Namespace) -> bool | None:
    return False if args.no_progress else None


def cmd_train(args: argparse.Namespace) -> None:
    """Learn what the collection's word searches use: a DeViSE mapping from DATASET, or a joint space from --captions."""
    from pixseek.learn.train import read_class_ids

    if args.epochs is not None and args.epochs < 1:
        raise PixseekError("--epochs wants a whole number of at least 1")
    if not args.captions and not args.dataset:
        raise PixseekError("give a labelled DATASET folder (DeViSE mapping) or --captions FILE (joint space)")
    col = open_collection(args)
    r = col.train(args.dataset, args.captions, images=args.images, split=args.split, method=args.method, loss=args.loss,
                  epochs=args.epochs, name=args.out, classes=read_class_ids(args.classes), seed=args.seed,
                  progress=_progress(args), log=log)
    if args.captions:
        d = r["dev"]
        out(args, {k: r[k] for k in ("joint", "dev", "best_epoch")},
            [f"dev caption->photo R@1 {d['r1']:.3f}  R@5 {d['r5']:.3f}  R@10 {d['r10']:.3f} on {r['dev_photos']} dev photos",
             f"saved {r['joint']}; this collection's searches use it from now on"])
        return
    path = Path(r["mapping"])
    lines = [f"validation accuracy {r['val_accuracy']:.3f} (chance {r['chance_accuracy']:.3f}) on {r['val_images']} held-out "
             f"images, {r['classes']} classes" + (f", best epoch {r['best_epoch']} of {r['epochs_run']}" if "best_epoch" in r
                                                   else ""), f"saved {path} (report {path.with_suffix('.json')})"]
    out(args, r, lines)


def cmd_eval(args: argparse.Namespace) -> None:
    """Measure a bridge with the same code the benchmarks use, so the figures a user gets match the documented ones."""
    from pixseek.learn.train import read_class_ids

    if not args.captions and not args.dataset:
        raise PixseekError("give a labelled DATASET folder or --captions FILE")
    col = open_collection(args)
    r = col.evaluate(args.dataset, args.captions, images=args.images, bridge=args.bridge, split=args.split,
                     classes=read_class_ids(args.classes), progress=_progress(args))
    if args.captions:
        out(args, r, [f"{args.bridge} bridge, {r['captions']} captions over {r['photos']} photos: R@1 {r['r1']}  "
                      f"R@5 {r['r5']}  R@10 {r['r10']}  ({r['refused']} refused)"])
        return
    lines = [f"{r['bridge']} bridge on {r['images']} {args.split} images, {r['classes']} class names:",
             f"  keyword->image P@10 {r['keyword_p10']} ({r['queries']} queries)",
             f"  tag top-1 {r['tag_top1']}  top-5 {r['tag_top5']}",
             f"  image->image P@10 {r['image_p10_visual']} (visual vectors)"
             + (f", {r['image_p10_learned']} (learned space)" if "image_p10_learned" in r else "")]
    if r["unknown_names"]:
        lines.append(f"  skipped unknown names: {', '.join(r['unknown_names'])}")
    out(args, r, lines)
