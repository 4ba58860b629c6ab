"""The retrieval figures of a bridge on a labelled split or on captioned photos, through the same Searcher
that `pixseek search` and `pixseek tag` use, so a figure measures what a user gets."""

from __future__ import annotations

import numpy as np

from pixseek.errors import PixseekError
from pixseek.search.context import Snapshot, open_searcher
from pixseek.search.engine import Searcher
from pixseek.search.request import SearchRequest
from pixseek.store.arrays import ArrayStore
from pixseek.store.topk import top_k


def array_searcher(folder, encoder: str, words_spec: str, class_ids: list[str] | None, visual: np.ndarray,
                   probs: np.ndarray | None) -> Searcher:
    """A Searcher over in-memory vectors (a dataset split), with the collection's mapping and joint space."""
    vis = ArrayStore(np.asarray(visual, np.float32))
    pro = ArrayStore(np.asarray(probs, np.float32)) if probs is not None else None
    snap = Snapshot(vis, pro, len(visual), list(range(len(visual))))
    return open_searcher(folder, encoder, words_spec, class_ids, snap, in_memory=True)


def keyword_precision(searcher: Searcher, names: list[str], labels: np.ndarray, bridge: str = "auto",
                      query_classes: list[int] | None = None, k: int = 10) -> tuple[list[float], list[str]]:
    """(P@k per class name queried, names no bridge could place)."""
    hits, skipped = [], []
    for c in range(len(names)) if query_classes is None else query_classes:
        try:
            ranked = searcher.search(SearchRequest(f'"{names[c]}"', k, bridge)).hits
        except PixseekError:
            skipped.append(names[c])
            continue
        hits.append(float(np.mean([labels[r.id] == c for r in ranked])) if ranked else 0.0)
    return hits, skipped


def caption_recall(searcher: Searcher, captions: list[str], owner: np.ndarray, bridge: str = "auto",
                   ks: tuple[int, ...] = (1, 5, 10)) -> dict:
    """Text -> image recall@k: each caption searches the photos; a hit when its own photo is in the top k."""
    found = {k: 0 for k in ks}
    refused = 0
    for text, own in zip(captions, owner):
        try:
            ids = [r.id for r in searcher.search(SearchRequest(text, max(ks), bridge)).hits]
        except PixseekError:
            refused += 1
            continue
        for k in ks:
            found[k] += int(own in ids[:k])
    out = {f"r{k}": round(found[k] / max(1, len(captions)), 4) for k in ks}
    out.update({"captions": len(captions), "refused": refused})
    return out


def evaluate(searcher: Searcher, visual: np.ndarray, probs: np.ndarray | None, labels: np.ndarray, names: list[str],
             bridge: str = "auto", query_classes: list[int] | None = None) -> dict:
    """Keyword->image P@10 (each class name ranks every image), tag top-1/top-5 over the class names, and
    image->image P@10 (visual space, and the learned space when there is a mapping)."""
    hits, skipped = keyword_precision(searcher, names, labels, bridge, query_classes)
    out = {"bridge": bridge, "images": int(len(labels)), "classes": len(names),
           "keyword_p10": round(float(np.mean(hits)), 4) if hits else None, "queries": len(hits), "unknown_names": skipped}
    vocab, scores = searcher.tag_scores(visual, probs, names, bridge)
    column = {w: i for i, w in enumerate(names)}
    order = np.argsort(-scores, axis=1, kind="stable")[:, :5]
    predicted = np.array([[column[vocab[j]] for j in row] for row in order])
    out["tag_top1"] = round(float((predicted[:, 0] == labels).mean()), 4)
    out["tag_top5"] = round(float((predicted == labels[:, None]).any(axis=1).mean()), 4)
    out["image_p10_visual"] = round(image_precision(visual, labels), 4)
    trained = searcher.context.trained
    if trained is not None:
        out["image_p10_learned"] = round(image_precision(trained.mapping.map(visual), labels), 4)
    return out


def image_precision(vectors: np.ndarray, labels: np.ndarray, k: int = 10, chunk: int = 1024) -> float:
    """Mean precision of the k nearest others (inner product) having the query's label."""
    v = np.asarray(vectors, np.float32)
    total = 0.0
    for start in range(0, len(v), chunk):
        s = v[start:start + chunk] @ v.T
        s[np.arange(len(s)), np.arange(start, start + len(s))] = -np.inf
        _, top = top_k(s, k)
        total += float(((labels[top] == labels[start:start + len(s), None]) & (top >= 0)).sum())
    return total / (len(v) * k)


def evaluate_dataset(folder, encoder, encoder_spec: str, words_spec: str, class_ids: list[str] | None,
                     dataset_path: str, bridge: str = "auto", split: str = "val", classes: list[str] | None = None,
                     progress: bool | None = None) -> dict:
    """`pixseek eval DATASET`: keyword P@10, tags and image->image P@10 of a bridge on a labelled split, with
    the collection's mapping and joint space (`classes`: query these class ids only)."""
    from pixseek.learn.datasets import dataset_vectors, open_dataset
    from pixseek.lexicon.wordnet import load_wordnet

    dataset = open_dataset(dataset_path, load_wordnet())
    visual, probs, labels = dataset_vectors(encoder, dataset, split, progress)
    searcher = array_searcher(folder, encoder_spec, words_spec, class_ids, visual, probs)
    ids = [c.id for c in dataset.classes]
    query_classes = None if classes is None else [ids.index(w) for w in classes if w in ids]
    r = evaluate(searcher, visual, probs, labels, [c.name for c in dataset.classes], bridge, query_classes)
    trained = searcher.context.trained
    r.update({"dataset": str(dataset.root), "split": split, "encoder": encoder_spec, "words": words_spec,
              "mapping": None if trained is None else trained.mapping.report.get("method")})
    return r


def evaluate_captions(folder, encoder, encoder_spec: str, words_spec: str, class_ids: list[str] | None,
                      captions: str, images: str | None = None, bridge: str = "auto",
                      progress: bool | None = None) -> dict:
    """`pixseek eval --captions FILE`: caption -> photo recall@1/5/10 of a bridge over the captioned photos."""
    from pixseek.learn.datasets import file_vectors
    from pixseek.learn.joint_data import read_captions

    caps = read_captions(captions, images)
    visual, probs, ok = file_vectors(encoder, caps.files, progress)
    searcher = array_searcher(folder, encoder_spec, words_spec, class_ids, visual, probs)
    rows = np.cumsum(ok) - 1
    keep = ok[caps.owner]
    r = caption_recall(searcher, [c for c, k in zip(caps.captions, keep) if k], rows[caps.owner[keep]], bridge)
    r.update({"bridge": bridge, "photos": int(ok.sum())})
    return r
