"""What `pixseek map` writes: a picture of the collection's 2-D layout, and TensorBoard Projector files.

The picture colours every photo by its top tag (the most frequent tags get a colour each, the rest are
grey), draws thumbnails at points spread over the layout (one per cell of a grid, the photo nearest the
cell's centre) and a legend. The projector folder holds tensors.tsv (one row of vector values per
photo), metadata.tsv (path and top tags, with a header), sprite.png (thumbnails in a square grid, in
the same order) and projector_config.pbtxt naming them.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageOps

from pixseek.interfaces.grid import _font
from pixseek.media.images import ImageError, open_image

PALETTE = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
           (227, 119, 194), (188, 189, 34), (23, 190, 207), (57, 59, 121), (140, 162, 82), (189, 158, 57)]
OTHER = (170, 170, 170)
SPRITE_MAX = 8192  # pixels per side the projector accepts


def _thumb(path: str, size: int) -> Image.Image:
    try:
        return ImageOps.fit(open_image(path), (size, size))
    except ImageError:
        return Image.new("RGB", (size, size), OTHER)


def write_picture(out: Path, paths: list[str], xy: np.ndarray, tags: list[str], size: int = 2000,
                  cells: int = 12, thumb: int = 72) -> dict[str, int]:
    """The layout as a PNG; returns {tag: photos} for the coloured tags."""
    legend = [t for t, _ in Counter(tags).most_common(len(PALETTE))]
    colour = {t: PALETTE[i] for i, t in enumerate(legend)}
    margin, side = thumb, size + 300
    im = Image.new("RGB", (side, size + 2 * margin), "white")
    draw = ImageDraw.Draw(im)
    pos = (margin + xy * (size - 2 * margin)).astype(int) + [0, margin]
    for (x, y), tag in zip(pos, tags):
        draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=colour.get(tag, OTHER))
    cell = 1.0 / cells
    for cx in range(cells):
        for cy in range(cells):
            centre = np.array([(cx + 0.5) * cell, (cy + 0.5) * cell])
            inside = np.flatnonzero((np.abs(xy - centre) <= cell / 2).all(axis=1))
            if len(inside):
                i = inside[np.argmin(((xy[inside] - centre) ** 2).sum(axis=1))]
                x, y = pos[i]
                im.paste(_thumb(paths[i], thumb), (int(x - thumb // 2), int(y - thumb // 2)))
                draw.rectangle([x - thumb // 2, y - thumb // 2, x + thumb // 2, y + thumb // 2],
                               outline=colour.get(tags[i], OTHER), width=3)
    counts = Counter(tags)
    for i, t in enumerate(legend):
        y = margin + 28 * i
        draw.rectangle([size + 20, y, size + 40, y + 20], fill=colour[t])
        draw.text((size + 50, y + 2), f"{t} ({counts[t]})"[:30], fill="black", font=_font(16))
    out.parent.mkdir(parents=True, exist_ok=True)
    im.save(out)
    return {t: counts[t] for t in legend}


def write_projector(folder: Path, paths: list[str], vectors: np.ndarray, tags: list[list[str]]) -> list[str]:
    """The TensorBoard Projector files; returns their names."""
    folder.mkdir(parents=True, exist_ok=True)
    np.savetxt(folder / "tensors.tsv", np.asarray(vectors, np.float32), fmt="%.5f", delimiter="\t")
    with open(folder / "metadata.tsv", "w", encoding="utf-8") as f:
        f.write("path\ttags\n")
        for p, t in zip(paths, tags):
            f.write(f"{_cell(p)}\t{_cell(', '.join(t))}\n")
    per_row = math.ceil(math.sqrt(len(paths)))
    dim = max(8, min(64, SPRITE_MAX // max(per_row, 1)))
    sprite = Image.new("RGB", (per_row * dim, per_row * dim), "white")
    for i, p in enumerate(paths):
        sprite.paste(_thumb(p, dim), ((i % per_row) * dim, (i // per_row) * dim))
    sprite.save(folder / "sprite.png")
    (folder / "projector_config.pbtxt").write_text(
        'embeddings {\n  tensor_path: "tensors.tsv"\n  metadata_path: "metadata.tsv"\n'
        f'  sprite {{\n    image_path: "sprite.png"\n    single_image_dim: {dim}\n    single_image_dim: {dim}\n  }}\n}}\n')
    return ["tensors.tsv", "metadata.tsv", "sprite.png", "projector_config.pbtxt"]


def _cell(text: str) -> str:
    """TSV-safe: tabs and newlines inside a value would split it."""
    return text.replace("\t", " ").replace("\n", " ")
