"""The relevance cut-off: results scoring below a calibrated value are dropped unless asked for.

Every bridge scores on its own scale (ConSE sums class probabilities, the joint space and CLIP are
cosines, the blend mixes them), so each has its own default, calibrated on dev/train photos only by
benchmarks/relevance.py: the score that keeps 90% of the true matches a user would see (within the first
50 results), which drops the long tail of unrelated photos. How, and the figures: docs/relevance.md.
A bridge with no calibration here (None: no model to calibrate it on) keeps every result.
"""

from __future__ import annotations

import math

from pixseek.errors import PixseekError

# bridge name (Bridge.name; "similar" for image-to-image) -> default minimum score, for the shipped encoder
# (efficientnet-lite0) and its joint space; figures: docs/relevance.md
MIN_SCORE: dict[str, float | None] = {
    "auto": 0.1609,  # keeps 0.900 of the true matches seen, drops 0.944 of all results
    "conse": 0.0236,  # keeps 0.899, drops 0.367
    "joint": 0.3346,  # keeps 0.900, drops 0.994
    "devise": None,  # needs a trained mapping; none ships to calibrate it on
    "clip": None,  # needs a CLIP model; none ships to calibrate it on
    "similar": 0.4344,  # same-class photos: keeps 0.900 of those seen, drops 0.909 of all results
}


def default_min_score(name: str) -> float:
    """The calibrated cut-off of a bridge (or of "similar"); -inf where there is none."""
    value = MIN_SCORE.get(name)
    return float("-inf") if value is None else value


def check_min_score(value: float | str | None) -> float | None:
    """A min_score as given (CLI, HTTP, Python): None for the default, else a finite number."""
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    if isinstance(value, bool) or not math.isfinite(v):
        raise PixseekError(f"min_score wants a number (0 shows every result), got {str(value)[:40]!r}")
    return v


def resolve_min_score(value: float | str | None, name: str) -> float:
    """The cut-off a search applies: the one asked for, else the bridge's calibrated default; 0 (or less)
    turns it off, so `min_score=0` shows every result (even those a -word pushed below zero)."""
    v = check_min_score(value)
    if v is None:
        return default_min_score(name)
    return float("-inf") if v <= 0 else v
