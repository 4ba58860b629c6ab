"""How often a shown tag is right: top-3 tag precision against human captions and Tiny ImageNet classes.

    flock /tmp/pixseek-bench.lock python benchmarks/tags.py [--json out.json] [--raw]
    flock /tmp/pixseek-bench.lock python benchmarks/tags.py --fit   # refit pixseek/search/data/tag_calibration.json

Truth (pixseek/search/tag_truth.py, one rule for every figure): on flickr8k-500 a tag is right when it, a synonym,
its everyday (basic-level) word or a hypernym at most two steps up appears in any of the photo's 5 captions; on
Tiny ImageNet val (10 photos per class, 2,000) when it is the photo's class, a synonym or any hypernym of it.
Printed per set: precision of the shown top 3 (right shown tags / shown tags), the share of photos with at least
one tag, and tags shown per photo. `--raw` measures the tags as they were before calibrated tags: the auto
bridge's tag_scores over its default vocabulary, top 3, no threshold (and the result cards' explain words).
`--fit` fits the calibration on training data only: the Flickr8k dev split (1,844 photos, captions).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = Path(os.environ.get("PIXSEEK_TEST_DATA", ROOT.parent / "shared" / "data"))

from pixseek.encoders.imagenet import imagenet_wnids  # noqa: E402
from pixseek.learn.datasets import file_vectors  # noqa: E402
from pixseek.learn.evaluate import array_searcher  # noqa: E402
from pixseek.lexicon.wordnet import load_wordnet  # noqa: E402


class Encoder:
    """The collection encoder the feature cache is keyed by, without a collection."""

    def __init__(self) -> None:
        from pixseek.encoders.registry import load_image_encoder

        self.encoder = load_image_encoder("efficientnet-lite0")


def read_captions(folder: Path, split: str | None = None) -> dict[str, list[str]]:
    """image file -> its captions (only photos of `split` in the folder's split.tsv when given)."""
    keep = None
    if split is not None:
        with open(folder / "split.tsv", encoding="utf-8") as f:
            keep = {r["image"] for r in csv.DictReader(f, delimiter="\t") if r["split"] == split}
    out: dict[str, list[str]] = {}
    with open(folder / "captions.tsv", encoding="utf-8") as f:
        for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            if keep is None or r["image"] in keep:
                out.setdefault(str(folder / "images" / r["image"]), []).append(r["caption"])
    return dict(sorted(out.items()))


def tiny_photos(split: str, per_class: int) -> dict[str, str]:
    """photo -> wnid: the first `per_class` photos of each class (by file name)."""
    out = {}
    for d in sorted((DATA / "tiny-imagenet-200" / split).iterdir()):
        for p in sorted(d.glob("*.JPEG"))[:per_class]:
            out[str(p)] = d.name
    return out


SETS = {
    "flickr500": lambda: read_captions(DATA / "flickr8k-500"),
    "flickr-dev": lambda: read_captions(DATA / "flickr8k-train", "dev"),
    "tiny-val": lambda: tiny_photos("val", 10),
    "tiny-train": lambda: tiny_photos("train", 5),
}

_ENCODER: Encoder | None = None


def vectors(name: str) -> tuple[np.ndarray, np.ndarray, dict]:
    """(visual vectors, class probabilities, {photo: truth}) of a set, through the feature cache."""
    global _ENCODER
    truth = SETS[name]()
    _ENCODER = _ENCODER or Encoder()
    visual, probs, ok = file_vectors(_ENCODER.encoder, list(truth), False)
    assert ok.all(), f"{int((~ok).sum())} photos of {name} failed to decode"
    # stored as float16 in a collection: measure what a collection would tag
    return visual.astype(np.float16).astype(np.float32), probs.astype(np.float16).astype(np.float32), truth


def searcher_for(visual: np.ndarray, probs: np.ndarray):
    return array_searcher(Path(tempfile.mkdtemp()), "efficientnet-lite0", "glove-6b-50d", imagenet_wnids(),
                          visual, probs)


def listed_tags(words: list[str], scores: np.ndarray, k: int = 3) -> list[list[str]]:
    """Each photo's first k tags as `pixseek tag` lists them: best score first, zero scores not shown."""
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return [[words[j] for j in row if scores[i, j] > 0] for i, row in enumerate(order)]


def class_names(searcher, probs: np.ndarray, k: int = 3) -> list[list[str]]:
    """Before: what result cards showed for a broad query, the photo's most probable ImageNet classes."""
    space = searcher.context.classes
    return [space.explain(row, np.ones(len(row), np.float32), k) for row in probs]


def precision(tags: list[list[str]], truth: list, right) -> dict:
    shown = sum(len(t) for t in tags)
    good = sum(right(tag, want) for t, want in zip(tags, truth) for tag in t)
    return {"precision_top3": round(good / max(1, shown), 4), "photos_tagged": round(sum(bool(t) for t in tags) / len(tags), 4),
            "tags_per_photo": round(shown / len(tags), 3), "photos": len(tags)}


def measure(raw: bool) -> dict:
    from pixseek.learn.tag_truth import TagTruth

    judge = TagTruth(load_wordnet())
    out = {}
    for name in ("flickr500", "tiny-val"):
        visual, probs, truth = vectors(name)
        searcher = searcher_for(visual, probs)
        words, scores = searcher.tag_scores(visual, probs)
        lists = {"tag list": listed_tags(words, scores)}
        if raw:
            lists["card (class names)"] = class_names(searcher, probs)
        if name == "flickr500":
            want = [judge.caption_words(c) for c in truth.values()]
            right = judge.right_by_captions
        else:
            want, right = list(truth.values()), judge.right_by_class
        for label, tags in lists.items():
            out[f"{name} {label}"] = got = precision(tags, want, right)
            print(f"{name:10s} {label:20s} top-3 precision {got['precision_top3']:.3f}  photos tagged "
                  f"{got['photos_tagged']:.3f}  tags per photo {got['tags_per_photo']:.2f}  ({got['photos']} photos)")
            print("   e.g. " + " | ".join(", ".join(t) for t in tags[:6]))
    return out


CONTEXT = {"guy", "man", "woman", "lady", "girl", "boy", "child", "people", "crowd", "person", "ocean", "sea", "pond",
           "lake", "river", "water", "grass", "street", "beach", "snow", "field", "road", "sky", "tree"}


def wrong_tags() -> None:
    """Which shown tags the class truth of Tiny ImageNet val counts wrong, and the precision without the words
    of people and places around the object (CONTEXT), which a class (and its hypernyms) can never confirm."""
    from collections import Counter

    from pixseek.learn.tag_truth import TagTruth

    judge = TagTruth(load_wordnet())
    visual, probs, truth = vectors("tiny-val")
    words, scores = searcher_for(visual, probs).tag_scores(visual, probs)
    right, wrong = Counter(), Counter()
    for tags, want in zip(listed_tags(words, scores), truth.values()):
        for tag in tags:
            (right if judge.right_by_class(tag, want) else wrong)[tag] += 1
    shown, good = sum(right.values()) + sum(wrong.values()), sum(right.values())
    ctx = sum(n for w, n in wrong.items() if w in CONTEXT) + sum(n for w, n in right.items() if w in CONTEXT)
    print(f"tiny-val: {shown} tags shown, {good} right ({good / max(1, shown):.3f}); {ctx} are context words; "
          f"without them {good - sum(n for w, n in right.items() if w in CONTEXT)} of {shown - ctx} right "
          f"({(good - sum(n for w, n in right.items() if w in CONTEXT)) / max(1, shown - ctx):.3f})")
    print("most often wrong: " + ", ".join(f"{w} {n}" for w, n in wrong.most_common(20)))
    print("most often right: " + ", ".join(f"{w} {n}" for w, n in right.most_common(12)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", help="also write the figures here")
    parser.add_argument("--raw", action="store_true", help="also the class names result cards showed before")
    parser.add_argument("--fit", action="store_true", help="refit the tag calibration on the Flickr8k dev split")
    parser.add_argument("--wrong", action="store_true", help="which tags Tiny ImageNet's class truth counts wrong")
    args = parser.parse_args()
    if args.wrong:
        return wrong_tags()
    if args.fit:
        from pixseek.learn.tag_fit import fit_and_save

        visual, probs, truth = vectors("flickr-dev")
        fine_visual, fine_probs, fine_truth = vectors("tiny-train")
        fit_and_save(searcher_for(visual, probs), visual, probs, list(truth.values()),
                     DATA / "flickr8k-train" / "captions.tsv", DATA / "flickr8k-train" / "split.tsv",
                     fine_visual, fine_probs, list(fine_truth.values()))
    figures = measure(args.raw)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
