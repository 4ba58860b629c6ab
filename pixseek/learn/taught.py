"""Teaching a concept: examples in, heads fitted over each kind of stored vector, the concept saved.

The steps a `pixseek teach` (or the page's "Name these…", or relevance feedback) runs: gather the
concept's examples (those stored before plus the new ones), sample the collection's background, fit one
head per vector space (learn/teach.py), count the collection photos the concept accepts, and store it
all in one transaction (store/taught.py). Spaces: the visual vectors (image-to-image search's space; the
head reads their CNN-feature half, which tells instances apart better than the class half) and, where
the collection has it, the joint image-sentence space (which knows scenes and captions' words).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from pixseek.config import TEACH_BACKGROUND, TEACH_CONFIDENT
from pixseek.learn.teach import Background, background_ids, fit
from pixseek.search.taught import TaughtConcept
from pixseek.store import taught as stored
from pixseek.store.taught import Example
from pixseek.store.vectors import Vectors


@dataclass
class Space:
    """One kind of stored vector a head is fitted on: its store, and how a visual vector maps into it."""

    store: Vectors
    from_visual: Callable[[np.ndarray], np.ndarray]
    mask: np.ndarray | None = None  # dims the head may use (the others get weight 0)


def feature_mask(dim: int, feature_dim: int | None) -> np.ndarray | None:
    """The visual vector's CNN-feature half (encoders/visual.py), when it has a class half too."""
    if not feature_dim or feature_dim >= dim:
        return None
    mask = np.zeros(dim, bool)
    mask[:feature_dim] = True
    return mask


def fit_concept(name: str, examples: list[Example], spaces: dict[str, Space], live: np.ndarray,
                background: dict[str, Background] | None = None) -> TaughtConcept:
    """Heads for `examples` (positives and counter-examples, as visual vectors) in every space."""
    pos = np.stack([e.vector for e in examples if e.positive])
    neg = np.stack([e.vector for e in examples if not e.positive]) if any(not e.positive for e in examples) \
        else np.zeros((0, pos.shape[1]), np.float32)
    own = {e.content_id for e in examples if e.content_id is not None}
    heads = {}
    for key, space in spaces.items():
        # a large collection gives half its sample to whiten against and half to calibrate on; a small one
        # needs every photo for the whitening (then they calibrate too)
        ids = background_ids(live, own, 2 * TEACH_BACKGROUND)
        rows = _masked(space.store.get(ids), space.mask)
        split = len(rows) >= 2 * TEACH_BACKGROUND
        bg = (background or {}).get(key) or Background(rows[0::2] if split else rows)
        f = fit(_masked(space.from_visual(pos), space.mask), _masked(space.from_visual(neg), space.mask), bg,
                rows[1::2] if split else None)
        w = f.weights
        if space.mask is not None:
            w = np.zeros(len(space.mask), np.float32)
            w[space.mask] = f.weights
        heads[key] = (w, f.bias)
    return TaughtConcept(name, heads)


def _masked(rows: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    rows = np.atleast_2d(np.asarray(rows, np.float32))
    return np.ascontiguousarray(rows[:, mask]) if mask is not None and rows.shape[0] else \
        (rows if mask is None else np.zeros((0, int(mask.sum())), np.float32))


def count_matches(concept: TaughtConcept, spaces: dict[str, Space], live: np.ndarray, exact_up_to: int = 50_000) -> int:
    """How many live photos the concept accepts (score at least TEACH_CONFIDENT): counted up to
    `exact_up_to` photos, estimated from a sample of that many above (teaching stays quick at a million)."""
    live = np.asarray(live, np.int64)
    ids = live if len(live) <= exact_up_to else background_ids(live, set(), exact_up_to, seed=1)
    hit = 0
    for i in range(0, len(ids), 10_000):
        chunk = ids[i:i + 10_000]
        hit += int((concept.scores({k: s.store.get(chunk) for k, s in spaces.items()}) >= TEACH_CONFIDENT).sum())
    return hit if len(ids) == len(live) else round(hit * len(live) / max(1, len(ids)))


def teach(db, name: str, added: list[Example], spaces: dict[str, Space], live: np.ndarray) -> tuple[TaughtConcept, int]:
    """Add examples to concept `name` (created if new), refit it on all of its examples, save it."""
    name = stored.stored_name(db, name) or name
    every = stored.examples(db, name) + added
    concept = fit_concept(name, every, spaces, live)
    matches = count_matches(concept, spaces, live) if len(live) else 0
    stored.save(db, name, added, concept.heads, matches)
    return concept, matches
