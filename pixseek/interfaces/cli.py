"""The `pixseek` command. Results go to stdout (plain or --json), progress and warnings to stderr."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from pixseek.errors import PixseekError
from pixseek.interfaces.cli_common import open_collection, out


def _parse_box(text: str) -> tuple[float, float, float, float]:
    try:
        parts = tuple(float(v) for v in text.split(","))
    except ValueError:
        parts = ()
    if len(parts) != 4 or parts[2] <= parts[0] or parts[3] <= parts[1]:
        raise argparse.ArgumentTypeError(f"--box wants X0,Y0,X1,Y1 with X1>X0 and Y1>Y0, got {text!r}")
    return parts  # type: ignore[return-value]


def _positive(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        v = 0
    if not 1 <= v <= 10000:
        raise argparse.ArgumentTypeError(f"-k wants a whole number from 1 to 10000, got {text!r}")
    return v


def _bridge_option(parser: argparse.ArgumentParser) -> None:
    from pixseek.search.bridges import BRIDGES

    parser.add_argument("--bridge", choices=list(BRIDGES), default="auto",
                        help="words->images: " + "; ".join(f"{name}: {text}" for name, (_, text) in BRIDGES.items()))


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", help="collection folder (default: $PIXSEEK_DB or a per-user data folder)")
    common.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    p = argparse.ArgumentParser(prog="pixseek", description="Semantic image search: by image, region or words.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("index", parents=[common], help="index (or update) the images below folders")
    s.add_argument("paths", nargs="+", metavar="DIR")
    s.add_argument("--encoder", help="image encoder for a new collection: efficientnet-lite0 (default) or onnx:PATH")
    s.add_argument("--words", help="word vectors for a new collection: glove-6b-50d (default) or a GloVe .txt file")
    s.add_argument("--index", metavar="SPEC", help="image index: auto (default), flat, hnsw32, ivf1024,pq32, "
                   "ivf1024,pq32,polysemous, annoy100, lsh256")
    s.add_argument("--max-memory", metavar="SIZE", help="memory budget `auto` plans the index for (default 2GB)")
    s.add_argument("--workers", type=int, help="decoding processes (default: cores - 1)")
    s.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                   help="decode and embed on a Ray cluster (no ADDRESS: start Ray on this machine)")
    s.add_argument("--batch-size", type=_positive, default=64)
    s.add_argument("--no-progress", action="store_true")

    sub.add_parser("status", parents=[common], help="counts, model, index, size and failed files")

    s = sub.add_parser("reindex", parents=[common], help="switch the image index type and rebuild it (no re-embedding)")
    s.add_argument("--index", metavar="SPEC", default=None, help="auto, flat, hnsw32, ivf1024,pq32, annoy100, lsh256")
    s.add_argument("--max-memory", metavar="SIZE")

    s = sub.add_parser("verify", parents=[common], help="check catalog and vectors agree; repair from the catalog")
    s.add_argument("--check-only", action="store_true", help="report problems without repairing")

    s = sub.add_parser("similar", parents=[common], help="images similar to an image (or a region of it)")
    s.add_argument("image", metavar="IMAGE_OR_PATH")
    s.add_argument("--box", type=_parse_box, metavar="X0,Y0,X1,Y1", help="search with this region only")
    s.add_argument("-k", type=_positive, default=10)
    s.add_argument("--grid", metavar="OUT.png", help="write the query and results as a picture")

    s = sub.add_parser("search", parents=[common], help='images from words: dog beach, "dog -grass", 2:sunset')
    s.add_argument("query", nargs="+")
    s.add_argument("-k", type=_positive, default=10)
    _bridge_option(s)
    s.add_argument("--grid", metavar="OUT.png")

    s = sub.add_parser("words", parents=[common], help="words nearest to a word in word-vector space")
    s.add_argument("word")
    s.add_argument("-k", type=_positive, default=10)

    s = sub.add_parser("tag", parents=[common], help="words that describe an image")
    s.add_argument("image")
    s.add_argument("-k", type=_positive, default=10)
    _bridge_option(s)
    s.add_argument("--vocab", metavar="FILE", help="candidate words, one per line (default: ImageNet names + broader words)")
    s.add_argument("--grid", metavar="OUT.png")

    s = sub.add_parser("demo", parents=[common], help="index sample photos shipped with scikit-image and search them")
    s.add_argument("--grid", metavar="OUT.png", default="pixseek-demo.png")

    s = sub.add_parser("serve", parents=[common], help="HTTP API and search page over the collection")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback only)")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--token", help="access token required on every request (default: $PIXSEEK_TOKEN)")

    from pixseek.interfaces import learning

    COMMANDS.update(learning.register(sub, common))
    return p


def cmd_index(args) -> None:
    col = open_collection(args)
    if args.index or args.max_memory:
        col.set_index(args.index, args.max_memory)
    progress = False if args.no_progress else None
    r = col.index(args.paths, progress=progress, workers=args.workers, batch_size=args.batch_size, ray=args.ray)
    lines = [f"indexed {r.indexed} ({r.duplicates} duplicates), skipped {r.skipped} unchanged, "
             f"failed {r.failed}, removed {r.removed} in {r.seconds:.1f}s"]
    out(args, r.to_dict(), lines)


def cmd_reindex(args) -> None:
    info = open_collection(args).reindex(args.index, args.max_memory)
    out(args, info, [f"index: {info['type']} ({info['reason']})"])


def cmd_status(args) -> None:
    st = open_collection(args).status()
    lines = [f"collection: {st['db']}", f"images: {st['images']} ({st['files']} files)", f"model: {st['model']}",
             f"words: {st['words']} (WordNet {'found' if st['wordnet'] else 'not found: broader words disabled'})",
             f"index: {st['index']['type']} ({st['index']['reason']})",
             f"joint space: {st['bridges']['joint'] or 'none (search by words through conse only)'}",
             f"learned mapping: {st['bridges']['mapping'] or 'none'}", f"size on disk: {st['size_bytes'] / 1e6:.1f} MB",
             f"failed: {len(st['failed'])}"] + [f"  {f['path']}: {f['error']}" for f in st["failed"]]
    out(args, st, lines)


def cmd_verify(args) -> None:
    r = open_collection(args).verify(repair=not args.check_only)
    lines = ["consistent" if r["ok"] else "problems found:"] + [f"  {p}" for p in r["problems"]]
    lines += [f"repaired: {x}" for x in r["repaired"]]
    out(args, r, lines)
    if not r["ok"] and args.check_only:
        raise SystemExit(3)


def _hit_lines(hits) -> list[str]:
    return [f"{h.score:8.4f}  {h.path}" + (f"  [{', '.join(h.tags)}]" if h.tags else "") for h in hits]


def cmd_similar(args) -> None:
    col = open_collection(args)
    hits = col.similar(args.image, k=args.k, box=args.box)
    out(args, [h.to_dict() for h in hits], _hit_lines(hits))
    if args.grid:
        from pixseek.interfaces.grid import write_grid

        write_grid(args.grid, [(h.path, f"{h.score:.3f} {Path(h.path).name}") for h in hits],
                   query=args.image, query_caption="query" + (" (region)" if args.box else ""), box=args.box)
        print(f"wrote {args.grid}", file=sys.stderr)


def cmd_search(args) -> None:
    col = open_collection(args)
    query = " ".join(args.query)
    hits = col.search(query, k=args.k, bridge=args.bridge)
    for note in hits.ignored:
        print(f"pixseek: {note.message()}", file=sys.stderr)
    out(args, hits.to_dict(), _hit_lines(hits))
    if args.grid:
        from pixseek.interfaces.grid import write_grid

        write_grid(args.grid, [(h.path, f"{h.score:.3f} {Path(h.path).name}\n{', '.join(h.tags or [])}") for h in hits],
                   text_cell=["query:", query])
        print(f"wrote {args.grid}", file=sys.stderr)


def cmd_words(args) -> None:
    hits = open_collection(args).words(args.word, k=args.k)
    out(args, [h.to_dict() for h in hits], [f"{h.score:7.4f}  {h.word}" for h in hits])


def cmd_tag(args) -> None:
    vocab = None
    if args.vocab:
        try:
            vocab = [w.strip() for w in Path(args.vocab).read_text(encoding="utf-8").splitlines() if w.strip()]
        except OSError as exc:
            raise PixseekError(f"cannot read --vocab {args.vocab}: {exc.strerror}") from None
    tags = open_collection(args).tag(args.image, k=args.k, vocabulary=vocab, bridge=args.bridge)
    out(args, [t.to_dict() for t in tags], [f"{t.score:7.4f}  {t.tag}" for t in tags])
    if args.grid:
        from pixseek.interfaces.grid import write_grid

        write_grid(args.grid, [], query=args.image, text_cell=[f"{t.score:.2f} {t.tag}" for t in tags], columns=2)
        print(f"wrote {args.grid}", file=sys.stderr)


def cmd_demo(args) -> None:
    from pixseek.interfaces.demo import run_demo

    run_demo(args.db, args.grid, as_json=args.json)


def cmd_serve(args) -> None:
    try:
        from pixseek.interfaces.http import serve
    except ImportError as exc:
        raise PixseekError(f"`pixseek serve` needs fastapi and uvicorn: pip install fastapi uvicorn python-multipart "
                           f"({exc.name} missing)") from None
    from pixseek.paths import default_db

    serve(args.db or default_db(), host=args.host, port=args.port, token=args.token)


COMMANDS = {"index": cmd_index, "status": cmd_status, "verify": cmd_verify, "reindex": cmd_reindex,
            "similar": cmd_similar, "search": cmd_search, "words": cmd_words, "tag": cmd_tag, "demo": cmd_demo,
            "serve": cmd_serve}


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
    for stream in (sys.stdout, sys.stderr):  # print undecodable file names as their original bytes, like ls
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="surrogateescape")
    parser = build_parser()
    args = parser.parse_args(_protect_query(list(sys.argv[1:] if argv is None else argv), parser))
    try:
        COMMANDS[args.command](args)
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


if __name__ == "__main__":
    sys.exit(main())
