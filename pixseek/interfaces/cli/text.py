"""`pixseek text PHOTO`: the text read in a photo (stored by `index --ocr`, or read now)."""

from __future__ import annotations

import argparse

from pixseek.interfaces.cli.common import open_collection, out


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add `text` to the `pixseek` parser, with its handler as `func`."""
    s = sub.add_parser("text", parents=[common], help="the text read in a photo (OCR)")
    s.add_argument("image", metavar="PHOTO")
    s.set_defaults(func=cmd_text)


def cmd_text(args: argparse.Namespace) -> None:
    """One line per text line: confidence, box and text; from the catalog when the photo was read at indexing."""
    found = open_collection(args).text(args.image)
    lines = [f"{t['confidence']:.2f}  [{','.join(map(str, t['box']))}]  {t['text']}" for t in found["lines"]]
    where = "stored at indexing" if found["source"] == "catalog" else "read now, not indexed with --ocr"
    out(args, found, lines or [f"no text found ({where})"])
