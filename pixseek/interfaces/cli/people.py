"""`pixseek people` (list, name, merge, forget) and `pixseek faces PHOTO`: the people found by
`index --faces` and the faces of one photo."""

from __future__ import annotations

import argparse

from pixseek.interfaces.cli.common import open_collection, out

SHOWN_PHOTOS = 3  # photos named per person in the plain listing (--json has them all)


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add `people` and `faces` to the `pixseek` parser, each with its handler as `func`."""
    s = sub.add_parser("people", parents=[common], help="the people found in the photos (index --faces); "
                       "people name ID NAME, people merge ID ID, people forget ID")
    s.set_defaults(func=cmd_people)
    actions = s.add_subparsers(dest="action", metavar="ACTION")
    a = actions.add_parser("name", parents=[common], help="give a person a name (a query word from then on)")
    a.add_argument("id", metavar="ID")
    a.add_argument("name", nargs="+", metavar="NAME")
    a.set_defaults(func=cmd_name)
    a = actions.add_parser("merge", parents=[common], help="make two people one (the first id stays)")
    a.add_argument("id", metavar="ID")
    a.add_argument("other", metavar="ID")
    a.set_defaults(func=cmd_merge)
    a = actions.add_parser("forget", parents=[common], help="delete a person and their face descriptors")
    a.add_argument("id", metavar="ID")
    a.set_defaults(func=cmd_forget)

    s = sub.add_parser("faces", parents=[common], help="the faces in a photo: box, person, score")
    s.add_argument("image", metavar="PHOTO")
    s.set_defaults(func=cmd_faces)


def cmd_people(args: argparse.Namespace) -> None:
    """One line per person: id, name, photos, a few of their photos."""
    found = open_collection(args).people()
    lines = [f"{p['id']:>5}  {p['name'] or '(unnamed)'}  {p['count']} photos  " + "  ".join(p["photos"][:SHOWN_PHOTOS])
             for p in found]
    out(args, found, lines or ["no people yet (pixseek index DIR --faces finds them)"])


def cmd_name(args: argparse.Namespace) -> None:
    p = open_collection(args).name_person(args.id, " ".join(args.name))
    out(args, p, [f"person {p['id']} is now {p['name']} ({p['count']} photos)"])


def cmd_merge(args: argparse.Namespace) -> None:
    p = open_collection(args).merge_people(args.id, args.other)
    out(args, p, [f"person {args.other} merged into {p['id']} ({p['name'] or 'unnamed'}, {p['count']} photos)"])


def cmd_forget(args: argparse.Namespace) -> None:
    r = open_collection(args).forget_person(args.id)
    out(args, r, [f"forgot person {r['id']} ({r['faces']} faces)"])


def cmd_faces(args: argparse.Namespace) -> None:
    """One line per face: box, person (id and name), detector score; largest first."""
    found = open_collection(args).faces(args.image)
    lines = [f"[{','.join(map(str, f['box']))}]  " + (f"person {f['person']}" + (f" {f['name']}" if f["name"] else "")
             if f["person"] is not None else "no person") + f"  score {f['score']:.2f}" for f in found["faces"]]
    where = "stored at indexing" if found["source"] == "catalog" else "found now, not indexed with --faces"
    out(args, found, lines or [f"no faces found ({where})"])
