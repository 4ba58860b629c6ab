"""What every `pixseek` command group shares: opening the collection named by --db, printing results, and the
argument types and options more than one group uses. Imports nothing else of the CLI, so no circle can form."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pixseek.interfaces.collection import Collection


def open_collection(args: argparse.Namespace) -> Collection:
    """The collection --db names; --encoder/--words only matter to `index` creating a new one.
    Imported late so `pixseek --help` does not load numpy and the encoders."""
    from pixseek.interfaces.collection import Collection

    return Collection.open(args.db, getattr(args, "encoder", None), getattr(args, "words", None),
                           getattr(args, "device", None) or "cpu")


def out(args: argparse.Namespace, data: Any, lines: Iterable[str]) -> None:
    """--json: one JSON document on stdout, strict JSON (a NaN or Infinity would break strict parsers, so
    one is an error here; scores are kept finite upstream); otherwise the human lines."""
    if args.json:
        try:
            text = json.dumps(data, ensure_ascii=False, allow_nan=False)
        except ValueError as exc:
            from pixseek.errors import PixseekError

            raise PixseekError(f"cannot write the result as JSON: {exc}") from None
        print(text)
    else:
        for line in lines:
            print(line)


def log(text: str) -> None:
    """Progress and notes go to stderr, so stdout stays the result alone."""
    print(text, file=sys.stderr)


def parse_box(text: str) -> tuple[float, float, float, float]:
    """argparse type of --box: the one box check of media/images.py (finite, not negative, not empty),
    imported here so `pixseek --help` does not load PIL."""
    from pixseek.errors import PixseekError
    from pixseek.media.images import parse_box as check

    try:
        return check(text)
    except PixseekError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def positive(text: str) -> int:
    """argparse type of -k and --batch-size: a whole number from 1 to config.MAX_K, refused with a plain message."""
    from pixseek.config import MAX_K

    try:
        v = int(text)
    except ValueError:
        v = 0
    if not 1 <= v <= MAX_K:
        raise argparse.ArgumentTypeError(f"-k wants a whole number from 1 to {MAX_K}, got {text!r}")
    return v


def bridge_option(parser: argparse.ArgumentParser) -> None:
    """--bridge with its help built from the bridge registry, so a new bridge shows up without editing the CLI."""
    from pixseek.search.bridges import BRIDGES

    parser.add_argument("--bridge", choices=list(BRIDGES), default="auto",
                        help="words->images: " + "; ".join(f"{name}: {text}" for name, (_, text) in BRIDGES.items()))


def narrowing_options(parser: argparse.ArgumentParser) -> None:
    """--min-score and the filters `search` and `similar` share (search/cutoff.py; the filters from the one
    spec every interface takes them by, search/filter_options.py FILTER_OPTIONS)."""
    from pixseek.search.filter_options import FILTER_OPTIONS

    parser.add_argument("--min-score", type=float, default=None, metavar="S",
                        help="leave out results scoring below S (default: none; the weaker matches are shown "
                             "after a divider)")
    for option in FILTER_OPTIONS:
        parser.add_argument(f"--{option.name}", metavar=option.metavar, help=option.help)


def narrowing(args: argparse.Namespace) -> dict:
    """The keyword arguments narrowing_options gave, for Collection.search and Collection.similar."""
    from pixseek.search.filter_options import FILTER_OPTIONS

    return {"min_score": args.min_score, **{o.name: getattr(args, o.name) for o in FILTER_OPTIONS}}
