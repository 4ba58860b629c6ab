"""CLI commands for the learned image->word mapping: `pixseek train` and `pixseek eval`.

    pixseek train DATASET [--method mlp|ridge] [--loss cosine|hinge] [--epochs N] [--out NAME]
    pixseek eval DATASET [--bridge auto|conse|devise] [--json]

Both read a labelled image folder (store/datasets.py) and compute its features once through the
collection's encoder, cached under the pixseek cache folder, so a second run (or an interrupted one)
starts at once. `train` saves the mapping in the collection (mappings/NAME.npz + NAME.json report) and
makes it the one search and tag use; `eval` prints the figures docs/benchmarks.md quotes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from pixseek.errors import PixseekError


def register(sub, common: argparse.ArgumentParser) -> dict:
    """Add subcommands to the `pixseek` parser; returns {command name: handler(args)}."""
    s = sub.add_parser("train", parents=[common], help="learn an image->word mapping from a labelled image folder")
    s.add_argument("dataset", metavar="DATASET", help="ImageFolder (class/xxx.jpg) or Tiny ImageNet layout")
    s.add_argument("--method", choices=("mlp", "ridge"), default="mlp", help="mlp (default) or closed-form ridge")
    s.add_argument("--loss", choices=("cosine", "hinge"), default="cosine", help="MLP loss (default cosine)")
    s.add_argument("--epochs", type=int, default=50, help="at most this many epochs; stops early on validation")
    s.add_argument("--out", default="devise", metavar="NAME", help="mapping name in the collection (default devise)")
    s.add_argument("--classes", metavar="FILE", help="train on these class ids only (one per line)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--no-progress", action="store_true")

    s = sub.add_parser("eval", parents=[common], help="retrieval figures of the collection's bridge on a labelled dataset")
    s.add_argument("dataset", metavar="DATASET")
    s.add_argument("--bridge", choices=("auto", "conse", "devise"), default="auto")
    s.add_argument("--split", default="val", help="which split to measure on (default val)")
    s.add_argument("--classes", metavar="FILE", help="measure word queries for these class ids only")
    s.add_argument("--no-progress", action="store_true")
    return {"train": cmd_train, "eval": cmd_eval}


def _log(text: str) -> None:
    print(text, file=sys.stderr)


def _read_ids(path: str | None) -> list[str] | None:
    if path is None:
        return None
    try:
        return [w.strip() for w in Path(path).read_text().split() if w.strip()]
    except OSError as exc:
        raise PixseekError(f"cannot read --classes {path}: {exc.strerror}") from None


def dataset_vectors(col, dataset, split: str, progress: bool | None) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """(visual vectors, classifier probs or None, labels) of a split's decodable images, through the collection's encoder."""
    from pixseek.encoders.base import Embedding
    from pixseek.encoders.visual import visual_vectors
    from pixseek.paths import cache_dir
    from pixseek.store.datasets import cached_features

    part = dataset.split(split)
    feats = cached_features(part.files, col.encoder, cache_dir() / "features", progress=progress)
    ok = feats.ok
    probs = feats.probs[ok] if feats.probs is not None else None
    return visual_vectors(Embedding(feats.features[ok], probs)), probs, part.labels[ok]


def cmd_train(args) -> None:
    from pixseek.encoders.wordnet import load_wordnet
    from pixseek.encoders.words import load_words
    from pixseek.interfaces.cli import _open, _out
    from pixseek.search.devise import fit_mapping, mapping_path, set_active
    from pixseek.store.datasets import open_dataset

    col = _open(args)
    path = mapping_path(col.folder, args.out)
    if args.epochs < 1:
        raise PixseekError("--epochs wants a whole number of at least 1")
    dataset = open_dataset(args.dataset, load_wordnet())
    wanted = _read_ids(args.classes)
    if wanted is not None:
        dataset = dataset.subset(wanted)
    x, _, labels = dataset_vectors(col, dataset, "train", False if args.no_progress else None)
    _log(f"training {args.method}{'' if args.method == 'ridge' else ' (' + args.loss + ' loss)'} on {len(x)} images "
         f"of {len(dataset.classes)} classes")
    mapping = fit_mapping(x, labels, [c.id for c in dataset.classes], [c.names for c in dataset.classes],
                          [c.wnid for c in dataset.classes], load_words(col.words_spec), col.encoder_spec,
                          method=args.method, loss=args.loss, epochs=args.epochs, seed=args.seed, log=_log)
    mapping.report["dataset"] = str(dataset.root)
    mapping.save(path)
    set_active(col.folder, args.out)
    r = mapping.report
    lines = [f"validation accuracy {r['val_accuracy']:.3f} (chance {r['chance_accuracy']:.3f}) on {r['val_images']} held-out "
             f"images, {r['classes']} classes" + (f", best epoch {r['best_epoch']} of {r['epochs_run']}" if "best_epoch" in r
                                                   else ""), f"saved {path} (report {path.with_suffix('.json')})"]
    _out(args, {"mapping": str(path), **{k: v for k, v in r.items() if k != "history"}}, lines)


def evaluate(searcher, visual: np.ndarray, probs: np.ndarray | None, labels: np.ndarray, names: list[str],
             bridge: str = "auto", query_classes: list[int] | None = None) -> dict:
    """Keyword->image P@10 (each class name ranks every image), tag top-1/top-5 over the class names, and
    image->image P@10 (visual space, and the learned space when there is a mapping), all through `searcher`."""
    mode = searcher._bridge(bridge)
    hits, skipped = [], []
    for c in range(len(names)) if query_classes is None else query_classes:
        try:
            ranked = searcher.search(f'"{names[c]}"', 10, bridge=bridge)
        except PixseekError:
            skipped.append(names[c])
            continue
        hits.append(float(np.mean([labels[r.id] == c for r in ranked])) if ranked else 0.0)
    out = {"bridge": mode, "images": int(len(labels)), "classes": len(names),
           "keyword_p10": round(float(np.mean(hits)), 4) if hits else None, "queries": len(hits), "unknown_names": skipped}
    if mode == "conse":
        vocab, matrix, _ = searcher.vocabulary(names)
        scores = np.asarray(probs, np.float32) @ matrix.T
    else:
        vocab, scores = searcher.learned.tag_scores(visual, probs, mode, names)
    column = {w: i for i, w in enumerate(names)}
    order = np.argsort(-scores, axis=1, kind="stable")[:, :5]
    predicted = np.array([[column[vocab[j]] for j in row] for row in order])
    out["tag_top1"] = round(float((predicted[:, 0] == labels).mean()), 4)
    out["tag_top5"] = round(float((predicted == labels[:, None]).any(axis=1).mean()), 4)
    out["image_p10_visual"] = round(image_precision(visual, labels), 4)
    if searcher.learned is not None:
        out["image_p10_learned"] = round(image_precision(searcher.learned.mapping.map(visual), labels), 4)
    return out


def image_precision(vectors: np.ndarray, labels: np.ndarray, k: int = 10, chunk: int = 1024) -> float:
    """Mean precision of the k nearest others (inner product) having the query's label."""
    v = np.asarray(vectors, np.float32)
    total = 0.0
    for start in range(0, len(v), chunk):
        s = v[start:start + chunk] @ v.T
        s[np.arange(len(s)), np.arange(start, start + len(s))] = -np.inf
        top = np.argpartition(-s, k, axis=1)[:, :k]
        total += float((labels[top] == labels[start:start + len(s), None]).sum())
    return total / (len(v) * k)


def eval_searcher(col, visual: np.ndarray, probs: np.ndarray | None):
    """A Searcher over in-memory vectors of a dataset split, with the collection's mapping when it has one."""
    from pixseek.encoders.imagenet import imagenet_wnids
    from pixseek.encoders.wordnet import load_wordnet
    from pixseek.encoders.words import load_words
    from pixseek.search.concepts import ConceptSpace
    from pixseek.search.devise import ArrayStore, LearnedBridge, Mapping, active_mapping, derive_rows
    from pixseek.search.engine import Searcher

    words, wordnet = load_words(col.words_spec), load_wordnet()
    concepts = ConceptSpace(imagenet_wnids(), words, wordnet) if probs is not None else None
    learned = None
    path = active_mapping(col.folder)
    if path is not None:
        mapping = Mapping.load(path, encoder=col.encoder_spec, words=words.name, in_dim=visual.shape[1])
        space = concepts or ConceptSpace([], words, wordnet)
        learned = LearnedBridge(mapping, ArrayStore(derive_rows(visual, probs, mapping, "mapped")),
                                ArrayStore(derive_rows(visual, probs, mapping, "auto")), space)
    return Searcher(ArrayStore(visual), ArrayStore(probs) if probs is not None else None, concepts, learned)


def cmd_eval(args) -> None:
    from pixseek.encoders.wordnet import load_wordnet
    from pixseek.interfaces.cli import _open, _out
    from pixseek.store.datasets import open_dataset

    col = _open(args)
    dataset = open_dataset(args.dataset, load_wordnet())
    visual, probs, labels = dataset_vectors(col, dataset, args.split, False if args.no_progress else None)
    searcher = eval_searcher(col, visual, probs)
    wanted = _read_ids(args.classes)
    ids = [c.id for c in dataset.classes]
    query_classes = None if wanted is None else [ids.index(w) for w in wanted if w in ids]
    r = evaluate(searcher, visual, probs, labels, [c.name for c in dataset.classes], args.bridge, query_classes)
    r.update({"dataset": str(dataset.root), "split": args.split, "encoder": col.encoder_spec, "words": col.words_spec,
              "mapping": None if searcher.learned is None else searcher.learned.mapping.report.get("method")})
    lines = [f"{r['bridge']} bridge on {r['images']} {args.split} images, {r['classes']} class names:",
             f"  keyword->image P@10 {r['keyword_p10']} ({r['queries']} queries)",
             f"  tag top-1 {r['tag_top1']}  top-5 {r['tag_top5']}",
             f"  image->image P@10 {r['image_p10_visual']} (visual vectors)"
             + (f", {r['image_p10_learned']} (learned space)" if "image_p10_learned" in r else "")]
    if r["unknown_names"]:
        lines.append(f"  skipped unknown names: {', '.join(r['unknown_names'])}")
    _out(args, r, lines)
