"""What every `pixseek` subcommand shares: opening the collection named by --db, and printing results."""

from __future__ import annotations

import json
import sys


def open_collection(args):
    from pixseek.interfaces.collection import Collection

    return Collection.open(args.db, getattr(args, "encoder", None), getattr(args, "words", None))


def out(args, data, lines) -> None:
    """--json: one JSON document on stdout; otherwise the human lines."""
    if args.json:
        print(json.dumps(data, ensure_ascii=False))
    else:
        for line in lines:
            print(line)


def log(text: str) -> None:
    print(text, file=sys.stderr)
