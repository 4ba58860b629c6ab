"""The `pixseek` command. Results go to stdout (plain or --json), progress and warnings to stderr.

One module per command group registers its subcommands and holds their handlers; this one only builds the
parser from them, in a fixed order (the order `pixseek --help` lists), and turns errors into exit codes.
The group modules import `cli.common` and never this package, so there is no import circle.
"""

from __future__ import annotations

import argparse
import os
import sys

from pixseek.errors import PixseekError
from pixseek.interfaces.cli import demo, indexing, learning, queries, serving

GROUPS = (indexing, queries, demo, serving, learning)


def build_parser() -> argparse.ArgumentParser:
    """The full `pixseek` parser; every subcommand's namespace carries its handler as `func`."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", help="collection folder (default: $PIXSEEK_DB or a per-user data folder)")
    common.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    p = argparse.ArgumentParser(prog="pixseek", description="Semantic image search: by image, region or words.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.register(sub, common)
    return p


def _protect_query(argv: list[str], parser: argparse.ArgumentParser) -> list[str]:
    """`pixseek search dog -grass`: move query words (even ones starting with '-') behind '--'
    so argparse does not take `-grass` for an option, while real options keep working anywhere."""
    if not argv or argv[0] != "search" or "--" in argv:
        return argv
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices["search"]
    takes_value = {o for a in sub._actions for o in a.option_strings if a.nargs != 0}
    flags = {o for a in sub._actions for o in a.option_strings if a.nargs == 0}
    kept, words, i = [argv[0]], [], 1
    while i < len(argv):
        tok = argv[i]
        name = tok.split("=", 1)[0]
        if name in takes_value:
            kept += argv[i : i + (1 if "=" in tok else 2)]
            i += 1 if "=" in tok else 2
            continue
        (kept if tok in flags else words).append(tok)
        i += 1
    return kept + ["--"] + words if words else kept


def main(argv: list[str] | None = None) -> int:
    """Run one command and return its exit code: 0, 1 with a one-line message for a PixseekError (no traceback
    for a user's mistake), 130 on Ctrl-C (work committed so far is kept). Usage errors exit 2 through argparse."""
    for stream in (sys.stdout, sys.stderr):  # print undecodable file names as their original bytes, like ls
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="surrogateescape")
    parser = build_parser()
    args = parser.parse_args(_protect_query(list(sys.argv[1:] if argv is None else argv), parser))
    try:
        args.func(args)
    except PixseekError as exc:
        print(f"pixseek: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("pixseek: interrupted; everything committed so far is kept, run the same command to resume",
              file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return 0
