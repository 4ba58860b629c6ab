"""The relevance cut-off: results scoring below a calibrated value are dropped unless asked for.

Every bridge scores on its own scale (ConSE sums class probabilities, the joint space and CLIP are
cosines, the blend mixes them), so each has its own default, calibrated on dev/train photos only by
benchmarks/relevance.py: the score that keeps 90% of the true matches a user would see (within the first
50 results), which drops the long tail of unrelated photos. How, and the figures: docs/relevance.md.
The values hold for what they were calibrated with, the shipped encoder and joint space: a collection
with its own joint space, a trained DeViSE mapping (which changes ConSE's classes) or another encoder
gets no default cut-off for the bridges that change (`shipped_cutoffs`), and neither does a bridge with
no calibration here (None: no model to calibrate it on).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from pixseek.config import DEFAULT_ENCODER
from pixseek.errors import PixseekError
from pixseek.search.joint_space import packaged_space_path

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


def shipped_cutoffs(encoder: str, files: Mapping[str, str | None]) -> dict[str, float | None]:
    """The calibrated cut-offs that hold for a collection: its encoder, and `files`, the joint space and
    mapping its searches use (search/context.py bridge_files)."""
    if encoder != DEFAULT_ENCODER:
        return {}
    table: dict[str, float | None] = {"similar": MIN_SCORE["similar"]}
    shipped_joint = files.get("joint") == str(packaged_space_path(encoder))
    if files.get("mapping") is None:
        table["conse"] = MIN_SCORE["conse"]
        if shipped_joint:
            table["auto"] = MIN_SCORE["auto"]
    if shipped_joint:
        table["joint"] = MIN_SCORE["joint"]
    return table


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


def resolve_min_score(value: float | str | None, name: str, defaults: Mapping[str, float | None] | None = None) -> float:
    """The cut-off a search applies: the one asked for, else `defaults[name]` (a collection's Searcher.cutoffs,
    from shipped_cutoffs; None: MIN_SCORE), else none; 0 (or less) turns it off, so `min_score=0` shows
    every result (even those a -word pushed below zero)."""
    v = check_min_score(value)
    if v is None:
        d = (MIN_SCORE if defaults is None else defaults).get(name)
        return float("-inf") if d is None else d
    return float("-inf") if v <= 0 else v
