"""Commands that ask the collection something: `similar`, `search`, `words`, `tag`, `places`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path

from pixseek.errors import PixseekError
from pixseek.interfaces.cli.common import bridge_option, narrowing, narrowing_options, open_collection, out, parse_box, positive


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add this group's subcommands to the `pixseek` parser, each with its handler as `func`."""
    s = sub.add_parser("similar", parents=[common], help="images similar to an image (or a region of it)")
    s.add_argument("image", metavar="IMAGE_OR_PATH")
    s.add_argument("--box", type=parse_box, metavar="X0,Y0,X1,Y1", help="search with this region only")
    s.add_argument("-k", type=positive, default=10)
    s.add_argument("--grid", metavar="OUT.png", help="write the query and results as a picture")
    s.add_argument("--faces", action="store_true",
                   help="photos of the person whose face is largest in IMAGE (or inside --box), by face (index --faces)")
    narrowing_options(s)
    s.set_defaults(func=cmd_similar)

    s = sub.add_parser("search", parents=[common], help='images from words: dog beach, "dog -grass", 2:sunset')
    s.add_argument("query", nargs="*")
    s.add_argument("-k", type=positive, default=10)
    s.add_argument("--like", type=_photo_list, default=[], metavar="P,...",
                   help="more like these photos: rank the whole collection again from the query and them")
    s.add_argument("--unlike", type=_photo_list, default=[], metavar="P,...", help="not like these photos")
    s.add_argument("--exact", action="store_true", help="search the words as typed: no spelling correction")
    bridge_option(s)
    s.add_argument("--grid", metavar="OUT.png")
    narrowing_options(s)
    s.set_defaults(func=cmd_search)

    s = sub.add_parser("words", parents=[common], help="words nearest to a word in word-vector space")
    s.add_argument("word")
    s.add_argument("-k", type=positive, default=10)
    s.set_defaults(func=cmd_words)

    s = sub.add_parser("tag", parents=[common], help="words that describe an image")
    s.add_argument("image")
    s.add_argument("--box", type=parse_box, metavar="X0,Y0,X1,Y1", help="describe this region only")
    s.add_argument("-k", type=positive, default=10)
    bridge_option(s)
    s.add_argument("--vocab", metavar="FILE", help="candidate words, one per line (default: ImageNet names + broader words)")
    s.add_argument("--grid", metavar="OUT.png")
    s.set_defaults(func=cmd_tag)

    s = sub.add_parser("places", parents=[common], help="where the photos were taken, with photo counts")
    s.set_defaults(func=cmd_places)


def _photo_list(text: str) -> list[str]:
    """argparse type of --like/--unlike: comma-separated photo paths."""
    return [p for p in (p.strip() for p in text.split(",")) if p]


def _hit_lines(hits: Iterable) -> list[str]:
    return [f"{h.score:8.4f}  {h.path}" + (f"  [{', '.join(h.tags)}]" if h.tags else "") for h in hits]


def _result_lines(hits, what: str) -> list[str]:
    """The human answer: how many matches are confident (or that none is), the hits, and a divider where
    the confident ones end (search/cutoff.py)."""
    n, lines = hits.confident, _hit_lines(hits)
    if not lines:
        return []
    if n == 0:
        return [f"no confident match for {what}; nearest:", *lines]
    head = f"{n} confident match{'es' if n != 1 else ''}" + (f" of {len(lines)}" if n < len(lines) else "")
    return [head, *lines[:n], *(["-- weaker matches --", *lines[n:]] if n < len(lines) else [])]


def _say_if_none(args: argparse.Namespace, hits) -> None:
    """An empty answer is explained on stderr, not left as silence: the --min-score given hid everything."""
    if not len(hits) and not args.json and args.min_score is not None:
        print(f"pixseek: no photo scores above --min-score {args.min_score:g}; --min-score 0 lists every match",
              file=sys.stderr)


def cmd_similar(args: argparse.Namespace) -> None:
    """Images like an image (or one region of it, --box); --grid also draws query and results."""
    col = open_collection(args)
    find = col.similar_faces if args.faces else col.similar
    hits = find(args.image, k=args.k, box=args.box, **narrowing(args))
    out(args, [h.to_dict() for h in hits], _result_lines(hits, "this photo" + (" (region)" if args.box else "")))
    _say_if_none(args, hits)
    if args.grid:
        from pixseek.interfaces.grid import write_grid

        write_grid(args.grid, [(h.path, f"{h.score:.3f} {Path(h.path).name}") for h in hits],
                   query=args.image, query_caption="query" + (" (region)" if args.box else ""), box=args.box)
        print(f"wrote {args.grid}", file=sys.stderr)


def cmd_search(args: argparse.Namespace) -> None:
    """Images from words; the words the query could not use are named on stderr, not silently dropped."""
    col = open_collection(args)
    query = " ".join(args.query)
    if not query.strip() and not (args.like or args.unlike):
        raise PixseekError("give words to search for, e.g. `pixseek search dog beach`, or photos with --like")
    hits = col.search(query, k=args.k, bridge=args.bridge, exact=args.exact, like=args.like, unlike=args.unlike,
                      **narrowing(args))
    for note in hits.ignored:
        print(f"pixseek: {note.message()}", file=sys.stderr)
    fixed = [f"showing results for {hits.corrected!r} (--exact searches {query!r} as typed)"] if hits.corrected else []
    out(args, hits.to_dict(), fixed + _result_lines(hits, repr(hits.corrected or query)))
    _say_if_none(args, hits)
    if args.grid:
        from pixseek.interfaces.grid import write_grid

        write_grid(args.grid, [(h.path, f"{h.score:.3f} {Path(h.path).name}\n{', '.join(h.tags or [])}") for h in hits],
                   text_cell=["query:", query])
        print(f"wrote {args.grid}", file=sys.stderr)


def cmd_words(args: argparse.Namespace) -> None:
    """Words nearest a word, to see what the word space makes of a query word."""
    hits = open_collection(args).words(args.word, k=args.k)
    out(args, [h.to_dict() for h in hits], [f"{h.score:7.4f}  {h.word}" for h in hits])


def cmd_tag(args: argparse.Namespace) -> None:
    """Words that describe an image, from the default vocabulary or the user's --vocab file."""
    vocab = None
    if args.vocab:
        try:
            vocab = [w.strip() for w in Path(args.vocab).read_text(encoding="utf-8").splitlines() if w.strip()]
        except OSError as exc:
            raise PixseekError(f"cannot read --vocab {args.vocab}: {exc.strerror}") from None
    tags = open_collection(args).tag(args.image, k=args.k, vocabulary=vocab, bridge=args.bridge, box=args.box)
    out(args, [t.to_dict() for t in tags], [f"{t.score:7.4f}  {t.tag}" for t in tags])
    if args.grid:
        from pixseek.interfaces.grid import write_grid

        write_grid(args.grid, [], query=args.image, text_cell=[f"{t.score:.2f} {t.tag}" for t in tags], columns=2,
                   box=args.box)
        print(f"wrote {args.grid}", file=sys.stderr)


def cmd_places(args: argparse.Namespace) -> None:
    """Every named place of the collection and its photo count: the names --place takes."""
    rows = open_collection(args).places()
    out(args, rows, [f"{r['photos']:6d}  " + ", ".join(p for p in (r["city"], r["region"], r["country"]) if p)
                     if r["country"] else f"{r['photos']:6d}  (far from any named place)" for r in rows]
        or ["no geotagged photos (positions are read from the photos' EXIF GPS when indexing)"])
