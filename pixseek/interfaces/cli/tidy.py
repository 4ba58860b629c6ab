"""Commands that tidy a collection or show it whole: `duplicates`, `map`."""

from __future__ import annotations

import argparse

from pixseek.interfaces.cli.common import open_collection, out
from pixseek.search.duplicates import MIN_THRESHOLD, THRESHOLD


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add this group's subcommands to the `pixseek` parser, each with its handler as `func`."""
    s = sub.add_parser("duplicates", parents=[common],
                       help="copies of one picture, with the one to keep, and bursts of shots of one scene")
    s.add_argument("--threshold", type=float, metavar="T",
                   help=f"verified similarity of two copies' pixels, from {MIN_THRESHOLD} to 1 (default {THRESHOLD}, "
                        "calibrated on labelled real photos)")
    s.add_argument("--no-progress", action="store_true")
    s.set_defaults(func=cmd_duplicates)

    s = sub.add_parser("map", parents=[common], help="a picture of the collection laid out in 2-D, or Projector files")
    s.add_argument("out", nargs="?", metavar="OUT.png")
    s.add_argument("--projector", metavar="DIR", help="write TensorBoard Projector files (tensors, metadata, sprite)")
    s.set_defaults(func=cmd_map)


def cmd_duplicates(args: argparse.Namespace) -> None:
    """One block per group: copies with the suggested keeper marked `keep` and why each other one is a copy;
    bursts without a keeper; --json as documented."""
    threshold = THRESHOLD if args.threshold is None else args.threshold
    groups = open_collection(args).duplicates(args.threshold, progress=False if args.no_progress else None)
    lines = []
    for g in groups:
        if g.kind == "burst":
            lines.append(f"burst: {len(g.paths)} shots within {g.seconds:g} s, distinct photos (nothing to delete)")
            lines += [f"        {p}" for p in g.paths]
            continue
        lines.append(f"copies: {len(g.paths)} photos, similarity {g.score:.3f} (threshold {threshold:g})")
        lines += [f"  keep  {p}" if p == g.keep else f"        {p}  ({(g.why or {}).get(p, 'copy')})" for p in g.paths]
    out(args, [g.to_dict() for g in groups], lines or [f"no near-duplicates at similarity >= {threshold:g}"])


def cmd_map(args: argparse.Namespace) -> None:
    """The picture and/or the projector folder; the legend (top tags and their photo counts) on stdout."""
    report = open_collection(args).map(args.out, args.projector)
    lines = [f"wrote {report[k]}" for k in ("picture", "projector") if k in report]
    lines += [f"  {tag}: {n}" for tag, n in report.get("legend", {}).items()]
    out(args, report, lines)
