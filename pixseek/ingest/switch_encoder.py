"""Switching a collection to another image encoder: every photo embedded again (`pixseek reindex --encoder`).

A collection's vectors are comparable only when one encoder made them all, so it keeps the encoder it was
built with until asked to switch. The switch runs under the collection's writer lock and writes the new
rows, in id order, into `reembed/` beside the live files, appending and fsyncing a chunk at a time: an
interrupted switch resumes from the last chunk written (its target encoder is recorded there; another
target starts afresh). Searches keep using the old vectors meanwhile. Once every row is written, the new
files replace the old ones and the catalog records the new encoder; a crash inside that step is finished
by the next run (the catalog's `switching_to` entry says one was under way).

Only encoders with the same dimensions and classes can take over a collection's files (an int8 copy and
its float model, say); for any other, index the photos into a new collection. A photo whose file is gone
or changed since it was indexed keeps its old vector (counted in the report as `kept`): `pixseek index`
embeds what is at its path now.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np

from pixseek.atomic import fsync
from pixseek.encoders.base import ImageEncoder
from pixseek.encoders.visual import visual_dim, visual_vectors
from pixseek.errors import PixseekError
from pixseek.ingest.readers import ProcessReader
from pixseek.progress import progress_bar
from pixseek.store.catalog import from_db
from pixseek.store.checksums import append_sums, row_sums, sums_path
from pixseek.store.class_postings import forget_postings
from pixseek.store.collection_folder import VECTOR_FILES, CollectionFolder
from pixseek.store.lock import index_lock

STAGE = "reembed"  # the folder the new rows are written to, inside the collection
TARGET = "target"  # the file there naming the encoder the rows are for
CHUNK = 1024  # rows embedded and made durable at a time: what an interruption loses at most (each chunk
# starts its decoding processes afresh, ~0.3 s each: fewer, larger chunks keep that small)
BATCH = 64


def switch_encoder(layout: CollectionFolder, spec: str, load_encoder: Callable[[str], ImageEncoder],
                   progress: bool | None = None, workers: int | None = None) -> dict:
    """Embed every row of the collection again with `spec` and make it the collection's encoder."""
    if layout.vectors_uri is not None:
        raise PixseekError("switching the encoder re-writes the local vector files; this collection keeps its "
                           f"vectors in {layout.vectors_uri}: index the photos into a new collection with --encoder")
    if layout.catalog.readonly:
        raise PixseekError(f"{layout.folder} is read-only: the encoder cannot be switched")
    with index_lock(layout.folder):
        pending = layout.catalog.get_meta("switching_to")
        if pending:  # a switch interrupted while its files were being moved in: finish it first
            _move_in(layout, pending)
        if layout.catalog.get_meta("encoder") == spec:
            return {"encoder": spec, "previous": spec, "embedded": 0, "kept": 0, "switched": False}
        previous = layout.catalog.get_meta("encoder")
        encoder = load_encoder(spec)
        _check_fits(layout, encoder, spec)
        stage = layout.folder / STAGE
        counts = _embed_all(layout, encoder, spec, stage, progress, workers)
        layout.set_meta(switching_to=spec)
        _move_in(layout, spec)
    return {"encoder": spec, "previous": previous, **counts, "switched": True}


def _check_fits(layout: CollectionFolder, encoder: ImageEncoder, spec: str) -> None:
    if layout.catalog.get_meta("dim") is None:
        return  # nothing indexed yet: the new encoder records its own dimensions
    dim, n_classes = layout.dims()
    classes = list(encoder.classes or [])
    if encoder.dim != dim or len(classes) != (n_classes or 0) or (classes and classes != (layout.class_ids() or [])):
        raise PixseekError(f"{spec} gives {encoder.dim}-d features and {len(classes)} classes, this collection holds "
                           f"{dim}-d features and {n_classes or 0} classes: index the photos into a new collection "
                           f"(--db) with --encoder {spec}")


def _embed_all(layout: CollectionFolder, encoder: ImageEncoder, spec: str, stage: Path, progress: bool | None,
               workers: int | None) -> dict:
    """Write the new rows into `stage`, resuming where an earlier run for the same `spec` stopped."""
    catalog = layout.catalog
    if catalog.get_meta("dim") is None:
        return {"embedded": 0, "kept": 0}
    dim, n_classes = layout.dims()
    widths = {"visual": visual_dim(dim, n_classes), **({"probs": n_classes} if n_classes else {})}
    if stage.is_dir() and (stage / TARGET).is_file() and (stage / TARGET).read_text() != spec:
        shutil.rmtree(stage)  # an unfinished switch to another encoder: its rows are of no use
    stage.mkdir(exist_ok=True)
    (stage / TARGET).write_text(spec)
    files = {kind: stage / f"{kind}.float16" for kind in widths}
    done = min(_whole_rows(path, width) for path, width in ((files[k], widths[k]) for k in widths))
    rows = catalog.rows()
    old = layout.open_stores(writer=True)
    live = np.zeros(rows, bool)
    live[catalog.live_ids()] = True
    reader = ProcessReader(workers, window=4 * BATCH)
    bar = progress_bar(rows, f"re-embedding with {spec}", progress)
    bar.update(done)
    embedded = kept = 0
    try:
        for start in range(done, rows, CHUNK):
            ids = np.arange(start, min(start + CHUNK, rows))
            fresh = _embed_chunk(catalog, encoder, ids[live[ids]], reader)
            out = {"visual": np.asarray(old.visual.get(ids), np.float32)}
            if "probs" in widths:
                out["probs"] = np.asarray(old.probs.get(ids), np.float32)
            for i, cid in enumerate(ids.tolist()):
                if cid in fresh:
                    for kind in out:
                        out[kind][i] = fresh[cid][kind]
            embedded += len(fresh)
            kept += int(live[ids].sum()) - len(fresh)
            for kind, path in files.items():
                with open(path, "ab") as f:
                    f.write(np.ascontiguousarray(out[kind], np.float16).tobytes())
                    f.flush()
                    os.fsync(f.fileno())
            bar.update(len(ids))
    finally:
        bar.close()
    for kind, path in files.items():  # the sums the live files carry (store/checksums.py), written whole
        raw = np.fromfile(path, np.float16).reshape(-1, widths[kind])
        sums_path(path).unlink(missing_ok=True)
        append_sums(path, row_sums(raw, 0), 0)
        fsync(path)
    return {"embedded": embedded, "kept": kept}


def _whole_rows(path: Path, width: int) -> int:
    """Rows a staged file holds whole; a torn last row (a crash mid-write) is cut off."""
    if not path.exists():
        return 0
    n = path.stat().st_size // (width * 2)
    with open(path, "r+b") as f:
        f.truncate(n * width * 2)
    return n


def _embed_chunk(catalog, encoder: ImageEncoder, ids: np.ndarray, reader: ProcessReader) -> dict[int, dict]:
    """content id -> new rows, for the ids whose photo still holds the content they were indexed as."""
    if not len(ids):
        return {}
    db, how = catalog.db, encoder.preprocess
    marks = ",".join("?" * len(ids))
    digests = dict(db.execute(f"SELECT id, hash FROM contents WHERE id IN ({marks})", ids.tolist()))
    paths: dict[int, list[str]] = {}
    for cid, path in db.execute(f"SELECT content_id, path FROM files WHERE content_id IN ({marks}) AND status='ok' "
                                "ORDER BY path", ids.tolist()):
        paths.setdefault(cid, []).append(from_db(path))
    pixels: dict[int, np.ndarray] = {}
    for attempt in range(max((len(p) for p in paths.values()), default=0)):  # a content's next path if one fails
        todo, owner = [], {}
        for cid, candidates in paths.items():
            if cid in pixels or attempt >= len(candidates):
                continue
            try:
                st = os.stat(candidates[attempt])
            except OSError:
                continue
            todo.append((candidates[attempt], st.st_size, st.st_mtime_ns, how))
            owner[candidates[attempt]] = cid
        for item in reader.read(todo):
            cid = owner[item.path]
            if item.error is None and item.hash == digests.get(cid):
                pixels[cid] = item.pixels
    out: dict[int, dict] = {}
    order = sorted(pixels)
    for start in range(0, len(order), BATCH):
        part = order[start : start + BATCH]
        emb = encoder.embed(np.stack([pixels[c] for c in part]))
        visual = visual_vectors(emb)
        for i, cid in enumerate(part):
            out[cid] = {"visual": visual[i], **({"probs": emb.probs[i]} if emb.probs is not None else {})}
    return out


def _move_in(layout: CollectionFolder, spec: str) -> None:
    """Put the staged files in place of the live ones and record `spec` as the collection's encoder. Each
    file's sums go in before its rows; a crash between two renames is finished by the next run. The image
    index goes (readers search exactly meanwhile); the caller builds it again (ingest/run.py: reindex)."""
    stage = layout.folder / STAGE
    for path in layout.folder.glob("visual.ann*"):  # the image index over the old rows: rebuilt by reindex
        path.unlink(missing_ok=True)
    for name in VECTOR_FILES:
        staged = stage / name
        for src in (sums_path(staged), staged):
            if src.exists():
                os.replace(src, layout.folder / src.name)
    fsync(layout.folder)
    layout.catalog.begin()
    layout.catalog.set_meta("encoder", spec)
    layout.catalog.set_meta("switching_to", "")
    layout.catalog.commit()
    forget_postings(layout.folder)  # built from the old rows; the next open builds them again
    shutil.rmtree(stage, ignore_errors=True)
