"""Learned mapping (DeViSE) against ConSE on Tiny ImageNet, a zero-shot split, and Flickr8k captions.

    flock /tmp/pixseek-bench.lock python benchmarks/devise.py [--json OUT] [--only NAMES]

Features come from pixseek's own encoder through the same cache `pixseek train/eval` use, and every
figure goes through Searcher.search / LearnedBridge.tag_scores exactly as the CLI does (interfaces/
learning.py: evaluate). One line per setting on stdout.

Settings: conse (no mapping); ridge, mlp-cosine, mlp-hinge (each with the devise and auto bridges);
zeroshot (MLP trained on 150 classes, word queries for the 50 unseen and the 150 seen); captions
(each Flickr8k caption ranks 500 photos: R@1/5/10), with GloVe words and, when installed, MiniLM.
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
from common import DATA, TINY, require  # noqa: E402

from pixseek.encoders.wordnet import load_wordnet  # noqa: E402
from pixseek.encoders.words import load_words  # noqa: E402
from pixseek.interfaces.collection import Collection  # noqa: E402
from pixseek.interfaces.learning import dataset_vectors, eval_searcher, evaluate  # noqa: E402
from pixseek.learn.datasets import open_dataset  # noqa: E402
from pixseek.learn.devise import fit_mapping  # noqa: E402
from pixseek.search.mapping import mapping_path, set_active  # noqa: E402

STOP = set("a an the of in on at to and or is are was were be being been with by for from his her its their this that "
           "these those it he she they them while into onto over under near next some two three four one as there "
           "who which what where up down out off through other another each".split())


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
    x, _, y = dataset_vectors(col, ds, "train", None)
    vx, vp, vy = dataset_vectors(col, ds, "val", None)
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
        for bridge in ("devise", "auto"):
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
    for bridge in ("conse", "devise", "auto"):
        for part, classes in (("unseen50", unseen), ("seen150", seen)):
            r = evaluate(searcher, vx, vp, vy, names, bridge, [int(c) for c in classes])
            results[f"zeroshot/{bridge}/{part}"] = r
            print(f"zeroshot {bridge:6s} {part:8s}     keyword_p10 {r['keyword_p10']}", flush=True)
    set_active(col.folder, "devise")


def captions(col, results, words_spec):
    """Each caption ranks the 500 photos. GloVe: its content words as one query through Searcher.search.
    MiniLM (optional): the whole caption as one phrase vector against the class names (ConSE), alone and
    added to the GloVe/WordNet word weights."""
    from pixseek.search.devise import PhraseVectors

    from pixseek.encoders.base import Embedding
    from pixseek.encoders.visual import visual_vectors
    from pixseek.errors import PixseekError
    from pixseek.learn.datasets import cached_features
    from pixseek.paths import cache_dir
    from pixseek.search.concepts import SIM_POWER

    root = require(DATA / "flickr8k-500")
    rows = [ln.split("\t") for ln in (root / "captions.tsv").read_text().splitlines()[1:] if ln.strip()]
    photos = sorted({r[0] for r in rows})
    index = {p: i for i, p in enumerate(photos)}
    truth = np.array([index[r[0]] for r in rows])
    f = cached_features([str(root / "images" / p) for p in photos], col.encoder, cache_dir() / "features")
    visual = visual_vectors(Embedding(f.features, f.probs))
    searcher = eval_searcher(col, visual, f.probs)
    wv = searcher.concepts.words
    def usable(word):
        try:
            learned.auto_weights(word)
            searcher.concepts.term_weights(word)
            return word in wv
        except PixseekError:
            return False

    learned = searcher.learned
    content = [[w for w in (t.strip(".,;!?'\"()").lower() for t in r[2].split()) if w and w not in STOP and usable(w)]
               for r in rows]

    def report(setting, scores):
        rank = (scores > scores[np.arange(len(truth)), truth][:, None]).sum(axis=1)
        r = {f"R@{k}": round(float((rank < k).mean()), 4) for k in (1, 5, 10)}
        results[f"captions/{setting}"] = r
        print(f"captions {setting:24s} " + "  ".join(f"{k} {v}" for k, v in r.items()), flush=True)

    for bridge in ("conse", "auto", "devise"):
        scores = np.full((len(rows), len(photos)), -np.inf, np.float32)
        for n, words in enumerate(content):
            if words:
                for h in searcher.search(" ".join(words), len(photos), bridge=bridge):
                    scores[n, h.id] = h.score
        report(f"{words_spec}/{bridge}", scores)
    try:
        pv = PhraseVectors()
    except PixseekError as exc:
        print(f"captions minilm: skipped ({exc})")
        return
    names = list(searcher.concepts.names) + learned.mapping.class_names
    sims = np.maximum(pv.encode([r[2] for r in rows]) @ pv.encode(names).T, 0) ** SIM_POWER
    auto_rows = learned.auto.vectors.astype(np.float32)
    n_base = learned.n_base
    report("minilm/conse", sims[:, :n_base] @ np.asarray(f.probs, np.float32).T)
    report("minilm/auto", sims @ auto_rows.T)
    words_q = np.stack([np.mean([learned.auto_weights(w) for w in ws], axis=0) if ws else np.zeros(len(names))
                        for ws in content])
    phrase_q = sims / np.maximum(sims.max(axis=1, keepdims=True), 1e-6)
    report("minilm+glove/auto", (words_q + phrase_q) @ auto_rows.T)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", metavar="OUT")
    ap.add_argument("--only", nargs="*", help="ridge mlp-cosine mlp-hinge zeroshot captions")
    args = ap.parse_args()
    os.environ.setdefault("PIXSEEK_THREADS", "2")
    results: dict = {}
    start = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        col = Collection.open(Path(tmp) / "col")
        if not args.only or set(args.only) - {"captions"}:
            tiny(col, results, set(args.only or []))
        if not args.only or "captions" in args.only:
            active = Path(col.folder) / "mappings" / "active"
            if not (Path(col.folder) / "mappings" / "devise.npz").exists():
                ds = open_dataset(TINY, load_wordnet())
                x, _, y = dataset_vectors(col, ds, "train", None)
                train(col, ds, x, y, "mlp", "cosine")
            set_active(col.folder, "devise")
            assert active.exists()
            captions(col, results, col.words_spec)
    results["seconds"] = round(time.time() - start, 1)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
