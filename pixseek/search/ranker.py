"""One ranking rule for every bridge: weighted terms, negatives, a soft AND, and blends of bridges.

One positive unit in one part is a single inner-product search. Otherwise every positive unit fetches
its best `candidates` from its part's store (in a blend, only the parts that weigh at least half as much
as the heaviest: a sentence's 10% ConSE share re-ranks but does not widen the pool); the union is scored
by every part: within a part, a
weighted geometric mean of the positive units' scores (a soft AND, so "dog beach" prefers dogs on
beaches over either alone) minus the negative units' scores; across parts, the parts' weighted sum.
Scores are always finite: an image whose score is not (a damaged vector) is left out, never ranked.
"""

from __future__ import annotations

import math

import numpy as np

from pixseek.search.bridges.base import Part

FLOOR = 1e-3  # keeps one unmatched term from zeroing the geometric mean
NOMINATE = 0.5  # parts weighing less than half the heaviest part fetch no candidates of their own


def rank(parts: list[Part], k: int, candidates: int = 1000) -> list[tuple[int, float]]:
    """[(id, score)] best first."""
    parts = [p for p in parts if p.weight > 0 and p.store is not None and any(u.weight > 0 for u in p.units)]
    if not parts:
        return []
    if len(parts) == 1 and len(parts[0].units) == 1 and parts[0].units[0].weight > 0:
        scores, ids = parts[0].store.search(parts[0].units[0].vector[None, :], k)
        found = [(int(i), float(s) * parts[0].weight) for s, i in zip(scores[0], ids[0]) if i >= 0]
        return [(i, s) for i, s in found if math.isfinite(s)]
    found = []
    lead = max(p.weight for p in parts)
    for p in parts:
        if p.weight < NOMINATE * lead:
            continue  # a minor part of a blend re-scores the others' candidates but nominates none
        pos = np.stack([u.vector for u in p.units if u.weight > 0])
        _, cand = p.store.search(pos, max(k, candidates))
        found.append(cand[cand >= 0])
    ids = np.unique(np.concatenate(found))
    if len(ids) == 0:
        return []
    total = np.zeros(len(ids), np.float64)
    for p in parts:
        total += p.weight * part_scores(p, ids)
    finite = np.isfinite(total)
    ids, total = ids[finite], total[finite]
    top = np.argsort(-total, kind="stable")[:k]
    return [(int(ids[i]), float(total[i])) for i in top]


def part_scores(part: Part, ids: np.ndarray) -> np.ndarray:
    """(len(ids),) one part's soft-AND score of each image."""
    vectors = np.stack([u.vector for u in part.units]).astype(np.float32)
    w = np.array([u.weight for u in part.units], np.float64)
    per_unit = np.clip(part.store.get(ids) @ vectors.T, 0, None).astype(np.float64)  # (n, units)
    pos = w > 0
    score = np.exp(np.log(FLOOR + per_unit[:, pos]) @ (w[pos] / w[pos].sum())) if pos.sum() > 1 else per_unit[:, pos][:, 0]
    return score - per_unit[:, ~pos] @ -w[~pos]
