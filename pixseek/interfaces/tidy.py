"""Tidying and looking at a collection: near-duplicate groups with a suggested keeper (search/duplicates.py
finds them), and the map of the collection (search/collection_map.py lays it out)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pixseek.interfaces.results import DuplicateGroup
from pixseek.progress import progress_bar
from pixseek.search.duplicates import THRESHOLD, near_duplicates
from pixseek.search.engine import Searcher
from pixseek.store.catalog import Catalog
from pixseek.store.vectors import Vectors


def duplicate_groups(catalog: Catalog, visual: Vectors, threshold: float = THRESHOLD,
                     progress: bool | None = None, feature_dims: int | None = None) -> list[DuplicateGroup]:
    """Every group of near-duplicate photos. A content held by several files (byte-identical copies) is
    a group too, at score 1."""
    live = np.array(catalog.live_ids(), np.int64)
    live = live[live < visual.rows]
    bar = progress_bar(len(live), "comparing", progress)
    try:
        groups = near_duplicates(visual, live, threshold, progress=bar.update, feature_dims=feature_dims)
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


def top_tags(searcher: Searcher, visual: Vectors, probs: Vectors | None, ids: np.ndarray, k: int = 3,
             batch: int = 2048) -> list[list[str]]:
    """The k best tags of each photo, as `pixseek tag` would give them."""
    out: list[list[str]] = []
    for start in range(0, len(ids), batch):
        chunk = ids[start:start + batch]
        vocab, scores = searcher.tag_scores(visual.get(chunk), probs.get(chunk) if probs is not None else None)
        best = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        out += [[vocab[j] for j in row if score[j] > 0] for row, score in zip(best, scores)]  # 0: not shown
    return out


def write_map(catalog: Catalog, visual: Vectors, probs: Vectors | None, searcher: Searcher, out: Path | None,
              projector: Path | None) -> dict:
    """The map picture and/or the projector files of every photo; returns what was written."""
    from pixseek.interfaces.map_files import write_picture, write_projector
    from pixseek.search.collection_map import layout_2d

    ids = catalog.live_ids()
    ids = ids[ids < visual.rows]
    paths_of = catalog.paths_of(ids.tolist())
    ids = np.array([i for i in ids if i in paths_of], np.int64)
    paths = [paths_of[i] for i in ids]
    vectors = visual.get(ids)
    tags = top_tags(searcher, visual, probs, ids)
    report: dict = {"photos": len(ids)}
    if out is not None:
        report["legend"] = write_picture(out, paths, layout_2d(vectors), [t[0] if t else "untagged" for t in tags])
        report["picture"] = str(out)
    if projector is not None:
        report["projector"] = str(projector)
        report["files"] = write_projector(projector, paths, vectors, tags)
    return report
