"""The `pixseek` command. Results go to stdout (plain or --json), progress and warnings to stderr.

One module per command group registers its subcommands and holds their handlers; this one only builds the
parser from them, in a fixed order (the order `pixseek --help` lists), and turns errors into exit codes.
The group modules import `cli.common` and never this package, so there is no import circle.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

from pixseek.errors import PixseekError
from pixseek.interfaces.cli import demo, indexing, learning, people, queries, serving, teaching, text, tidy

GROUPS = (indexing, queries, people, teaching, text, tidy, demo, serving, learning)
RESUME = "everything committed so far is kept, run the same command to resume"
WORD_LISTS = ("search", "teach")  # commands whose one positional list may sit around their options
GRACE_S = 1.0  # how long the unwinding after a signal may take before the process exits anyway


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that it takes Ctrl-C's clean path (exit 143 instead of 130):
    every `finally` and temp-file clean-up runs, and the decoding workers are stopped."""


class _Signals:
    """How the command stops on SIGINT or SIGTERM: the first raises in the main thread, so clean-ups run
    and `main` prints the one line; if that unwinding is still waiting after GRACE_S (on native work
    nobody will use, such as an embedding batch the pipeline's executor joins), a SIGALRM handler in the
    main thread prints the line and leaves at once, which is as safe as kill -9 (everything written is
    committed or ignored) and safer, since the clean-ups that are quick have run. A second signal leaves
    at once too. `hint` (a command's `args.interrupt_hint`) says what was kept."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.received: int | None = None
        self.said = False
        self.old = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM)}
        for s in (signal.SIGINT, signal.SIGTERM):
            signal.signal(s, self.handle)

    def handle(self, signum: int, frame) -> None:
        if self.received is not None:
            self.leave()
        self.received = signum
        if hasattr(signal, "setitimer"):
            signal.signal(signal.SIGALRM, lambda *_: self.leave())
            signal.setitimer(signal.ITIMER_REAL, GRACE_S, 0.2)
        raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()

    def leave(self) -> None:
        self.say()
        os._exit(_exit_code(self.received or signal.SIGINT))

    def say(self) -> None:
        if not self.said:
            self.said = True
            print(f"pixseek: interrupted; {_hint(self.args)}", file=sys.stderr, flush=True)
            sys.stdout.flush()

    def restore(self) -> None:
        if hasattr(signal, "setitimer"):
            signal.setitimer(signal.ITIMER_REAL, 0)
        for s, handler in self.old.items():
            signal.signal(s, handler)


def _hint(args: argparse.Namespace) -> str:
    """What the interrupted command kept, from the function it left in `args.interrupt_hint`."""
    try:
        return args.interrupt_hint()
    except Exception:  # none set, or the catalog cannot say: the generic line is still true
        return RESUME


def _exit_code(signum: int) -> int:
    return 128 + signum  # the shell's convention: 130 for SIGINT, 143 for SIGTERM


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
    so argparse does not take `-grass` for an option, while real options keep working anywhere (and
    `teach NAME --db D a.jpg b.jpg` keeps its photos after an option)."""
    if not argv or argv[0] not in WORD_LISTS or "--" in argv:
        return argv
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[argv[0]]
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
    for a user's mistake), 130 on Ctrl-C and 143 on SIGTERM, each with one line saying what is kept (work
    committed so far always is). Usage errors exit 2 through argparse."""
    for stream in (sys.stdout, sys.stderr):  # print undecodable file names as their original bytes, like ls
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="surrogateescape")
    parser = build_parser()
    args = parser.parse_args(_protect_query(list(sys.argv[1:] if argv is None else argv), parser))
    signals = _Signals(args) if _in_main_thread() else None
    try:
        args.func(args)
    except PixseekError as exc:
        print(f"pixseek: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as exc:  # Terminated too
        code = _exit_code(signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT)
        if signals is None:
            print(f"pixseek: interrupted; {_hint(args)}", file=sys.stderr)
        else:
            signals.say()
            signals.restore()  # the timer too: Python resets handlers while it shuts down, an alarm would kill it
            signals = None
            _leave_now_if_threads_remain(code)
        return code
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        if signals is not None:
            signals.restore()
    return 0


def _leave_now_if_threads_remain(code: int) -> None:
    """Exiting normally joins every non-daemon thread, such as an executor still running an embedding batch
    whose result nobody will use: after an interrupt, leave at once instead (streams flushed)."""
    import threading

    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _in_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()
