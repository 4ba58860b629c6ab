"""Where a query's confident matches end: a search returns the k results asked for, ranked, and marks the
weaker ones (`weak`) instead of hiding them; only a min_score the user gives leaves results out.

A result is confident when it reaches both its bridge's floor and a share of the query's best score
(`RELATIVE`): the floor says what a match looks like on the bridge's scale (ConSE sums class
probabilities, the joint space and CLIP are cosines, the blend mixes them), the share adapts to each
query, so a weak neighbour of a strong match is marked and a query nothing fits (its best below the
floor) has no confident match at all. Both are calibrated on dev/train photos only by
benchmarks/relevance.py; how, and the figures: docs/relevance.md. The values hold for what they were
calibrated with, the shipped encoder and joint space: a collection with its own joint space, a trained
DeViSE mapping (which changes ConSE's classes) or another encoder gets no floor for the bridges that
change (`shipped_cutoffs`), and neither does a bridge with no calibration here (None: no model to
calibrate it on); without a floor every result counts as confident.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from pixseek.config import DEFAULT_ENCODER
from pixseek.errors import PixseekError
from pixseek.search.joint_space import packaged_space_path

# bridge name (Bridge.name; "similar" for image-to-image) -> the floor of a confident match, for the shipped
# encoder (efficientnet-lite0) and its joint space; figures: docs/relevance.md
MIN_SCORE: dict[str, float | None] = {
    "auto": 0.1609,  # keeps 0.900 of the true matches seen, drops 0.944 of all results
    "conse": 0.0236,  # keeps 0.899, drops 0.367
    "joint": 0.3346,  # keeps 0.900, drops 0.994
    "devise": None,  # needs a trained mapping; none ships to calibrate it on
    "clip": None,  # needs a CLIP model; none ships to calibrate it on
    "similar": 0.4344,  # same-class photos: keeps 0.900 of those seen, drops 0.909 of all results
}

# bridge name -> the share of the query's best score a confident match must reach as well; figures: docs/relevance.md
RELATIVE: dict[str, float] = {"auto": 0.0, "conse": 0.0, "joint": 0.0, "similar": 0.0}


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


def drop_below(value: float | str | None) -> float:
    """The score below which a search leaves results out: only where the user asked (`min_score`); 0 (or
    less) and None keep every result (even those a -word pushed below zero)."""
    v = check_min_score(value)
    return float("-inf") if v is None or v <= 0 else v


def weak_flags(scores: Sequence[float], name: str, floors: Mapping[str, float | None] | None = None) -> list[bool]:
    """For a query's scores (best first or not), which are weak: below the floor of bridge `name`
    (`floors`: a collection's Searcher.cutoffs from shipped_cutoffs; None: MIN_SCORE) or below RELATIVE of
    the best score. No floor for the bridge: none is weak."""
    floor = (MIN_SCORE if floors is None else floors).get(name)
    if floor is None or not len(scores):
        return [False] * len(scores)
    bar = max(floor, RELATIVE.get(name, 0.0) * max(scores))
    return [s < bar for s in scores]
