"""Commands that tidy a collection: `duplicates`."""

from __future__ import annotations

import argparse

from pixseek.interfaces.cli.common import open_collection, out


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add this group's subcommands to the `pixseek` parser, each with its handler as `func`."""
    s = sub.add_parser("duplicates", parents=[common], help="groups of near-duplicate photos, with the one to keep")
    s.add_argument("--threshold", type=float, metavar="T",
                   help="pair similarity from 0 to 1 (default 0.85, calibrated on labelled real photos)")
    s.add_argument("--no-progress", action="store_true")
    s.set_defaults(func=cmd_duplicates)


def cmd_duplicates(args: argparse.Namespace) -> None:
    """One block per group: the suggested keeper marked `keep`, the others `    `; --json as documented."""
    groups = open_collection(args).duplicates(args.threshold, progress=False if args.no_progress else None)
    lines = []
    for g in groups:
        lines.append(f"{len(g.paths)} photos, similarity >= {g.score:.3f}")
        lines += [f"  {'keep' if p == g.keep else '    '}  {p}" for p in g.paths]
    out(args, [g.to_dict() for g in groups], lines or ["no near-duplicates"])
