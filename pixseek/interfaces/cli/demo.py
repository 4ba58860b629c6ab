"""`pixseek demo`: index the sample photos that ship inside scikit-image and run a few searches."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from pixseek.config import data_home
from pixseek.errors import PixseekError

QUERIES = ["cat", "coffee", "vehicle", "vehicle -moped", "a rocket launching into the sky"]


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add `demo` to the `pixseek` parser, with its handler as `func`."""
    s = sub.add_parser("demo", parents=[common], help="index sample photos shipped with scikit-image and search them")
    s.add_argument("--grid", metavar="OUT.png", default="pixseek-demo.png")
    s.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> None:
    """Show a new user real results on real photos without them having to find any."""
    run_demo(args.db, args.grid, as_json=args.json)


def sample_folder() -> Path:
    """scikit-image's data folder: real photos the user need not find or download."""
    try:
        import skimage
    except ImportError:
        raise PixseekError("the demo photos come with scikit-image: pip install scikit-image") from None
    folder = Path(skimage.__file__).parent / "data"
    if not any(folder.glob("*.png")):
        raise PixseekError(f"no sample photos found in {folder}")
    return folder


def run_demo(db: str | None, grid: str, as_json: bool = False) -> None:
    """Index the sample photos into `db` (default: a demo collection of its own), search, tag, draw `grid`."""
    from pixseek.interfaces.collection import Collection  # late: `pixseek --help` should not load numpy
    from pixseek.interfaces.grid import write_grid

    folder = sample_folder()
    col = Collection.open(db or data_home() / "pixseek" / "demo")
    report = col.index([folder], progress=False)
    out: dict = {"collection": str(col.folder), "photos": str(folder), "index": report.to_dict(), "search": {}}
    for q in QUERIES:
        out["search"][q] = [h.to_dict() for h in col.search(q, k=3)]
    cat = next((p for p in sorted(folder.glob("chelsea*"))), None)
    if cat is not None:
        out["tag"] = {str(cat): [t.to_dict() for t in col.tag(str(cat), k=5)]}
        out["similar"] = {str(cat): [h.to_dict() for h in col.similar(str(cat), k=3)]}
        out["nearest"] = {str(cat): [h.to_dict() for h in col.similar(str(cat), k=3, min_score=0)]}
    out["words"] = {"man": [w.to_dict() for w in col.words("man", k=5)]}
    hits = col.search(QUERIES[0], k=8)
    write_grid(grid, [(h.path, f"{h.score:.3f} {Path(h.path).name}") for h in hits], text_cell=["query:", QUERIES[0]])
    out["grid"] = str(Path(grid).resolve())
    if as_json:
        print(json.dumps(out, ensure_ascii=False))
        return
    print(f"indexed {report.indexed} sample photos from {folder} into {col.folder} "
          f"({report.failed} failed, {report.skipped} unchanged) in {report.seconds:.1f}s")
    for q, hits in out["search"].items():
        print(f"\nsearch {q!r}:")
        for h in hits:
            print(f"  {h['score']:.3f}  {Path(h['path']).name}  [{', '.join(h.get('tags') or [])}]")
    for path, tags in out.get("tag", {}).items():
        print(f"\ntag {Path(path).name}: " + ", ".join(f"{t['tag']} ({t['score']:.2f})" for t in tags))
    for path, hits in out.get("similar", {}).items():
        shown = ", ".join(f"{Path(h['path']).name} ({h['score']:.2f})" for h in hits or out["nearest"][path])
        print(f"similar to {Path(path).name}: " + (shown if hits else f"none above the relevance cut-off; nearest: {shown}"))
    print("words near 'man': " + ", ".join(f"{w['word']} ({w['score']:.2f})" for w in out["words"]["man"]))
    print(f"\nwrote {out['grid']}")
