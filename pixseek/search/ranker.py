"""One ranking rule for every bridge: weighted terms, negatives, a soft AND, and blends of bridges.

One positive unit in one part is a single inner-product search. Otherwise every positive unit
shortlists its best `candidates` from its part's store (in a blend, only the parts that weigh at least
half as much as the heaviest: a sentence's 10% ConSE share re-ranks but does not widen the pool); the
union is scored by every part: within a part, a weighted geometric mean of the positive units' scores (a
soft AND, so "dog beach" prefers dogs on beaches over either alone) minus the negative units' scores;
across parts, the parts' weighted sum. The union is first scored on the stores' estimates (an index's
8-bit copy, class postings: memory, no reads), and only its best EXACT_PER_K x k (at least EXACT_MIN) are
scored again on exact rows, which give the returned scores. Scores are always finite: an image whose
score is not (a damaged vector) is left out, never ranked.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from pixseek.search.bridges.base import Part
from pixseek.store.id_sets import unique_ids

FLOOR = 1e-3  # keeps one unmatched term from zeroing the geometric mean
NOMINATE = 0.5  # parts weighing less than half the heaviest part fetch no candidates of their own
EXACT_PER_K, EXACT_MIN = 4, 100  # candidates scored on exact rows after the estimates (docs/million.md)


def rank(parts: list[Part], k: int, candidates: int = 1000) -> list[tuple[int, float]]:
    """[(id, score)] best first."""
    parts = [p for p in parts if p.weight > 0 and p.store is not None and any(u.weight > 0 for u in p.units)]
    if not parts:
        return []
    if len(parts) == 1 and len(parts[0].units) == 1 and parts[0].units[0].weight > 0:
        part = parts[0]
        scores, ids = part.store.search(part.units[0].vector[None, :], k)
        if part.link is not None:
            scores = part.link(scores[0][:, None]).T
        found = [(int(i), float(s) * part.weight) for s, i in zip(scores[0], ids[0]) if i >= 0]
        return [(i, s) for i, s in found if math.isfinite(s)]
    found = []
    lead = max(p.weight for p in parts)
    for p in parts:
        if p.weight < NOMINATE * lead:
            continue  # a minor part of a blend re-scores the others' candidates but nominates none
        pos = np.stack([u.vector for u in p.units if u.weight > 0])
        cand = p.store.shortlist(pos, max(k, candidates))
        found.append(cand[cand >= 0])
    ids = unique_ids(np.concatenate(found))
    if len(ids) == 0:
        return []
    exact = max(EXACT_PER_K * k, EXACT_MIN)
    if len(ids) > exact:
        guess = sum(p.weight * part_scores(p, ids, p.store.estimate) for p in parts)
        ids = np.sort(ids[np.argsort(-np.nan_to_num(guess, nan=-np.inf), kind="stable")[:exact]])
    total = np.zeros(len(ids), np.float64)
    for p in parts:
        total += p.weight * part_scores(p, ids)
    finite = np.isfinite(total)
    ids, total = ids[finite], total[finite]
    top = np.argsort(-total, kind="stable")[:k]
    return [(int(ids[i]), float(total[i])) for i in top]


def part_scores(part: Part, ids: np.ndarray,
                score: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None) -> np.ndarray:
    """(len(ids),) one part's soft-AND score of each image; `score(ids, vectors)` gives the (n, units)
    inner products (exact rows by default, or the store's estimates)."""
    vectors = np.stack([u.vector for u in part.units]).astype(np.float32)
    w = np.array([u.weight for u in part.units], np.float64)
    raw = part.store.get(ids) @ vectors.T if score is None else score(ids, vectors)
    if part.link is not None:
        raw = part.link(raw)
    per_unit = np.clip(raw, 0, None).astype(np.float64)  # (n, units)
    pos = w > 0
    score = np.exp(np.log(FLOOR + per_unit[:, pos]) @ (w[pos] / w[pos].sum())) if pos.sum() > 1 else per_unit[:, pos][:, 0]
    return score - per_unit[:, ~pos] @ -w[~pos]
