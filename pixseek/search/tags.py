"""A photo's tags: one list, the same on result cards, in the detail view and from `pixseek tag`.

Tags are words people use: everyday words (the words of Flickr8k training captions, the scene words, and
WordNet's basic-level word above each ImageNet class: tabby, tiger cat and Egyptian cat all say "cat"), plus an
ImageNet class's fine name only when the classifier is confident of it. Every tag carries a probability that
it is right, fitted on training data only (pixseek/learn/tag_fit.py; `benchmarks/tags.py --fit`):
  everyday word w:  P = sigmoid(a_w z_w + b_w r_w + c_w log10(m_w + 1e-4) + d_w k_w + e_w u_w + bias_w)
where z_w is the photo's joint-space cosine to w standardised over the fitting photos, r_w the same cosine
standardised over the photo's vocabulary (how w stands out among the words), m_w the classifier's probability
mass at or below w's WordNet sense when that sense covers ImageNet classes (k_w = 1), else its ConSE score
through word vectors (u_w = 1; "man" is no class but near "groom"); each word has its own
coefficients, pulled towards shared ones by a ridge. P is 0 when k_w = 1 and m_w < MIN_MASS: the classifier
does not back the word;
  fine name:        P = the share of right names among fitting photos whose top class had a probability in
                    p_class's bin (bins 0.1 wide, 0.05 above 0.9; made monotone).
A tag below the fitted threshold is never shown. The list is ordered by probability (to 4 places, ties in
vocabulary order), and result cards show its first CARD_TAGS.

Sources are a registry (TAG_SOURCES): each gives calibrated probabilities for its own words, and a word
offered by several sources keeps its highest probability. A source of taught concepts registers itself
there with register_tag_source().
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Protocol

import numpy as np

from pixseek.store.vectors import Vectors

TAG_DATA = Path(__file__).resolve().parent / "data" / "tag_calibration.npz"
CARD_TAGS = 3
MASS_FLOOR = 1e-4
FEATURES = 5
MIN_MASS = 0.03
ANIMAL = "n00015388"


@dataclass
class Photos:
    """What tag sources read of photos: stored visual vectors and classifier probabilities."""

    visual: np.ndarray  # (n, dim)
    probs: np.ndarray | None  # (n, n_classes), or None for an encoder without a classifier head
    joint: np.ndarray | None = None  # (n, joint dim) as the collection stores them; None: mapped from visual


@dataclass
class TagContext:
    """What a collection offers tag sources (any part may be None)."""

    concepts: object | None  # ConceptSpace over the classifier's classes
    map_images: Callable[[np.ndarray], np.ndarray] | None  # visual -> unit joint vectors
    encode_texts: Callable[[list[str]], np.ndarray] | None  # texts -> unit joint vectors
    joint_key: str | None
    calibration: dict


class TagSource(Protocol):
    name: str

    def probabilities(self, photos: Photos) -> tuple[list[str], np.ndarray]:
        """(words, (n_photos, n_words) calibrated probabilities that each word is right)."""
        ...


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -30, 30)))


def class_mass(concepts, words: list[str], senses: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """((n_classes, n_words) class weights, (n_words,) covered): a covered word (its WordNet sense lies over some
    classes) weighs 1 the classes at or below it, so a photo's score is its probability mass there; any other
    word weighs classes by ConSE's word-vector likeness (search/concepts.py), the evidence "puppy" has."""
    covered = concepts.covered(senses).T
    is_covered = covered.any(axis=0)
    for j in np.flatnonzero(~is_covered):
        if concepts.words.vector(words[j]) is not None:
            covered[:, j] = concepts.weights(words[j])
    return covered, is_covered


def animal_without_class(concepts, sense: str, covered: bool) -> bool:
    """An animal word WordNet places over none of the classifier's classes ("puppy": young mammal): the classifier
    knows animals (398 of its 1,000 classes) and cannot back it, and on 64-px photos the joint space alone said
    "puppy" of goldfish, so such words are no tags."""
    wordnet = concepts.wordnet
    return not covered and wordnet is not None and sense in wordnet.lemmas and ANIMAL in wordnet.ancestors(sense)


def everyday_features(photos: Photos, joint: np.ndarray | None, text: np.ndarray | None,
                      mass: tuple[np.ndarray, np.ndarray] | None, mu: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """(n_photos, n_words, FEATURES) features of the everyday-word model (see the module's formula)."""
    n, v = len(photos.visual), len(mu)
    out = np.zeros((n, v, FEATURES), np.float32)
    if joint is not None and text is not None:
        cos = joint @ text.T
        out[:, :, 0] = (cos - mu) / sd
        out[:, :, 1] = (cos - cos.mean(axis=1, keepdims=True)) / (cos.std(axis=1, keepdims=True) + 1e-6)
    if mass is not None and photos.probs is not None:
        weights, covered = mass
        probs = np.asarray(photos.probs, np.float32)[:, : weights.shape[0]]
        has = weights.any(axis=0)
        out[:, :, 2] = np.log10(probs @ weights + MASS_FLOOR) * has
        out[:, :, 3] = covered
        out[:, :, 4] = has & ~covered
    return out


def everyday_probability(features: np.ndarray, coef: np.ndarray, bias: np.ndarray,
                         gated: np.ndarray | None = None) -> np.ndarray:
    """The everyday-word model's probabilities; 0 for a word that needs the classifier's support (needs_classes)
    where the classifier gives it less than MIN_MASS (the joint space alone once tagged a goldfish "husky")."""
    p = _sigmoid((features * coef).sum(axis=2) + bias)
    if gated is not None:
        p[gated[None, :] & (features[:, :, 2] < np.log10(MIN_MASS + MASS_FLOOR))] = 0
    return p


class EverydayWords:
    """Caption, scene and basic-level words, scored by the joint space and the classifier together."""

    name = "everyday"

    def __init__(self, ctx: TagContext) -> None:
        cal = ctx.calibration
        self.ctx = ctx
        self.words = [str(w) for w in cal["words"]]
        self.senses = [str(s) for s in cal["senses"]]
        self.coef, self.bias = cal["coef"].astype(np.float32), cal["bias"].astype(np.float32)
        self.mu, self.sd = cal["mu"].astype(np.float32), cal["sd"].astype(np.float32)

    @cached_property
    def text(self) -> np.ndarray | None:
        """The words' joint vectors: shipped for the shipped joint space, encoded once for another."""
        if self.ctx.map_images is None:
            return None
        if self.ctx.joint_key == str(self.ctx.calibration["joint_key"]):
            return self.ctx.calibration["text"].astype(np.float32)
        return np.asarray(self.ctx.encode_texts(self.words), np.float32)

    @cached_property
    def mass(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Which classes each word's mass sums over: shipped for the classifier the model was fitted with (WordNet
        walks for hundreds of words would slow a cold search), computed for another."""
        concepts, cal = self.ctx.concepts, self.ctx.calibration
        if concepts is None:
            return None
        if list(concepts.classes) == [str(c) for c in cal["classes"]]:
            return cal["mass"].astype(np.float32), cal["covered"]
        return class_mass(concepts, self.words, self.senses)

    def probabilities(self, photos: Photos) -> tuple[list[str], np.ndarray]:
        joint = photos.joint
        if joint is None and self.ctx.map_images is not None:  # stored rows are float16: so are these
            joint = self.ctx.map_images(photos.visual).astype(np.float16).astype(np.float32)
        f = everyday_features(photos, joint, self.text, self.mass, self.mu, self.sd)
        return self.words, everyday_probability(f, self.coef, self.bias, self.gated)

    @cached_property
    def gated(self) -> np.ndarray | None:
        """Words the classifier must back (those over its classes)."""
        return None if self.mass is None else self.mass[1]


def fine_probability(probs: np.ndarray, table: np.ndarray) -> np.ndarray:
    """table: (2, bins) lower bin edges of the class probability, and the share of right names from there up."""
    return table[1][np.clip(np.searchsorted(table[0], probs, side="right") - 1, 0, table.shape[1] - 1)]


class FineClasses:
    """The classifier's own class names ("golden retriever"), each as likely right as the classifier is sure."""

    name = "fine"

    def __init__(self, ctx: TagContext) -> None:
        names = list(ctx.concepts.names)
        self.n_classes = len(names)
        self.names = list(dict.fromkeys(names))  # a name two classes share ("crane") is one tag
        first = {n: i for i, n in reversed(list(enumerate(names)))}
        self.first = np.array([first[n] for n in self.names], np.int64)
        self.twins = [(i, self.names.index(n)) for i, n in enumerate(names) if first[n] != i]
        self.table = ctx.calibration["fine"].astype(np.float32)

    def probabilities(self, photos: Photos) -> tuple[list[str], np.ndarray]:
        p = fine_probability(np.asarray(photos.probs, np.float32)[:, : self.n_classes], self.table)
        out = p[:, self.first]
        for i, column in self.twins:
            out[:, column] = np.maximum(out[:, column], p[:, i])
        return self.names, out


def _everyday(ctx: TagContext) -> TagSource | None:
    return EverydayWords(ctx) if ctx.concepts is not None or ctx.map_images is not None else None


def _fine(ctx: TagContext) -> TagSource | None:
    return FineClasses(ctx) if ctx.concepts is not None and len(ctx.concepts.names) else None


TAG_SOURCES: list[Callable[[TagContext], TagSource | None]] = [_everyday, _fine]


def register_tag_source(factory: Callable[[TagContext], TagSource | None]) -> None:
    """Add a source of tags (e.g. a collection's taught concepts); it must give calibrated probabilities."""
    if factory not in TAG_SOURCES:
        TAG_SOURCES.append(factory)


def load_calibration(path: Path = TAG_DATA) -> dict:
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


class PhotoTagger:
    """The one place a photo's tags are computed; `visual` and `probs` are the collection's stores, for tagging
    indexed photos by id (result cards) from exactly the rows `pixseek tag` reads for them."""

    def __init__(self, sources: list[TagSource], threshold: float, visual: Vectors | None = None,
                 probs: Vectors | None = None, joint: Vectors | None = None) -> None:
        self.sources = sources
        self.threshold = threshold
        self.visual, self.probs, self.joint = visual, probs, joint

    @classmethod
    def for_context(cls, ctx: TagContext, visual: Vectors | None = None, probs: Vectors | None = None,
                    joint: Vectors | None = None) -> PhotoTagger:
        sources = [s for s in (factory(ctx) for factory in TAG_SOURCES) if s is not None]
        return cls(sources, float(ctx.calibration["threshold"]), visual, probs, joint)

    def stored(self, ids: np.ndarray) -> Photos:
        ids = np.asarray(ids, np.int64)
        return Photos(self.visual.get(ids), self.probs.get(ids) if self.probs is not None else None,
                      self.joint.get(ids) if self.joint is not None else None)

    def cards(self, ids: np.ndarray) -> list[list[str] | None]:
        """What result cards show for indexed photos: the first CARD_TAGS of each one's tags."""
        if self.visual is None or len(ids) == 0:
            return [None] * len(ids)
        return self.card_tags(self.stored(ids))

    def probabilities(self, photos: Photos) -> tuple[list[str], np.ndarray]:
        """(vocabulary, (n, words) probabilities), a word offered twice keeping its higher probability."""
        column: dict[str, int] = {}
        blocks = []
        for source in self.sources:
            words, p = source.probabilities(photos)
            blocks.append((words, p))
            for w in words:
                column.setdefault(w, len(column))
        out = np.zeros((len(photos.visual), len(column)), np.float32)
        for words, p in blocks:
            cols = np.array([column[w] for w in words], np.int64)
            if len(set(cols.tolist())) == len(cols):
                out[:, cols] = np.maximum(out[:, cols], p)
            else:  # a name used by two classes ("crane"): its more probable class speaks
                for j, c in enumerate(cols):
                    out[:, c] = np.maximum(out[:, c], p[:, j])
        return list(column), out

    def tags(self, photos: Photos, k: int | None = None) -> list[list[tuple[str, float]]]:
        """Each photo's tags, most probable first, none below the threshold."""
        words, p = self.probabilities(photos)
        p = np.round(p, 4)
        out = []
        for row in p:
            keep = np.flatnonzero(row >= self.threshold)
            keep = keep[np.argsort(-row[keep], kind="stable")][:k]
            out.append([(words[i], float(row[i])) for i in keep])
        return out

    def card_tags(self, photos: Photos) -> list[list[str] | None]:
        """What a result card shows: the first CARD_TAGS of the photo's tags (an empty list when it has none)."""
        return [[w for w, _ in t] for t in self.tags(photos, CARD_TAGS)]

    def scores(self, photos: Photos) -> tuple[list[str], np.ndarray]:
        """Bridge.tag_scores' shape: the words shown for any of the photos, in the first photo's order, with
        their probabilities, 0 where a word is not shown for a photo."""
        lists = self.tags(photos)
        column: dict[str, int] = {}
        for t in lists:
            for w, _ in t:
                column.setdefault(w, len(column))
        out = np.zeros((len(lists), len(column)), np.float32)
        for i, t in enumerate(lists):
            for w, s in t:
                out[i, column[w]] = s
        return list(column), out
