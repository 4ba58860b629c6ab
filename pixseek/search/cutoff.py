"""Where a query's confident matches end: a search returns the k results asked for, ranked, and marks the
weaker ones (`weak`) instead of hiding them; only a min_score the user gives leaves results out.

A result is confident when it reaches both its bridge's floor and a share of the query's best score
(`RELATIVE`): the floor says what a match looks like on the bridge's scale (ConSE sums class
probabilities, the joint space and CLIP are cosines, the blend mixes them) and for the kind of query (a
sentence scores on another scale than a keyword: `query_kind`), the share adapts to each query, so a weak
neighbour of a strong match is marked and a query nothing fits (its best below the floor) has no
confident match at all. Both are calibrated on dev/train photos only by
benchmarks/relevance.py; how, and the figures: docs/relevance.md. The values hold for what they were
calibrated with, the shipped encoder and joint space: a collection with its own joint space, a trained
DeViSE mapping (which changes ConSE's classes) or another encoder gets no floor for the bridges that
change (`shipped_cutoffs`), and neither does a bridge with no calibration here (None: no model to
calibrate it on); without a floor every result counts as confident.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from pixseek.encoders.registry import feature_space
from pixseek.errors import PixseekError
from pixseek.search.joint_space import packaged_space_path
from pixseek.search.query import parse_query
from pixseek.search.terms import terms_kind

CALIBRATED_ENCODER = "efficientnet-lite0"  # and its int8 copy, whose features stand in for it (encoders/registry.py)

# bridge name (Bridge.name; "similar" for image-to-image), and "NAME sentence" for sentences where they differ,
# -> the floor of a confident match, for the shipped encoder (efficientnet-lite0) and its joint space;
# figures: docs/relevance.md
MIN_SCORE: dict[str, float | None] = {
    "blend": 0.2914,  # keywords: 0.520 of the true matches seen flagged weak, 0.295 of the confident ones false
    "blend sentence": 0.3995,  # 0.385 flagged weak, 0.594 of the confident false (one true photo per caption)
    "conse": 0.2648,  # 0.749 weak, 0.687 false
    "conse sentence": 0.1031,  # 0.837 weak, 0.990 false: ConSE cannot read a sentence
    "joint": 0.4730,  # 0.352 weak, 0.277 false
    "joint sentence": 0.4262,  # 0.348 weak, 0.597 false
    "devise": None,  # needs a trained mapping; none ships to calibrate it on
    "clip": None,  # needs a CLIP model; none ships to calibrate it on
    "similar": 0.6286,  # same-class photos: 0.700 weak, 0.795 of the confident of another class
}

# the same keys -> the share of the query's best score a confident match must reach as well; docs/relevance.md
RELATIVE: dict[str, float] = {"blend": 0.75, "blend sentence": 0.9, "conse": 0.8, "conse sentence": 0.9, "joint": 0.7,
                              "joint sentence": 0.9, "similar": 0.0}


def shipped_cutoffs(encoder: str, files: Mapping[str, str | None]) -> dict[str, float | None]:
    """The calibrated cut-offs that hold for a collection: its encoder, and `files`, the joint space and
    mapping its searches use (search/context.py bridge_files)."""
    if feature_space(encoder) != CALIBRATED_ENCODER:
        return {}
    shipped_joint = files.get("joint") == str(packaged_space_path(CALIBRATED_ENCODER))
    holds = {"similar": True, "conse": files.get("mapping") is None, "joint": shipped_joint,
             "blend": files.get("mapping") is None and shipped_joint}
    return {key: v for key, v in MIN_SCORE.items() if holds.get(key.split()[0], False)}


def query_kind(text: str) -> str:
    """The kind of a typed query (search/terms.py terms_kind): "sentence" or "keyword"."""
    return terms_kind(parse_query(text))


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


def weak_flags(scores: Sequence[float], name: str, floors: Mapping[str, float | None] | None = None,
               kind: str = "keyword") -> list[bool]:
    """For a query's scores (best first or not), which are weak: below the floor of bridge `name` for this
    kind of query (`floors`: a collection's Searcher.cutoffs from shipped_cutoffs; None: MIN_SCORE) or below
    RELATIVE of the best score. No floor for the bridge: none is weak."""
    table = MIN_SCORE if floors is None else floors
    key = f"{name} {kind}" if f"{name} {kind}" in table else name
    floor = table.get(key)
    if floor is None or not len(scores):
        return [False] * len(scores)
    bar = max(floor, RELATIVE.get(key, 0.0) * max(scores))
    return [s < bar for s in scores]
