"""Tidying a collection: near-duplicate groups with a suggested keeper (search/duplicates.py finds them)."""

from __future__ import annotations

import numpy as np

from pixseek.interfaces.results import DuplicateGroup
from pixseek.progress import progress_bar
from pixseek.search.duplicates import THRESHOLD, near_duplicates
from pixseek.store.catalog import Catalog
from pixseek.store.vectors import Vectors


def duplicate_groups(catalog: Catalog, visual: Vectors, threshold: float = THRESHOLD,
                     progress: bool | None = None) -> list[DuplicateGroup]:
    """Every group of near-duplicate photos. A content held by several files (byte-identical copies) is
    a group too, at score 1."""
    live = np.array(catalog.live_ids(), np.int64)
    live = live[live < visual.rows]
    bar = progress_bar(len(live), "comparing", progress)
    try:
        groups = near_duplicates(visual, live, threshold, progress=bar.update)
    finally:
        bar.close()
    files = catalog.files_of_contents()
    out = [_group([files[i] for i in g.ids if i in files], g.score) for g in groups]
    grouped = {i for g in groups for i in g.ids}
    out += [_group([held], 1.0) for i, held in files.items() if i not in grouped and len(held) > 1]
    return [g for g in out if len(g.paths) > 1]


def _group(held: list[list[tuple[str, int, int]]], score: float) -> DuplicateGroup:
    """held: per content, its files as (path, pixels, bytes)."""
    flat = [f for files in held for f in files]
    keep = max(flat, key=lambda f: (f[1], f[2], f[0]))[0]
    return DuplicateGroup(sorted(f[0] for f in flat), round(score, 6), keep)
