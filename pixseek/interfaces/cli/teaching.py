"""Commands that teach the collection what a word means: `teach`, `concepts`."""

from __future__ import annotations

import argparse

from pixseek.interfaces.cli.common import log, open_collection, out, parse_box


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add this group's subcommands to the `pixseek` parser, each with its handler as `func`."""
    s = sub.add_parser("teach", parents=[common], help="teach a word from example photos: teach rex a.jpg b.jpg",
                       description="Teach NAME from example photos (collection photos or any image file). NAME then "
                                   "works as a query word (search rex, search 'rex beach -cat') and as a tag. Teaching "
                                   "a name again adds examples; --forget removes it.")
    # one positional list, so options may come anywhere (argparse leaves a second list empty after an option)
    s.add_argument("name_and_photos", nargs="+", metavar="NAME [PHOTO ...]", help="the word, then photos of it")
    s.add_argument("--not", dest="not_photos", nargs="+", default=[], metavar="PHOTO",
                   help="photos that are not NAME (look-alikes it should tell apart)")
    s.add_argument("--box", type=parse_box, metavar="X0,Y0,X1,Y1", help="use this region of each photo")
    s.add_argument("--forget", action="store_true", help="remove NAME and its examples")
    s.set_defaults(func=cmd_teach)

    s = sub.add_parser("concepts", parents=[common], help="the words taught with `pixseek teach`")
    s.set_defaults(func=cmd_concepts)


def cmd_teach(args: argparse.Namespace) -> None:
    args.name, args.photos = args.name_and_photos[0], args.name_and_photos[1:]
    col = open_collection(args)
    if args.forget:
        if args.photos or args.not_photos:
            from pixseek.errors import PixseekError

            raise PixseekError("--forget takes the name only, no photos")
        col.forget(args.name)
        out(args, {"forgot": args.name}, [f"forgot {args.name!r}"])
        return
    c = col.teach(args.name, args.photos, args.not_photos, box=args.box)
    out(args, c, [f"taught {c['name']!r}: {c['examples']} examples, {c['counter_examples']} counter-examples, "
                  f"matches {c['matches']} photos"])
    if not args.json and c["matches"] <= c["examples"]:
        log(f"pixseek: few photos beyond the examples look like {c['name']!r}; more examples help")


def cmd_concepts(args: argparse.Namespace) -> None:
    concepts = open_collection(args).concepts()
    lines = [f"{c['name']}  ({c['examples']} examples, {c['counter_examples']} counter-examples, {c['matches']} matches)"
             for c in concepts] or ["no concepts taught yet: pixseek teach NAME PHOTO..."]
    out(args, concepts, lines)
