"""Learned mapping (DeViSE) against ConSE on Tiny ImageNet and a zero-shot split.

    flock /tmp/pixseek-bench.lock python benchmarks/devise.py [--json OUT] [--only NAMES]

Features come from pixseek's own encoder through the same cache `pixseek train/eval` use, and every
figure goes through Searcher.search / Searcher.tag_scores exactly as the CLI does
(pixseek/learn/evaluate.py). One line per setting on stdout.

Settings: conse (no mapping); ridge, mlp-cosine, mlp-hinge (each with the devise and auto bridges);
zeroshot (MLP trained on 150 classes, word queries for the 50 unseen and the 150 seen). Once a mapping
is trained, the conse bridge covers its classes too (what the auto bridge was before the joint space).
Captions and sentences: benchmarks/text.py.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import TINY  # noqa: E402

from pixseek.interfaces.collection import Collection  # noqa: E402
from pixseek.learn.datasets import dataset_vectors, open_dataset  # noqa: E402
from pixseek.learn.devise import fit_mapping  # noqa: E402
from pixseek.learn.evaluate import array_searcher, evaluate  # noqa: E402
from pixseek.lexicon.wordnet import load_wordnet  # noqa: E402
from pixseek.lexicon.words import load_words  # noqa: E402
from pixseek.search.mapping import mapping_path, set_active  # noqa: E402


def eval_searcher(col, visual, probs):
    return array_searcher(col.folder, col.encoder_spec, col.words_spec, col.class_ids(), visual, probs)


def train(col, ds, x, labels, method, loss, seed=0, name="devise"):
    m = fit_mapping(x, labels, [c.id for c in ds.classes], [c.names for c in ds.classes], [c.wnid for c in ds.classes],
                    load_words(col.words_spec), col.encoder_spec, method=method, loss=loss, seed=seed)
    m.save(mapping_path(col.folder, name))
    set_active(col.folder, name)
    return m


def line(setting, r):
    keys = ("keyword_p10", "tag_top1", "tag_top5", "image_p10_visual", "image_p10_learned")
    print(f"{setting:28s} " + "  ".join(f"{k} {r[k]}" for k in keys if k in r), flush=True)


def tiny(col, results, only):
    ds = open_dataset(TINY, load_wordnet())
    x, _, y = dataset_vectors(col.encoder, ds, "train", None)
    vx, vp, vy = dataset_vectors(col.encoder, ds, "val", None)
    names = [c.name for c in ds.classes]
    active = Path(col.folder) / "mappings" / "active"
    if active.exists():
        active.unlink()
    r = evaluate(eval_searcher(col, vx, vp), vx, vp, vy, names, "conse")
    results["conse"] = r
    line("conse", r)
    for method, loss in (("ridge", "squared"), ("mlp", "cosine"), ("mlp", "hinge")):
        tag = f"{method}" if method == "ridge" else f"{method}-{loss}"
        if only and tag not in only:
            continue
        m = train(col, ds, x, y, method, loss if method == "mlp" else "cosine")
        searcher = eval_searcher(col, vx, vp)
        for bridge in ("devise", "conse"):  # conse now covers the trained classes too
            r = evaluate(searcher, vx, vp, vy, names, bridge)
            r["train_report"] = {k: v for k, v in m.report.items() if k != "history"}
            results[f"{tag}/{bridge}"] = r
            line(f"{tag}/{bridge}", r)
    if only and "zeroshot" not in only:
        return
    rng = np.random.default_rng(0)
    order = rng.permutation(len(ds.classes))
    seen, unseen = sorted(order[:150]), sorted(order[150:])
    sub = ds.subset([ds.classes[i].id for i in seen])
    keep = np.isin(y, seen)
    remap = {c: i for i, c in enumerate(seen)}
    train(col, sub, x[keep], np.array([remap[c] for c in y[keep]]), "mlp", "cosine", name="seen150")
    searcher = eval_searcher(col, vx, vp)
    for bridge in ("conse", "devise"):
        for part, classes in (("unseen50", unseen), ("seen150", seen)):
            r = evaluate(searcher, vx, vp, vy, names, bridge, [int(c) for c in classes])
            results[f"zeroshot/{bridge}/{part}"] = r
            print(f"zeroshot {bridge:6s} {part:8s}     keyword_p10 {r['keyword_p10']}", flush=True)
    set_active(col.folder, "devise")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", metavar="OUT")
    ap.add_argument("--only", nargs="*", help="ridge mlp-cosine mlp-hinge zeroshot")
    args = ap.parse_args()
    os.environ.setdefault("PIXSEEK_THREADS", "2")
    results: dict = {}
    start = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        col = Collection.open(Path(tmp) / "col")
        tiny(col, results, set(args.only or []))
    results["seconds"] = round(time.time() - start, 1)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
