"""Fitting a taught concept from a few examples: a linear model over visual vectors (whitened prototype).

Examples are few (one to a handful), so the model is linear discriminant analysis with the collection as
the "not this" class: w = (S + l2 I)^-1 (mean of the examples - mean of the negatives), where S is the
covariance of a fixed random sample of the collection (its background). Whitening by the background's
covariance is what lets one or three examples work: directions every photo varies along (lighting, the
classifier's usual suspects) weigh little, and the directions that set the examples apart from this
collection weigh much. Counter-examples (--not, "not this") pull the negative mean towards themselves.
The inverse is applied through the Woodbury identity over the sample (n x n, not dim x dim), so a fit
is a few matrix-vector products once the sample's Gram matrix is factored (kept per snapshot).

Scores are calibrated per concept: standardised against the bulk of the background sample (z, see
_spread), then mapped to a probability whose 0.5 lies between the background's upper tail and what an example scores when it is
left out of the fit (TEACH_MIDPOINT of the way) (a stand-in for a new photo of the concept): "confident" then means the same
for a concept taught from one example as from ten. Visual vectors are unit length and the model is a
direction plus a bias, so an inner product on the stored vectors (or their index) scores it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pixseek.config import TEACH_COUNTER_SHARE, TEACH_L2, TEACH_MIDPOINT, TEACH_ONE_EXAMPLE_Z, TEACH_TAIL_Z

LOGIT_AT_EXAMPLE = 2.2  # a held-out example scores about 0.9


@dataclass
class Fitted:
    weights: np.ndarray  # (dim,) float32, score = sigmoid(vectors @ weights + bias)
    bias: float

    def scores(self, vectors: np.ndarray) -> np.ndarray:
        """Probability-like scores in (0, 1) for (n, dim) visual vectors."""
        return sigmoid(np.asarray(vectors, np.float32) @ self.weights + np.float32(self.bias))


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60, 60)))


def background_ids(live: np.ndarray, exclude: set[int], n: int, seed: int = 0) -> np.ndarray:
    """A fixed-seed sample of up to n live ids (the same photos every time a concept is refitted)."""
    live = np.asarray(live, np.int64)
    if exclude:
        live = live[~np.isin(live, np.fromiter(exclude, np.int64))]
    if len(live) <= n:
        return live
    return np.sort(np.random.default_rng(seed).choice(live, n, replace=False))


class Background:
    """A sample of the collection's visual vectors, centred and factored once: (S + l2 I)^-1 v in O(n dim)."""

    def __init__(self, rows: np.ndarray, l2: float | None = TEACH_L2) -> None:
        rows = np.asarray(rows, np.float32)
        self.mean = rows.mean(0) if len(rows) else None
        self.rows = rows
        self.l2 = 1.0 / max(rows.shape[-1], 1)  # one row: any ridge gives the same direction
        if len(rows) >= 2:
            b = rows - self.mean
            self.b = b
            g = (b @ b.T).astype(np.float64)
            # l2 is relative to the background's variance per dimension (so it shrinks alike in every space:
            # the visual features' 1,280 dimensions share half a unit vector, the joint space's 512 a whole
            # one); None: as much as the sample needs (Ledoit-Wolf), more for a small collection
            spread = max(float(np.trace(g)) / len(rows) / rows.shape[1], 1e-12)
            self.l2 = spread * (ledoit_wolf(g, rows.shape[1]) if l2 is None else l2)
            gram = g + len(rows) * self.l2 * np.eye(len(rows))
            self.inv = np.linalg.inv(gram).astype(np.float32)  # once; each solve is then two products

    def solve(self, v: np.ndarray) -> np.ndarray:
        """(S + l2 I)^-1 v, with S = B^T B / n (Woodbury)."""
        v = np.asarray(v, np.float32)
        if len(self.rows) < 2:
            return v / self.l2
        return (v - (self.inv @ (self.b @ v)) @ self.b) / self.l2


def ledoit_wolf(gram: np.ndarray, dim: int) -> float:
    """The ridge, relative to the mean variance, that Ledoit and Wolf's shrinkage gives a covariance
    estimated from n centred rows in `dim` dimensions (from their n x n Gram matrix): delta / (1 - delta)
    for the estimate (1 - delta) S + delta mu I, delta = how noisy S is against how far it is from mu I."""
    n = len(gram)
    s_fro = float((gram ** 2).sum()) / n ** 2  # |S|_F^2
    mu = float(np.trace(gram)) / n / dim
    far = s_fro - mu ** 2 * dim
    noise = (float((np.diag(gram) ** 2).sum()) - 2.0 / n * float((gram ** 2).sum()) + n * s_fro) / n ** 2
    delta = min(max(noise / max(far, 1e-30), 0.0), 0.999)
    return delta / (1 - delta)


def _spread(scores: np.ndarray) -> tuple[float, float]:
    """(centre, scale) of the background's scores from their bulk: the median and the distance to the 95th
    percentile (a normal's 1.645 sigma). The collection holds unlabelled photos of the concept too, up to a
    few percent in a small one: they sit in the upper tail, where a mean, a standard deviation or a high
    quantile would take them for the background."""
    med = float(np.median(scores))
    return med, max((float(np.quantile(scores, 0.95)) - med) / 1.645, 1e-9)


def fit(positives: np.ndarray, counter: np.ndarray, background: Background, held: np.ndarray | None = None) -> Fitted:
    """The concept's model from (p, dim) examples and (q, dim) counter-examples against a Background;
    `held`: other collection rows, not in the background, that calibrate the scores (a model whitened
    against a few rows scores exactly those rows too well; default: the background's own rows)."""
    pos = np.atleast_2d(np.asarray(positives, np.float32))
    dim = pos.shape[1]
    counter = np.asarray(counter, np.float32).reshape(-1, dim)
    bg_mean = background.mean if background.mean is not None else np.zeros(dim, np.float32)
    neg_mean = bg_mean if len(counter) == 0 else \
        (1 - TEACH_COUNTER_SHARE) * bg_mean + TEACH_COUNTER_SHARE * counter.mean(0)
    calib = background.rows if held is None or len(held) < 2 else np.asarray(held, np.float32)
    negatives = np.vstack([calib, counter]) if len(calib) else counter
    if len(negatives) == 0:  # an empty collection and no counter-examples: the examples' direction
        w = pos.mean(0) / max(float(np.linalg.norm(pos.mean(0))), 1e-12)
        return Fitted((w * 10).astype(np.float32), -5.0)

    def direction(examples: np.ndarray) -> np.ndarray:
        return background.solve(examples.mean(0) - neg_mean)

    w = direction(pos)
    mu, sd = _spread(negatives @ w)
    tail = TEACH_TAIL_Z
    if len(pos) >= 2:
        held = []
        for i in range(len(pos)):
            wi = direction(np.delete(pos, i, 0))
            mi, si = _spread(negatives @ wi)
            held.append((float(pos[i] @ wi) - mi) / si)
        ref = float(np.median(held))
    else:
        ref = TEACH_ONE_EXAMPLE_Z
    ref = max(ref, tail + 1.0)  # examples that barely stand out still get a usable scale
    mid = tail + TEACH_MIDPOINT * (ref - tail)
    scale = LOGIT_AT_EXAMPLE / (ref - mid)
    # sigmoid(scale * ((x @ w - mu) / sd - mid)) as one inner product and a bias
    return Fitted((w * scale / sd).astype(np.float32), float(-scale * (mu / sd + mid)))
