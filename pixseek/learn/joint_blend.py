"""Fitting the `auto` blend (search/bridges/blend.py) on dev data.

For each kind of query, keyword (WordNet places every term over the classifier's classes) and other,
the joint space's weight lambda is the grid value with the best dev figure, averaged over every dev
query of that kind: class-name P@10 on Tiny ImageNet and MiniPlaces dev photos, and first-caption
R@10 on 500 Flickr8k dev photos. Every figure is measured through the real Searcher and ranker.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pixseek.encoders.imagenet import imagenet_wnids
from pixseek.errors import PixseekError
from pixseek.learn.evaluate import array_searcher, caption_recall, keyword_precision
from pixseek.learn.joint_data import class_holdout
from pixseek.search.joint_space import JointSpace

GRID = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
CAPTION_PHOTOS = 500


def _probs_of(visual: np.ndarray, n_classes: int) -> np.ndarray:
    """The classifier probabilities inside a visual vector (its second half holds sqrt(p), scaled)."""
    root = np.asarray(visual[:, -n_classes:], np.float64) * np.sqrt(2.0)
    return (root**2 / np.maximum((root**2).sum(axis=1, keepdims=True), 1e-12)).astype(np.float32)


def fit_blend(space: JointSpace, src, words_spec: str = "glove-6b-50d", log: Callable[[str], None] | None = None) -> dict:
    """Sets space.blend from the recipe's dev parts; returns the per-lambda figures."""
    import tempfile
    from pathlib import Path

    classes = imagenet_wnids()
    tasks = []  # (dev set name, searcher over its photos, query texts, labels, "captions" or None)
    with tempfile.TemporaryDirectory() as empty:
        folder = Path(empty)
        space.save(folder / "joint.npz")  # the searcher finds the space being fitted as the collection's own
        for name, ds, x, labels, _ in src.classes:
            dev = class_holdout(labels, 10)
            vis = x[dev]
            s = array_searcher(folder, space.encoder, words_spec, classes, vis, _probs_of(vis, len(classes)))
            names = [c.name.replace("_", " ") for c in ds.classes]
            tasks.append((name, s, names, labels[dev], None))
        dev_rows = np.flatnonzero(src.caps.dev)[:CAPTION_PHOTOS]
        vis = src.caps_x[dev_rows]
        s = array_searcher(folder, space.encoder, words_spec, classes, vis, _probs_of(vis, len(classes)))
        first = {}
        for i, o in enumerate(src.caps.owner):
            first.setdefault(int(o), i)
        caps = [src.caps.captions[first[int(r)]] for r in dev_rows]
        tasks.append(("captions", s, caps, np.arange(len(dev_rows)), "captions"))
        figures = {}
        for kind in ("keyword", "other"):
            per_lambda = {}
            for lam in GRID:
                scores = []
                for name, s, texts, labels, what in tasks:
                    s.context.joint.blend.update(keyword=lam, other=lam)  # the auto bridge reads this dict
                    auto = s.bridge("auto")
                    quote = what != "captions"  # class names are searched as one phrase, as evaluate() does
                    picked = [i for i, t in enumerate(texts) if _kind(auto, s, t, quote) == kind]
                    if not picked:
                        continue
                    if what == "captions":
                        r = caption_recall(s, [texts[i] for i in picked], labels[picked], ks=(10,))["r10"]
                    else:
                        hits, _ = keyword_precision(s, texts, labels, query_classes=picked)
                        r = float(np.mean(hits))
                    scores.append((name, len(picked), r))
                per_lambda[lam] = scores
                if log:
                    log(f"blend {kind} lambda {lam}: " + ", ".join(f"{n} ({c} queries) {r:.3f}" for n, c, r in scores))
            best = max(GRID, key=lambda lam: (_mean(per_lambda[lam]), -lam))
            space.blend[kind] = float(best)
            figures[kind] = {str(lam): v for lam, v in per_lambda.items()}
    space.report["blend_fit"] = figures
    return figures


def _mean(scores: list[tuple[str, int, float]]) -> float:
    """Every dev query counts once, whichever set it comes from."""
    n = sum(c for _, c, _ in scores)
    return sum(c * r for _, c, r in scores) / n if n else 0.0


def _kind(auto, searcher, text: str, quote: bool) -> str | None:
    """keyword or other, as the auto bridge will see the query; None for one that has nothing to search for
    (Flickr8k has a caption that is just "A")."""
    try:
        query = searcher.resolve(f'"{text}"' if quote else text)
    except PixseekError:
        return None
    return "keyword" if auto.conse.covers(query) else "other"
