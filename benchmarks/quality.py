"""Retrieval quality on Tiny ImageNet val (10,000 photos, 200 classes), through the public API.

    python benchmarks/quality.py [--db benchmarks/cache/val-db] [--encoder SPEC]

- image -> image P@10: every photo queries all the others; same class = relevant.
- keyword -> image P@10: each class's first name in words.txt is the query (quoted when multi-word).
- tags top-1 / top-5: each photo tagged with the 200 class names as vocabulary.
The founding baselines are computed in the same run from the same stored vectors: raw pooled
features for image -> image, plain ConSE (top-10 classes x GloVe vectors, cosine) for words.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from common import CACHE, TINY, require, tiny_names  # noqa: E402

from pixseek import Collection  # noqa: E402


def precision_at_10(col: Collection, ids: np.ndarray, labels: np.ndarray, vectors: np.ndarray | None = None) -> float:
    """Each id queries the store (or `vectors` by cosine, for a baseline) and the top 10 others are judged."""
    label_of = dict(zip(ids.tolist(), labels))
    hits = 0
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        if vectors is None:
            q = col.visual.get(chunk)
            _, top = col.visual.search(q, 11)
        else:
            q = vectors[start : start + 500]
            s = q @ vectors.T
            top = np.argsort(-s, axis=1)[:, :11]
            top = ids[top]
        for qid, row in zip(chunk, top):
            others = [i for i in row.tolist() if i != qid][:10]
            hits += sum(label_of.get(i) == label_of[qid] for i in others)
    return hits / (10 * len(ids))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default=str(CACHE / "val-db"))
    ap.add_argument("--encoder", help="image encoder of a new --db (e.g. efficientnet-lite0-int8)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    names = tiny_names()
    col = Collection.open(args.db, encoder=args.encoder)
    t = time.perf_counter()
    report = col.index([require(TINY / "val")], progress=None)
    print(f"indexed {report.indexed} new photos ({report.skipped} already there) in {time.perf_counter() - t:.0f}s",
          file=sys.stderr)
    rows = col.catalog.db.execute("SELECT content_id, path FROM files WHERE status='ok' ORDER BY path").fetchall()
    ids = np.array([r[0] for r in rows])
    labels = np.array([os.path.basename(os.path.dirname(r[1])) for r in rows])
    classes = sorted(set(labels))
    out: dict = {"photos": len(ids), "classes": len(classes)}

    # image -> image
    out["image_p10"] = precision_at_10(col, ids, labels)
    feats = col.visual.get(ids)[:, : col.visual.dim - (col.probs.dim if col.probs is not None else 0)]
    out["image_p10_raw_features"] = precision_at_10(col, ids, labels, feats / np.linalg.norm(feats, axis=1, keepdims=True))

    # keyword -> image
    def query(wnid: str) -> str:
        n = names[wnid]
        return f'"{n}"' if " " in n else n

    label_of = dict(zip(ids.tolist(), labels))
    path_label = {r[1]: os.path.basename(os.path.dirname(r[1])) for r in rows}
    p10 = [np.mean([path_label[h.path] == w for h in col.search(query(w), k=10)]) for w in classes]
    out["keyword_p10"] = float(np.mean(p10))

    # tags over the 200 names
    searcher = col.searcher
    vocab = [names[w] for w in classes]
    probs = col.probs.get(ids)
    words, matrix, spec = searcher.context.classes.tag_vocabulary(vocab)
    scores = (probs @ matrix.T) * spec
    order = np.argsort(-scores, axis=1)[:, :5]
    truth = np.array([words.index(names[label_of[i]]) for i in ids.tolist()])
    out["tag_top1"] = float((order[:, 0] == truth).mean())
    out["tag_top5"] = float((order == truth[:, None]).any(1).mean())

    # plain ConSE baseline (founding design): top-10 classes x class-name GloVe vectors
    concepts = searcher.context.classes
    C = concepts.class_vectors
    top = np.argsort(-probs, axis=1)[:, :10]
    sem = (np.take_along_axis(probs, top, 1)[:, :, None] * C[top]).sum(1)
    sem /= np.linalg.norm(sem, axis=1, keepdims=True)
    zero = np.zeros(concepts.words.dim, np.float32)
    qv = np.stack([v if (v := concepts.words.vector(names[w])) is not None else zero for w in classes])
    s = qv @ sem.T
    topq = np.argsort(-s, axis=1)[:, :10]
    out["conse_keyword_p10"] = float(np.mean([(labels[topq[i]] == w).mean() for i, w in enumerate(classes)]))
    st = np.argsort(-s.T, axis=1)[:, :5]
    truth_c = np.array([classes.index(label_of[i]) for i in ids.tolist()])
    out["conse_tag_top1"] = float((st[:, 0] == truth_c).mean())
    out["conse_tag_top5"] = float((st == truth_c[:, None]).any(1).mean())
    out = {k: round(v, 4) if isinstance(v, float) else v for k, v in out.items()}
    if args.json:
        print(json.dumps(out))
        return
    print(f"Tiny ImageNet val: {out['photos']} photos, {out['classes']} classes")
    print(f"image -> image P@10     pixseek {out['image_p10']:.3f}   raw features {out['image_p10_raw_features']:.3f}")
    print(f"keyword -> image P@10   pixseek {out['keyword_p10']:.3f}   plain ConSE {out['conse_keyword_p10']:.3f}")
    print(f"tag top-1               pixseek {out['tag_top1']:.3f}   plain ConSE {out['conse_tag_top1']:.3f}")
    print(f"tag top-5               pixseek {out['tag_top5']:.3f}   plain ConSE {out['conse_tag_top5']:.3f}")


if __name__ == "__main__":
    main()
