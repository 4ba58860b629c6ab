"""One index run over a collection: under its writer lock, stores opened for writing once, the pipeline
run, the stores' derived state (the ANN index) saved. Also the two other writer jobs, `reindex` and
`verify`, which take the same lock."""

from __future__ import annotations

import os
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path

from pixseek.encoders.base import ImageEncoder
from pixseek.encoders.device import resolve_device
from pixseek.errors import PixseekError
from pixseek.ingest.pipeline import Indexer
from pixseek.ingest.readers import ProcessReader, Reader
from pixseek.ingest.report import IndexReport
from pixseek.ingest.signature_stage import ThumbnailSink, fill_thumbnails
from pixseek.store.catalog_open import refusal
from pixseek.store.collection_folder import CollectionFolder, Stores
from pixseek.store.lock import index_lock


def make_reader(workers: int | None, batch_size: int, ray: str | None, encoder_spec: str, device: str = "cpu",
                input_size: int = 224) -> Reader:
    """Local decoding processes, or Ray actors at this address ("local" or "" starts Ray here). On "cuda",
    JPEGs are decoded on the GPU when torchvision can (ingest/gpu_reader.py), the rest by the processes."""
    if ray is not None:
        from pixseek.ingest.ray_reader import RayOptions, RayReader

        return RayReader(RayOptions(ray, encoder_spec))
    local = ProcessReader(workers, window=4 * batch_size)
    if device == "cpu":
        return local
    from pixseek.media.gpu_jpeg import nvjpeg_missing

    if (reason := nvjpeg_missing()) is not None:
        print(f"pixseek: JPEGs are decoded on the CPU: {reason}", file=sys.stderr)
        return local
    from pixseek.ingest.gpu_reader import GpuJpegReader

    return GpuJpegReader(local, input_size, device, batch_size)


def index_device(requested: str, encoder_spec: str, ray: str | None) -> str:
    """"cpu" or "cuda" for a run (encoders/device.py); with Ray, the workers embed on their own CPUs."""
    if ray is None:
        return resolve_device(requested, encoder_spec)
    if requested == "cuda":
        raise PixseekError("--ray decodes and embeds on the Ray workers' CPUs: leave out --device cuda")
    return "cpu"


def index_run(layout: CollectionFolder, encoder: ImageEncoder, roots: list[Path], reader: Reader, batch_size: int = 64,
              progress: bool | None = None, after: Callable[[Stores], None] | None = None) -> tuple[IndexReport, Stores]:
    """Add new and changed images below `roots`, drop deleted ones; safe to interrupt and re-run.
    `after` runs with the final stores while the lock is still held (deriving vectors for search)."""
    missing = [str(r) for r in roots if not r.exists()]
    if missing:
        raise PixseekError(f"no such file or folder: {', '.join(missing)}")
    given, roots = roots, index_roots(roots, layout.folder)
    aliases = [Path(os.path.abspath(r)) for r in given if Path(os.path.abspath(r)) not in roots]
    if layout.catalog.readonly:
        raise PixseekError(refusal(layout.folder))
    try:
        with index_lock(layout.folder):
            stores = layout.open_stores(writer=True)
            before = layout.index_status(len(stores.visual))["type"]
            indexer = Indexer(layout.catalog, stores.visual, stores.probs, encoder, batch_size=batch_size, reader=reader,
                              thumbnails=ThumbnailSink(layout))
            counts = indexer.run(roots, progress=progress, skip=layout.folder.resolve(), aliases=aliases)
            if layout.index_status(layout.catalog.counts()["images"])["type"] != before:
                stores = layout.open_stores(writer=True)  # grown (or shrunk) into another index type
            else:
                stores = Stores(stores.visual, stores.probs, layout.shape()[0], layout.data_version())
            for store in (stores.visual, stores.probs):
                if store is not None:
                    store.save()
            fill_thumbnails(layout, progress)
            if after is not None:
                after(stores)
    except (OSError, sqlite3.OperationalError) as exc:
        layout.catalog.rollback()
        reason = getattr(exc, "strerror", None) or str(exc)
        raise PixseekError(f"cannot write to collection {layout.folder}: {reason}; "
                           "everything committed before this is kept, re-run `pixseek index` once fixed") from exc
    return counts, stores


def index_roots(roots: list[Path], collection: Path) -> list[Path]:
    """The folders and files to index, each once, resolved (relative paths and symlinks: a photo is catalogued
    under one path however its folder was named, and a watcher's events match it). The collection's own
    folder is never indexed: a root inside it is refused; one holding it is scanned around it."""
    own = collection.resolve()
    out = list(dict.fromkeys(Path(r).resolve() for r in roots))
    inside = [str(r) for r in out if r == own or own in r.parents]
    if inside:
        raise PixseekError(f"{', '.join(inside)} is inside the collection folder {own}, whose files pixseek "
                           "writes itself; index the photos' folders")
    return out


def reindex(layout: CollectionFolder, after: Callable[[Stores], None] | None = None) -> Stores:
    """Rebuild the image index from the stored vectors now (no re-embedding). The new index is written
    beside the old one, whose files serve every reader until the new header replaces them in one rename
    (store/ann/files.py): interrupted or out of disk, the collection keeps its previous index."""
    from pixseek.store.ann import IndexedVectorStore

    try:
        with index_lock(layout.folder):
            stores = layout.open_stores(writer=True)  # builds already if another index type was asked for
            if isinstance(stores.visual, IndexedVectorStore):
                if not stores.visual.rebuilt:
                    stores.visual.rebuild()
            elif stores.visual is not None:
                stores.visual.save()
            if after is not None:
                after(stores)
    except OSError as exc:  # derived files (joint space, mapping) on a full disk; the index raises its own
        raise PixseekError(f"cannot write to collection {layout.folder}: {exc.strerror or exc}; the previous "
                           "image index is kept, re-run `pixseek reindex` once fixed") from exc
    return stores


def verify(layout: CollectionFolder, repair: bool = True) -> tuple[dict, Stores | None]:
    """Check that catalog and vector files agree row by row; repair by re-embedding damaged rows from their
    photos, or removing their entries (see store/verify.py). repair=False writes nothing."""
    from pixseek.encoders.visual import visual_dim
    from pixseek.ingest.reembed import reembedder
    from pixseek.store.verify import verify as check

    with index_lock(layout.folder):
        if layout.catalog.get_meta("dim") is None:
            return {"ok": True, "problems": [], "repaired": []}, None
        dim, n_classes = layout.dims()
        kinds = {"visual": (visual_dim(dim, n_classes), "float16")}
        if n_classes:
            kinds["probs"] = (n_classes, "float16")
        reembed = reembedder(layout.load_encoder) if repair else None
        report = check(layout.folder, layout.catalog, kinds, repair=repair, reembed=reembed)
        stores = layout.open_stores(writer=True) if repair else None  # --check-only writes nothing
    return report.to_dict(), stores
