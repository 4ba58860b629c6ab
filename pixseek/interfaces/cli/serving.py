"""`pixseek serve`: the HTTP API and search page over a collection."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add `serve` to the `pixseek` parser, with its handler as `func`."""
    s = sub.add_parser("serve", parents=[common], help="HTTP API and search page over the collection")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback only)")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--token", help="access token required on every request (default: $PIXSEEK_TOKEN)")
    s.add_argument("--watch", action="append", metavar="DIR",
                   help="also keep the collection in step with this folder while serving (repeatable)")
    s.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> None:
    """Serve until interrupted. fastapi and uvicorn are required dependencies; they are imported here, not at the
    top, only because loading them takes about a second that every other command would pay."""
    from pixseek.config import default_db
    from pixseek.interfaces.http import serve

    folder = args.db or default_db()
    if args.watch:
        from pixseek.interfaces.collection import Collection

        Collection.open(folder).close()  # created here, before the watcher and the server both open it
        start_watcher(folder, args.watch)
    serve(folder, host=args.host, port=args.port, token=args.token)


def start_watcher(folder, paths: list[str]) -> None:
    """Index `paths` and follow them in a background thread with its own collection handle (the server's
    handle picks up each commit on its next request); a failure is printed, the server keeps serving."""
    import sys
    import threading

    from pixseek.errors import PixseekError
    from pixseek.interfaces.collection import Collection

    def run() -> None:
        try:
            Collection.open(folder).watch(paths, progress=False)
        except PixseekError as exc:
            print(f"pixseek: watching stopped: {exc}", file=sys.stderr)

    threading.Thread(target=run, name="pixseek-watch", daemon=True).start()
