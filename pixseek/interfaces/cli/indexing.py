"""Commands that build and look after a collection: `index`, `status`, `reindex`, `verify`."""

from __future__ import annotations

import argparse
import sys

from pixseek.config import DEFAULT_DEVICE
from pixseek.encoders.device import DEVICES
from pixseek.interfaces.cli.common import open_collection, out, positive


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add this group's subcommands to the `pixseek` parser, each with its handler as `func`."""
    s = sub.add_parser("index", parents=[common], help="index (or update) the images below folders")
    s.add_argument("paths", nargs="+", metavar="DIR")
    s.add_argument("--encoder", help="image encoder for a new collection: efficientnet-lite0 (default), onnx:PATH, "
                   "or clip:DIR (a CLIP model folder laid out as Immich's, see README)")
    s.add_argument("--words", help="word vectors for a new collection: glove-6b-50d (default) or a GloVe .txt file")
    s.add_argument("--index", metavar="SPEC", help="image index: auto (default), flat, hnsw32, ivf1024,pq32, "
                   "ivf1024,pq32,polysemous, annoy100, lsh256")
    s.add_argument("--max-memory", metavar="SIZE", help="memory budget `auto` plans the index for (default 2GB)")
    s.add_argument("--workers", type=int, help="decoding processes (default: one per core)")
    s.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                   help="decode and embed on a Ray cluster (no ADDRESS: start Ray on this machine)")
    s.add_argument("--batch-size", type=positive, help="photos per batch (default 64 on the CPU, 256 on CUDA)")
    s.add_argument("--device", choices=DEVICES, default=DEFAULT_DEVICE,
                   help="where the encoder runs: cpu (default), cuda (PyTorch on a GPU, JPEGs decoded there), or "
                   "auto (cuda when PyTorch sees a GPU); the vectors are the same")
    s.add_argument("--no-progress", action="store_true")
    s.add_argument("--ocr", action="store_true", default=None,
                   help="also read text in the photos (kept for later runs of this collection; --no-ocr stops it)")
    s.add_argument("--no-ocr", dest="ocr", action="store_false")
    s.add_argument("--faces", action="store_true", default=None,
                   help="also find faces and group them into people (kept for later runs; --no-faces stops it)")
    s.add_argument("--no-faces", dest="faces", action="store_false")
    s.add_argument("--watch", action="store_true",
                   help="then keep following the folders (added, changed, moved, deleted photos) until interrupted")
    s.set_defaults(func=cmd_index)

    s = sub.add_parser("status", parents=[common], help="counts, model, index, size and failed files")
    s.set_defaults(func=cmd_status)

    s = sub.add_parser("reindex", parents=[common], help="switch the image index type and rebuild it (no re-embedding), "
                       "or with --encoder embed every photo again with another encoder")
    s.add_argument("--index", metavar="SPEC", default=None,
                   help="auto, flat, hnsw32, ivf1024,pq32[,sq8], pca256,ivf1024,pq32[,sq8], annoy100, lsh256")
    s.add_argument("--max-memory", metavar="SIZE")
    s.add_argument("--encoder", dest="new_encoder", metavar="SPEC",
                   help="switch the collection to this image encoder (e.g. efficientnet-lite0-int8, efficientnet-lite0): "
                   "every photo is embedded again, with progress; interrupted, run it again to resume")
    s.add_argument("--workers", type=int, help="decoding processes for --encoder (default: one per core)")
    s.add_argument("--no-progress", action="store_true")
    s.set_defaults(func=cmd_reindex)

    s = sub.add_parser("verify", parents=[common], help="check catalog and vectors agree; repair from the catalog")
    s.add_argument("--check-only", action="store_true", help="report problems without repairing")
    s.set_defaults(func=cmd_verify)


def cmd_index(args: argparse.Namespace) -> None:
    """Index (or update) the folders; --index/--max-memory first switch the index the collection plans."""
    col = open_collection(args)
    if args.index or args.max_memory:
        col.set_index(args.index, args.max_memory)
    progress = False if args.no_progress else None
    args.interrupt_hint = lambda: f"{_photos_kept(col)} photos kept, run again to resume"
    if args.watch:
        print(f"pixseek: watching {', '.join(args.paths)} (Ctrl-C to stop)", file=sys.stderr)
        if args.ocr is not None:  # kept in the collection: every run of the watch follows it
            from pixseek.ingest.ocr_stage import wanted

            wanted(col.catalog, args.ocr)
        if args.faces is not None:
            from pixseek.ingest import face_stage

            face_stage.wanted(col.catalog, args.faces)
        col.watch(args.paths, progress=progress, workers=args.workers, batch_size=args.batch_size,
                  on_change=lambda r: print(_report_line(r), file=sys.stderr, flush=True), device=args.device)
        return
    r = col.index(args.paths, progress=progress, workers=args.workers, batch_size=args.batch_size, ray=args.ray,
                  ocr=args.ocr, device=args.device, faces=args.faces)
    out(args, r.to_dict(), [_report_line(r)])


def _report_line(r) -> str:
    line = (f"indexed {r.indexed} ({r.duplicates} duplicates), skipped {r.skipped} unchanged, "
            f"failed {r.failed}, removed {r.removed} in {r.seconds:.1f}s")
    if r.text is not None:
        line += f"; read text in {r.text['read']} photos ({r.text['with_text']} with text) in {r.text['seconds']:.1f}s"
    if r.faces is not None:
        line += (f"; found {r.faces['faces']} faces in {r.faces['read']} photos ({r.faces['small']} too small) "
                 f"in {r.faces['seconds']:.1f}s")
    return line


def cmd_reindex(args: argparse.Namespace) -> None:
    """Rebuild the image index from the stored vectors, so switching index type needs no re-embedding."""
    args.interrupt_hint = lambda: "the previous image index is kept until a new one is finished, run `pixseek reindex` again"
    col = open_collection(args)
    if args.new_encoder:
        args.interrupt_hint = lambda: (f"the photos embedded so far are kept and the collection still uses its encoder: "
                                       f"run `pixseek reindex --encoder {args.new_encoder}` again to resume")
        if args.index or args.max_memory:
            col.set_index(args.index, args.max_memory)
        sw = col.switch_encoder(args.new_encoder, progress=False if args.no_progress else None, workers=args.workers)
        info = {**sw, "index": col.status()["index"]}
        line = (f"encoder: {sw['encoder']} (was {sw['previous']}); embedded {sw['embedded']} photos again"
                + (f", kept the old vectors of {sw['kept']} whose file is gone or changed (`pixseek index` embeds them)"
                   if sw["kept"] else "") if sw["switched"] else f"encoder: already {sw['encoder']}")
        out(args, info, [line, f"index: {info['index']['type']} ({info['index']['reason']})"])
        return
    info = col.reindex(args.index, args.max_memory)
    out(args, info, [f"index: {info['type']} ({info['reason']})"])


def cmd_status(args: argparse.Namespace) -> None:
    """What the collection holds and uses, and which files failed, in one look."""
    st = open_collection(args).status()
    lines = [f"collection: {st['db']}", f"images: {st['images']} ({st['files']} files)", f"model: {st['model']}",
             f"words: {st['words']} (WordNet {'found' if st['wordnet'] else 'not found: broader words disabled'})",
             f"index: {st['index']['type']} ({st['index']['reason']})",
             f"joint space: {st['bridges']['joint'] or 'none (search by words through conse only)'}",
             f"learned mapping: {st['bridges']['mapping'] or 'none'}", f"size on disk: {st['size_bytes'] / 1e6:.1f} MB",
             f"geotagged: {st['geotagged']} photos (pixseek places)",
             f"text in photos: {st['text']['with_text']} of {st['text']['read']} read" if st["text"]["ocr"] else
             "text in photos: not read (index --ocr)",
             f"faces: {st['faces']['faces']} in {st['faces']['with_faces']} of {st['faces']['read']} photos looked at, "
             f"{st['faces']['people']} people" if st["faces"]["finding"] else "faces: not looked for (index --faces)",
             f"failed: {len(st['failed'])}"] + [f"  {f['path']}: {f['error']}" for f in st["failed"]]
    out(args, st, lines)


def cmd_verify(args: argparse.Namespace) -> None:
    """Check catalog and vectors agree and repair from the catalog; --check-only exits 3 on problems, for scripts."""
    again = "pixseek verify --check-only" if args.check_only else "pixseek verify"
    args.interrupt_hint = lambda: f"run `{again}` again to finish"
    r = open_collection(args).verify(repair=not args.check_only)
    lines = ["consistent" if r["ok"] else "problems found:"] + [f"  {p}" for p in r["problems"]]
    lines += [f"repaired: {x}" for x in r["repaired"]]
    out(args, r, lines)
    if not r["ok"] and args.check_only:
        raise SystemExit(3)


def _photos_kept(col) -> int:
    """Photos the collection holds now; the run's uncommitted batch is rolled back first, not counted.
    Called in the main thread (from `main`, or its signal handler) like everything using the catalog."""
    col.catalog.rollback()
    return col.catalog.counts()["files"]
