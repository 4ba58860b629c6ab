"""A query image: an indexed photo (its stored vectors are used, nothing is decoded), a new file,
upload or region of one (embedded now), or an Embedding made beforehand by `embed_image` (a server
decodes and embeds outside its collection lock, then searches under it).

A region is searched as drawn: it is padded to a square (letterboxed with the ImageNet mean colour,
which the encoders normalise to about zero) with the margin the encoder's centre crop takes away, so a
tall or wide box reaches the encoder whole instead of losing its ends to the square crop."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from pixseek.encoders.base import Embedding, ImageEncoder
from pixseek.encoders.visual import visual_vectors
from pixseek.errors import PixseekError
from pixseek.media.formats import content_hash
from pixseek.media.images import Box, ImageError, check_box, open_image, parse_box
from pixseek.regular_files import read_regular
from pixseek.store.catalog import Catalog
from pixseek.store.checksums import values_ok
from pixseek.store.collection_folder import Stores

ImageInput = str | Path | bytes | Embedding
PAD = (124, 116, 104)  # the ImageNet mean colour
CROP_MARGIN = 256 / 224  # encoders resize the short side to size*256/224 and keep the centre size x size
MAX_SIDE = 1024  # a region is shrunk to this before padding: encoders take a few hundred pixels


def region_square(source: str | bytes, box: Box) -> bytes:
    """The region `box` of an image, letterboxed onto a square canvas (as BMP bytes, cheap to write and
    read back) so that the encoder's resize and centre crop keep all of it. Raises ImageError."""
    im = open_image(source)
    region = im.crop(check_box(box, *im.size))
    w, h = region.size
    if max(w, h) > MAX_SIDE:
        scale = MAX_SIDE / max(w, h)
        region = region.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.BILINEAR, reducing_gap=3.0)
        w, h = region.size
    side = round(max(w, h) * CROP_MARGIN)
    canvas = Image.new("RGB", (side, side), PAD)
    canvas.paste(region, ((side - w) // 2, (side - h) // 2))
    out = io.BytesIO()
    canvas.save(out, "BMP")
    return out.getvalue()


def embed_image(encoder: ImageEncoder, image: str | Path | bytes, box: Box | None = None,
                name: str | None = None) -> Embedding:
    """Decode one image file or encoded bytes (a region only, with `box`) and run the encoder on it.
    Bad boxes and images are a PixseekError naming the image (`name`, else its path or "upload");
    the box is checked before anything is decoded."""
    box = parse_box(box) if box is not None else None
    if not isinstance(image, bytes):
        image = Path(os.path.expanduser(str(image)))
        if not image.is_file():
            raise PixseekError(f"no such image file: {image}")
    try:
        source = image if isinstance(image, bytes) else str(image)
        pixels, _ = encoder.preprocess.load(region_square(source, box) if box is not None else source, None)
    except ImageError as exc:
        shown = name or ("upload" if isinstance(image, bytes) else image)
        raise PixseekError(f"cannot use {shown} as a query: {exc}") from None
    return encoder.embed(pixels[None])


class QueryImages:
    def __init__(self, catalog: Catalog, stores: Stores, encoder: Callable[[], ImageEncoder]) -> None:
        self.catalog, self.stores, self.encoder = catalog, stores, encoder

    def known_id(self, image: ImageInput) -> int | None:
        """The content id of an image already in the stores' snapshot (by path, else by content hash).
        An id an index run committed after the stores were opened is not in the snapshot: such an image
        is embedded like any new one, never looked up past the rows the stores hold."""
        if self.stores.visual is None or isinstance(image, Embedding):
            return None
        cid = None
        if not isinstance(image, bytes):
            rec = self.catalog.file(os.path.abspath(os.path.expanduser(str(image))))
            if rec and rec.status == "ok":
                cid = rec.content_id
            else:
                try:
                    image = read_regular(os.path.expanduser(str(image)))
                except OSError:
                    return None
        if cid is None and isinstance(image, bytes):
            hit = self.catalog.content_by_hash(content_hash(image))
            cid = hit[0] if hit and hit[1] else None
        return cid if cid is not None and cid < self.stores.shape.rows else None

    def embed(self, image: ImageInput, box: Box | None = None) -> Embedding:
        """Run the encoder on one image file or encoded bytes, optionally on a region only."""
        if isinstance(image, Embedding):
            if box is not None:
                raise PixseekError("a box applies to an image, not to an embedding made already")
            return image
        return embed_image(self.encoder(), image, box)

    def visual(self, image: ImageInput, box: Box | None = None) -> tuple[np.ndarray, int | None]:
        """(visual vector, content id if the image is indexed); a region is always embedded, and so is an
        indexed image whose stored row is damaged (see `_stored`)."""
        box = parse_box(box) if box is not None else None
        known = self.known_id(image)
        stored = self._stored(image, known) if box is None else None
        if stored is not None:
            return stored[0][0], known
        return visual_vectors(self.embed(image, box))[0], known

    def visual_and_probs(self, image: ImageInput, box: Box | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """(1, dim) visual vectors and (1, classes) probabilities (or None), stored or computed now; a
        region (`box`) is always embedded."""
        box = parse_box(box) if box is not None else None
        stored = self._stored(image, self.known_id(image)) if box is None else None
        if stored is not None:
            return stored
        emb = self.embed(image, box)
        return visual_vectors(emb), emb.probs

    def _stored(self, image: ImageInput, known: int | None) -> tuple[np.ndarray, np.ndarray | None] | None:
        """The indexed image's stored (1, dim) visual row and (1, classes) probabilities, or None where
        the image is not indexed or its stored rows are damaged (they read as zeros, or out of range):
        then it is embedded from the file, whose bytes are at hand, never scored from a damaged row. A
        damaged row whose file is gone is an error that says so."""
        if known is None:
            return None
        ids = np.array([known])
        visual = self.stores.visual.get(ids)
        probs = self.stores.probs.get(ids) if self.stores.probs is not None else None
        if values_ok("visual", visual).all() and (probs is None or values_ok("probs", probs).all()):
            return visual, probs
        if not isinstance(image, bytes) and not Path(os.path.expanduser(str(image))).is_file():
            raise PixseekError(f"the stored vectors of {image} are damaged and the file is not there to embed "
                               "it again; run `pixseek verify`")
        return None

    def paths_with_bytes(self, data: bytes) -> list[str]:
        hit = self.catalog.content_by_hash(content_hash(data))
        return list(self.catalog.paths_of([hit[0]]).values()) if hit and hit[1] else []
