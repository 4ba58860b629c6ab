"""Tidying and looking at a collection: near-duplicate groups with a suggested keeper (search/duplicates.py
finds them), and the map of the collection (search/collection_map.py lays it out)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pixseek.errors import PixseekError
from pixseek.interfaces.results import DuplicateGroup
from pixseek.media.local_time import is_file_time
from pixseek.progress import progress_bar
from pixseek.search.duplicates import MIN_THRESHOLD, THRESHOLD, Group, Thumbnails, check_threshold, group_features, unit_features
from pixseek.search.engine import Searcher
from pixseek.store.catalog import Catalog
from pixseek.store.pixel_signatures import KeptThumbnails, content_keys
from pixseek.store.vectors import Vectors

__all__ = ["MIN_THRESHOLD", "THRESHOLD", "DuplicateInputs", "duplicate_groups", "duplicate_inputs", "group_duplicates"]


@dataclass
class DuplicateInputs:
    """What grouping reads from a collection, read at once (a short read of the catalog and the vector
    file), so that the long part, grouping, holds no lock and no shared state."""

    ids: np.ndarray  # live content ids
    features: np.ndarray  # their unit image features
    files: dict[int, list[tuple[str, int, int]]]  # content id -> its files (path, pixels, bytes)
    taken: dict[int, float]  # content id -> seconds of its EXIF date taken, where it has one
    thumbnails: Thumbnails | None = None  # content ids -> their kept pixel thumbnails (store/pixel_signatures.py)


def duplicate_inputs(catalog: Catalog, visual: Vectors, feature_dims: int | None = None) -> DuplicateInputs:
    live = np.array(catalog.live_ids(), np.int64)
    live = live[live < visual.rows]
    features = unit_features(visual, live, feature_dims) if len(live) else np.zeros((0, 1), np.float32)
    kept = KeptThumbnails(catalog.path.parent, content_keys(catalog.db))  # the catalog sits in the collection folder
    return DuplicateInputs(live, features, catalog.files_of_contents(), exif_dates(catalog), kept)


def exif_dates(catalog: Catalog) -> dict[int, float]:
    """content id -> its date taken in seconds, only where the photo states it: the catalog falls back to the
    file's time (in the photo's time zone or this machine's), which copies made together share, so a date
    equal to that fallback is left out."""
    if not catalog.has_taken:
        return {}
    rows = catalog.db.execute("SELECT content_id, taken_ns, mtime_ns FROM files WHERE status='ok' AND taken_ns IS NOT NULL")
    out: dict[int, float] = {}
    for cid, taken, mtime in rows.fetchall():
        if not is_file_time(taken, mtime):
            out[cid] = taken / 1e9
    return out


def duplicate_groups(catalog: Catalog, visual: Vectors, threshold: float = THRESHOLD,
                     progress: bool | None = None, feature_dims: int | None = None) -> list[DuplicateGroup]:
    """Every group of copies and every burst (see search/duplicates.py). A content held by several files
    (byte-identical copies) is a group too, at score 1."""
    try:
        check_threshold(threshold)
    except ValueError as exc:
        raise PixseekError(str(exc)) from None
    return group_duplicates(duplicate_inputs(catalog, visual, feature_dims), threshold, progress)


def group_duplicates(inputs: DuplicateInputs, threshold: float = THRESHOLD,
                     progress: bool | None = None) -> list[DuplicateGroup]:
    """duplicate_groups on inputs already read: touches neither the catalog nor the vector files."""
    try:
        check_threshold(threshold)
    except ValueError as exc:
        raise PixseekError(str(exc)) from None
    files = inputs.files
    paths = {i: min(f[0] for f in held) for i, held in files.items()}
    bar = progress_bar(len(inputs.ids), "comparing", progress)
    try:
        pixels = {i: max(f[1] for f in held) for i, held in files.items()}
        groups = group_features(inputs.features, inputs.ids, paths, threshold, progress=bar.update,
                                taken=inputs.taken, pixels=pixels, thumbnails=inputs.thumbnails)
    finally:
        bar.close()
    out = [_group(g, files) for g in groups if all(i in files for i in g.ids)]
    grouped = {i for g in groups for i in g.ids}
    out += [_group(Group([i], 1.0), files) for i, held in files.items() if i not in grouped and len(held) > 1]
    return [g for g in out if len(g.paths) > 1]


def _group(g: Group, files: dict[int, list[tuple[str, int, int]]]) -> DuplicateGroup:
    """The group as shown: copies get a suggested keeper (most pixels, then the one fewest others differ from
    in colour, then the largest file) and, for each other file, why it is a copy of the keeper; a burst gets neither."""
    flat = [(f, i) for i in g.ids for f in files[i]]
    paths = sorted(f[0] for f, _ in flat)
    if g.kind == "burst":
        return DuplicateGroup(paths, round(g.score, 3), None, "burst", seconds=round(g.seconds or 0.0, 1))
    def edits(i: int) -> int:  # a re-coloured copy differs in colour from every other copy, the original from one
        return sum(m.why == "edited" for pair, m in g.matches.items() if i in pair and m is not None)

    (keep, _, _), keeper = max(flat, key=lambda x: (x[0][1], -edits(x[1]), x[0][2], x[0][0]))
    why = {}
    for (path, _, _), i in flat:
        if path != keep:
            match = g.matches.get((min(i, keeper), max(i, keeper))) if i != keeper else None
            why[path] = match.why if match is not None else "same bytes"
    return DuplicateGroup(paths, round(g.score, 3), keep, "copies", why)


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
