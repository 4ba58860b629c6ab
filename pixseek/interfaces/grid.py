"""Contact sheets: the query (or a tag list) and the top results with scores, like a matplotlib 3x3 grid."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps

from pixseek.media.images import ImageError, open_image

CELL = 224
LABEL = 36


def _font(size: int = 14):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def _cell(image: Image.Image | None, caption: str, box: tuple | None = None) -> Image.Image:
    cell = Image.new("RGB", (CELL, CELL + LABEL), "white")
    if image is not None:
        thumb = ImageOps.contain(image, (CELL, CELL))
        ox, oy = (CELL - thumb.width) // 2, (CELL - thumb.height) // 2
        cell.paste(thumb, (ox, oy))
        if box is not None:
            sx, sy = thumb.width / image.width, thumb.height / image.height
            x0, y0, x1, y1 = box
            ImageDraw.Draw(cell).rectangle([ox + x0 * sx, oy + y0 * sy, ox + x1 * sx, oy + y1 * sy], outline="red", width=3)
    draw = ImageDraw.Draw(cell)
    for i, line in enumerate(caption.split("\n")[:2]):
        draw.text((4, CELL + 2 + 16 * i), line[:34], fill="black", font=_font())
    return cell


def _load(path: str) -> Image.Image | None:
    try:
        return open_image(path)
    except ImageError:
        return None


def write_grid(out: str | Path, hits: list[tuple[str, str]], query: str | None = None, query_caption: str = "query",
               box: tuple | None = None, text_cell: list[str] | None = None, columns: int = 3) -> Path:
    """hits: (path, caption) pairs. The first cell is the query image, or `text_cell` lines (a tag list)."""
    cells = []
    if query is not None:
        cells.append(_cell(_load(query), query_caption, box))
    if text_cell is not None:
        cell = Image.new("RGB", (CELL, CELL + LABEL), (245, 245, 245))
        draw = ImageDraw.Draw(cell)
        for i, line in enumerate(text_cell[: (CELL + LABEL) // 18]):
            draw.text((6, 4 + 18 * i), line[:30], fill="black", font=_font())
        cells.append(cell)
    cells += [_cell(_load(p), caption) for p, caption in hits]
    rows = max(1, -(-len(cells) // columns))
    sheet = Image.new("RGB", (columns * CELL + (columns + 1) * 6, rows * (CELL + LABEL) + (rows + 1) * 6), (200, 200, 200))
    for i, cell in enumerate(cells):
        sheet.paste(cell, (6 + (i % columns) * (CELL + 6), 6 + (i // columns) * (CELL + LABEL + 6)))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    return out
