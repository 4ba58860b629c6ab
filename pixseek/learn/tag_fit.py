"""Fitting the tag vocabulary and its calibration (search/tags.py) on training data only.

Vocabulary: nouns of the Flickr8k *train* captions naming things one can see (their first WordNet sense lies
under "physical entity"; a short list of caption filler is left out) used for at least MIN_PHOTOS photos, the
scene words, and each ImageNet class's basic-level word: its nearest WordNet ancestor (itself included, at most
BASIC_STEPS up) one of whose single-word lemmas the train captions use for at least MIN_BASIC photos; animal
words over no ImageNet class ("puppy") are left out (search/tags.py animal_without_class).
Calibration: a logistic model per word family (search/tags.py's formula), fitted on the Flickr8k *dev* split
(1,844 photos) against caption truth (learn/tag_truth.py), ridges on the per-word terms; the fine-name model on
Tiny ImageNet *train* photos (right when the class is the photo's class or a hypernym of it). The threshold is
the lowest probability at which the dev photos' shown top 3 reach TARGET_PRECISION, with each dev photo's
everyday-word probabilities from the model fitted on the other half (out of fold).
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import numpy as np

from pixseek.atomic import atomic_path
from pixseek.learn.tag_truth import TagTruth
from pixseek.lexicon.wordnet import load_wordnet
from pixseek.search.tags import (
    TAG_DATA,
    Photos,
    animal_without_class,
    class_mass,
    everyday_features,
    everyday_probability,
    fine_probability,
)

MIN_PHOTOS = 25
MIN_BASIC = 5
BASIC_STEPS = 6
TARGET_PRECISION = 0.90
BIAS_RIDGE = 1.0
COEF_RIDGE = 10.0
PHYSICAL_ENTITY = "n00001930"
FILLER = {  # caption words WordNet has as nouns that captions use as other words ("wearing", "white", "down")
    "front", "top", "side", "middle", "background", "area", "air", "end", "edge", "picture", "camera", "other",
    "something", "thing", "lot", "line", "way", "point", "part", "head", "face", "hand", "arm", "arms", "leg",
    "back", "mouth", "body", "foot", "hair", "group", "couple", "pair", "view", "distance", "object",
    "item", "wearing", "white", "young", "down", "stand", "small", "outside", "there", "behind", "watch", "colored",
    "open", "inside", "laying", "left", "short", "dry", "low", "eating", "have", "drinking", "same", "read",
    "facing", "round", "steep", "match", "reach", "gather", "grinding", "spray", "hind", "tackle", "upside", "good",
    "can", "pick", "spot", "being", "orange", "grey", "silver", "blond", "blonde", "asian", "american", "african",
    "german", "male", "female", "midair", "outdoors", "setting", "piece", "shallow", "plastic", "metal", "flies",
    "climb", "slide", "hanging", "cross", "corner", "block", "bottom", "surface", "structure", "equipment",
    "someone", "photo", "photograph", "closeup", "scene", "owner", "friend", "downhill", "terrain", "concrete",
    "cement", "wood", "leather", "gear", "steps", "light", "dance", "skate", "ride", "work", "device",
    "covering", "case", "site", "course", "roll", "jack", "bank", "scale", "post", "control", "patch", "bar",
    "bars", "tool", "container", "instrument", "machine", "beam", "string", "board", "fan", "screen",
    "shade", "disk", "mini", "coach", "dish", "pitcher", "rubber", "sign", "attire", "chest", "bow",
    "tie", "crane", "boxer", "cricket", "fly", "game", "monitor", "bib", "tights", "hip", "magazine", "hay",
}


def caption_photo_counts(captions_tsv: Path, split_tsv: Path, judge: TagTruth, split: str = "train") -> Counter:
    """word (singular) -> how many photos of the split have it in a caption."""
    with open(split_tsv, encoding="utf-8") as f:
        keep = {r["image"] for r in csv.DictReader(f, delimiter="\t") if r["split"] == split}
    captions: dict[str, list[str]] = {}
    with open(captions_tsv, encoding="utf-8") as f:
        for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            if r["image"] in keep:
                captions.setdefault(r["image"], []).append(r["caption"])
    counts: Counter = Counter()
    for caps in captions.values():
        counts.update(w for w in judge.caption_words(caps) if "_" not in w)
    return counts


def vocabulary(concepts, scene_words: list[str], counts: Counter, judge: TagTruth) -> list[tuple[str, str]]:
    """(word, WordNet sense or the word itself) of every everyday tag word."""
    wn = judge.wordnet
    out: dict[str, str] = {}
    for word, n in counts.most_common():
        sense = judge.first_sense(word)
        if (n >= MIN_PHOTOS and sense and word not in FILLER and len(word) > 2 and judge.singular(word) == word
                and PHYSICAL_ENTITY in wn.ancestors(sense)):
            out.setdefault(word, sense)
    for word in scene_words:
        if word not in FILLER:
            out.setdefault(word, judge.first_sense(word) or word)
    for wnid in concepts.classes:
        for s in [wnid, *wn.ancestors(wnid)][: BASIC_STEPS + 1]:
            lemma = next((w.lower() for w in wn.lemmas.get(s, []) if "_" not in w and counts[w.lower()] >= MIN_BASIC
                          and w.lower() not in FILLER and judge.first_sense(w) == s), None)
            if lemma is not None:
                out.setdefault(lemma, s)
                break
    covered = concepts.covered(list(out.values())).any(axis=1)
    return [(w, s) for (w, s), c in zip(out.items(), covered) if not animal_without_class(concepts, s, bool(c))]


def fit_logistic(x: np.ndarray, y: np.ndarray, per_word: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(coef (n_words, d), bias (n_words,)) of P(y) = sigmoid(x . coef_w + bias_w) over x (n, n_words, d):
    shared coefficients plus per-word deviations and biases, each under a ridge."""
    _, v, d = x.shape

    def split(theta):
        delta = theta[d + v:].reshape(v, d) if per_word else np.zeros((v, d))
        return theta[:d], theta[d:d + v], delta

    def loss(theta):
        shared, bias, delta = split(theta)
        z = (x * (shared + delta)).sum(axis=2) + bias
        p = 1 / (1 + np.exp(-np.clip(z, -30, 30)))
        value = (-np.sum(y * np.log(p + 1e-7) + (1 - y) * np.log(1 - p + 1e-7))
                 + BIAS_RIDGE * np.sum(bias**2) + COEF_RIDGE * np.sum(delta**2))
        r = p - y
        per = np.einsum("nv,nvd->vd", r, x)
        grad = [per.sum(axis=0), r.sum(axis=0) + 2 * BIAS_RIDGE * bias]
        if per_word:
            grad.append((per + 2 * COEF_RIDGE * delta).ravel())
        return value, np.concatenate(grad)

    shared, bias, delta = split(adam(loss, np.zeros(d + v + (v * d if per_word else 0))))
    return (shared + delta).astype(np.float32), bias.astype(np.float32)


FINE_EDGES = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)


def fine_table(probs: np.ndarray, right: list[bool]) -> np.ndarray:
    """(2, bins): each bin's lower edge and the share of photos whose top class (with a probability in the bin or,
    pooled, a neighbouring one) is right, made non-decreasing by pooling adjacent violators."""
    top = probs.max(axis=1)
    right = np.asarray(right, np.float64)
    edges = np.array(FINE_EDGES)
    which = np.searchsorted(edges, top, side="right") - 1
    blocks = [[float(right[which == b].sum()), float((which == b).sum()), 1] for b in range(len(edges))]
    pooled: list[list[float]] = []
    for block in blocks:
        pooled.append(block)
        while len(pooled) > 1 and pooled[-2][0] / max(pooled[-2][1], 1) > pooled[-1][0] / max(pooled[-1][1], 1):
            last = pooled.pop()
            pooled[-1] = [pooled[-1][0] + last[0], pooled[-1][1] + last[1], pooled[-1][2] + last[2]]
    values = [v for good, n, bins in pooled for v in [good / max(n, 1)] * int(bins)]
    return np.array([edges, values], np.float32)


def adam(loss, theta: np.ndarray, steps: int = 1500, rate: float = 0.05) -> np.ndarray:
    """Minimise a smooth convex loss (value, gradient) with Adam, full batch: numpy only."""
    m, v = np.zeros_like(theta), np.zeros_like(theta)
    for t in range(1, steps + 1):
        _, g = loss(theta)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        theta = theta - rate * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    return theta


def shown_precision(p: np.ndarray, right: np.ndarray, threshold: float, k: int = 3) -> tuple[float, int]:
    order = np.argsort(-p, axis=1, kind="stable")[:, :k]
    top_p = np.take_along_axis(p, order, 1)
    top_right = np.take_along_axis(right, order, 1)
    shown = top_p >= threshold
    return float(top_right[shown].sum() / max(1, shown.sum())), int(shown.sum())


def fit_and_save(searcher, visual: np.ndarray, probs: np.ndarray, captions: list[list[str]], captions_tsv: Path,
                 split_tsv: Path, fine_visual: np.ndarray, fine_probs: np.ndarray, fine_labels: list[str],
                 out: Path = TAG_DATA) -> dict:
    """Fit on the dev photos (visual, probs, their captions) and Tiny ImageNet train photos; write `out`."""
    judge = TagTruth(load_wordnet())
    ctx = searcher.context
    concepts, joint = ctx.classes, ctx.joint
    scene = [w.strip() for w in (TAG_DATA.parent / "scene_words.txt").read_text().splitlines() if w.strip()]
    pairs = vocabulary(concepts, scene, caption_photo_counts(captions_tsv, split_tsv, judge), judge)
    words, senses = [w for w, _ in pairs], [s for _, s in pairs]
    text = joint.map_texts(ctx.phrases.encode(words)).astype(np.float32)
    photos = Photos(visual, probs)
    cos = joint.map_images(visual) @ text.T
    mu, sd = cos.mean(axis=0), cos.std(axis=0) + 1e-6
    mass = class_mass(concepts, words, senses)
    gated = mass[1]
    f = everyday_features(photos, joint.map_images(visual), text, mass, mu, sd)
    want = [judge.caption_words(c) for c in captions]
    right = np.array([[judge.right_by_captions(w, cw) for w in words] for cw in want], np.float32)
    fold = np.random.default_rng(0).permutation(len(f)) % 2
    p_dev = np.zeros(right.shape, np.float32)  # out-of-fold probabilities choose the threshold
    for k in (0, 1):
        c, b = fit_logistic(f[fold != k], right[fold != k])
        p_dev[fold == k] = everyday_probability(f[fold == k], c, b, gated)
    coef, bias = fit_logistic(f, right)
    names = list(concepts.names)
    fine = fine_table(fine_probs, [judge.right_by_class(names[c], label)
                                   for c, label in zip(fine_probs.argmax(axis=1), fine_labels)])
    p_fine = fine_probability(probs[:, : len(names)], fine)
    right_fine = np.array([[judge.right_by_captions(n, cw) for n in names] for cw in want], np.float32)
    p_all, r_all = np.hstack([p_dev, p_fine]), np.hstack([right, right_fine])
    threshold, report = 0.99, {}
    for t in np.arange(0.30, 0.99, 0.01):
        got, shown = shown_precision(p_all, r_all, float(t))
        report[round(float(t), 2)] = (round(got, 4), shown)
        if got >= TARGET_PRECISION:
            threshold = round(float(t), 2)
            break
    with atomic_path(out, suffix=".npz") as tmp:
        np.savez_compressed(tmp, words=np.array(words), senses=np.array(senses), coef=coef, bias=bias, mu=mu,
                            sd=sd, text=text.astype(np.float16), joint_key=np.array(joint.key), fine=fine,
                            classes=np.array(concepts.classes), mass=mass[0].astype(np.float16), covered=mass[1],
                            threshold=np.array(threshold, np.float32))
    summary = {"words": len(words), "coef": coef.mean(axis=0).round(3).tolist(), "fine": fine.tolist(), "threshold": threshold,
               "dev_precision_by_threshold": report}
    print(summary)
    return summary
