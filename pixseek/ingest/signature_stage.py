"""Pixel thumbnails of indexed photos (store/pixel_signatures.py), which grouping near-duplicates reads
instead of the photos. The decoding workers make them from the image they decode for the encoder, and
the pipeline hands each committed batch's to a ThumbnailSink. After embedding, every index run fills in
the rest (`fill_thumbnails`): each live content without a current one is read small from one of its files.
So a collection indexed before thumbnails were kept (or by a reader that makes none, such as the GPU's)
gets them on its next `pixseek index`, and a run interrupted at any point resumes where it left off.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

from pixseek.config import encoder_threads
from pixseek.media.images import ImageError
from pixseek.media.pixel_thumbnail import pixel_thumbnail
from pixseek.progress import progress_bar
from pixseek.store import pixel_signatures
from pixseek.store.collection_folder import CollectionFolder
from pixseek.store.derived import cannot_write

BATCH = 512  # thumbnails written (and fsynced) at a time
FREE_RESERVE = 100 * 2**20  # thumbnails never take the last this many bytes of the collection's disk: the
# catalog and the index need room to commit, and grouping reads the photos of contents without a thumbnail


class ThumbnailSink:
    """Keeps the thumbnails the pipeline passes with each committed batch: content id -> (content hash,
    thumbnail). Thumbnails only save time, so a nearly full disk (FREE_RESERVE) or a folder that takes no
    more writes stops the keeping, never the run; the photos are read for them later."""

    def __init__(self, layout: CollectionFolder) -> None:
        self.folder, self.stopped = layout.folder, False

    def __call__(self, found: Mapping[int, tuple[str, pixel_signatures.Thumbnail]]) -> None:
        if self.stopped or not found:
            return
        if shutil.disk_usage(self.folder).free < FREE_RESERVE + len(found) * pixel_signatures.RECORD.itemsize:
            self.stopped = True
            return
        try:
            pixel_signatures.write(self.folder, {cid: (pixel_signatures.key_of(h), t) for cid, (h, t) in found.items()})
        except OSError as exc:
            if not cannot_write(exc):
                raise
            self.stopped = True


def fill_thumbnails(layout: CollectionFolder, progress: bool | None = None, threads: int | None = None) -> int:
    """Make the missing thumbnails of the live contents; the caller holds the collection's writer lock.
    Returns how many were made. A photo whose file cannot be read now (moved since, unplugged) is left
    without one (grouping reads its file then, and the next run tries again); so are the rest when the
    collection's folder takes no more writes or is nearly full (FREE_RESERVE): thumbnails only save time."""
    catalog = layout.catalog
    keys = pixel_signatures.content_keys(catalog.db)
    todo = pixel_signatures.missing(layout.folder, keys)
    if not todo:
        return 0
    bar = progress_bar(len(todo), "pixel thumbnails", progress)
    done = 0
    try:
        with ThreadPoolExecutor(threads or encoder_threads()) as pool:  # decoding releases the GIL
            for start in range(0, len(todo), BATCH):
                part = todo[start:start + BATCH]
                if shutil.disk_usage(layout.folder).free < FREE_RESERVE + len(part) * pixel_signatures.RECORD.itemsize:
                    break
                paths = catalog.paths_of(part)
                made = pool.map(_thumbnail, [paths.get(cid) for cid in part])
                found = {cid: (keys[cid], t) for cid, t in zip(part, made) if t is not None}
                try:
                    pixel_signatures.write(layout.folder, found)
                except OSError as exc:
                    if not cannot_write(exc):
                        raise
                    break
                done += len(found)
                bar.update(len(part))
    finally:
        bar.close()
    return done


def _thumbnail(path: str | None) -> pixel_signatures.Thumbnail | None:
    if path is None:
        return None
    try:
        return pixel_thumbnail(path)
    except (ImageError, OSError):
        return None
