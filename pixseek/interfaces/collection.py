"""The Python API: a collection folder you index and search.

    from pixseek import Collection
    col = Collection.open("~/photos.pixseek")
    col.index(["~/Pictures"])
    col.search("dog -grass", k=5)            # -> [Hit(path, score, tags)]
    col.similar("~/Pictures/cat.jpg", box=(10, 20, 200, 220))
    col.words("man")                         # -> [WordHit("woman", 0.89), ...]
    col.tag("~/Pictures/cat.jpg")            # -> [Tag("tabby", 0.61), ...]
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import numpy as np

from pixseek.encoders.base import Embedding, ImageEncoder
from pixseek.encoders.images import ImageError, load_for_encoder
from pixseek.encoders.registry import DEFAULT_ENCODER, load_image_encoder
from pixseek.encoders.visual import visual_dim, visual_vectors
from pixseek.encoders.wordnet import load_wordnet
from pixseek.encoders.words import DEFAULT_WORDS, load_words
from pixseek.errors import PixseekError
from pixseek.interfaces.results import Hit, IndexReport, Results, Tag, WordHit
from pixseek.paths import default_db
from pixseek.search.context import Snapshot, bridge_files, collection_context
from pixseek.search.engine import Searcher
from pixseek.store.backends import is_store_uri, open_stores, parse_db, record_store
from pixseek.store.catalog import Catalog
from pixseek.store.indexer import Indexer
from pixseek.store.lock import index_lock
from pixseek.store.prepare import content_hash
from pixseek.store.ray_index import RayOptions

__all__ = ["Collection", "Hit", "IndexReport", "Results", "Tag", "WordHit"]

Box = tuple[float, float, float, float]
ImageInput = str | Path | bytes


class Collection:
    """A folder holding a catalog (catalog.sqlite) and vector files for one encoder and word space."""

    def __init__(self, folder: Path, catalog: Catalog, encoder_spec: str, words_spec: str) -> None:
        self.folder = folder
        self.catalog = catalog
        self.encoder_spec = encoder_spec
        self.words_spec = words_spec
        self._encoder: ImageEncoder | None = None
        self._progress: bool | None = None
        self._searcher: Searcher | None = None
        self._version = None
        self._open_stores()

    # opening -----------------------------------------------------------------------------
    @classmethod
    def open(cls, folder: str | Path | None = None, encoder: str | None = None, words: str | None = None) -> Collection:
        """Open (or create) a collection. The encoder and word space are fixed when it is created."""
        vectors = None
        if is_store_uri(folder):  # milvus://... or milvus-lite://...: the catalog goes to a local folder
            target = parse_db(str(folder))
            folder, vectors = target.catalog, target.uri
        folder = Path(os.path.expanduser(str(folder))) if folder else default_db()
        if folder.exists() and not folder.is_dir():
            raise PixseekError(f"--db {folder} is a file, not a collection folder")
        readonly = (folder / "catalog.sqlite").is_file() and not os.access(folder, os.W_OK)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            catalog = Catalog(folder / "catalog.sqlite", readonly=readonly)
        except OSError as exc:
            raise PixseekError(f"cannot open collection {folder}: {exc}") from exc
        except Exception as exc:  # sqlite3.DatabaseError: not a database, locked read-only file...
            raise PixseekError(f"cannot open collection {folder}: {exc}") from exc
        if vectors is not None:
            record_store(catalog, vectors)
        stored_enc, stored_words = catalog.get_meta("encoder"), catalog.get_meta("words")
        if stored_enc is None and readonly:
            raise PixseekError(f"{folder} is read-only and holds no collection")
        if stored_enc is None:
            catalog.begin()
            catalog.set_meta("encoder", encoder or DEFAULT_ENCODER)
            catalog.set_meta("words", words or DEFAULT_WORDS)
            catalog.commit()
            stored_enc, stored_words = encoder or DEFAULT_ENCODER, words or DEFAULT_WORDS
        elif encoder and encoder != stored_enc:
            raise PixseekError(f"{folder} was indexed with encoder {stored_enc!r}, not {encoder!r}; use another --db")
        return cls(folder, catalog, stored_enc, words or stored_words or DEFAULT_WORDS)

    def _dims(self) -> tuple[int, int | None]:
        dim, n_classes = self.catalog.get_meta("dim"), self.catalog.get_meta("classes")
        if dim is None:
            enc = self.encoder
            self.catalog.begin()
            self.catalog.set_meta("dim", str(enc.dim))
            self.catalog.set_meta("classes", str(len(enc.classes) if enc.classes else 0))
            self.catalog.commit()
            return enc.dim, len(enc.classes) if enc.classes else None
        return int(dim), int(n_classes) or None

    def _open_stores(self, writer: bool = False) -> None:
        self.catalog.db.execute("BEGIN")  # one read snapshot: row count and live ids must agree
        try:
            counts = self.catalog.counts()
            live = self.catalog.live_ids()
            self._version = self._data_version()
        finally:
            self.catalog.db.execute("COMMIT")
        if counts["rows"] == 0 and self.catalog.get_meta("dim") is None:
            self.visual = self.probs = None  # created on first index, once the encoder is known
            return
        dim, n_classes = self._dims()
        try:
            self.visual, self.probs = open_stores(self.catalog.get_meta("vectors"), self.folder, counts["rows"], live,
                                                  visual_dim(dim, n_classes), n_classes, writer=writer,
                                                  index=self.index_spec, max_memory=self.max_memory)
        except OSError as exc:
            raise PixseekError(f"collection {self.folder} is damaged: {exc}") from exc
        self._searcher = None

    @property
    def index_spec(self) -> str:
        """The image index string chosen for this collection ("auto" unless set with --index)."""
        return self.catalog.get_meta("index", "auto") or "auto"

    @property
    def max_memory(self) -> int:
        return int(self.catalog.get_meta("max_memory", str(2 * 1024**3)))

    def set_index(self, spec: str | None = None, max_memory: str | int | None = None) -> None:
        """Choose the image index ("flat", "hnsw32", "ivf1024,pq32", "annoy100", "lsh256" or "auto") and the
        memory budget `auto` plans for; validated now, applied when the stores next open."""
        from pixseek.store.ann import parse_bytes, parse_spec

        if spec is not None and spec != "auto":
            spec = parse_spec(spec).text
        budget = parse_bytes(max_memory) if isinstance(max_memory, str) else max_memory
        self.catalog.begin()
        if spec is not None:
            self.catalog.set_meta("index", spec)
        if budget is not None:
            self.catalog.set_meta("max_memory", str(int(budget)))
        self.catalog.commit()

    def reindex(self, spec: str | None = None, max_memory: str | int | None = None) -> dict:
        """Switch the image index and rebuild it now from the stored vectors (no re-embedding)."""
        self.set_index(spec, max_memory)
        with index_lock(self.folder):
            ann = self.folder / "visual.ann"
            if ann.exists():
                ann.unlink()  # the header would tell a stale index apart anyway; this makes the rebuild explicit
            self._open_stores(writer=True)
            if hasattr(self.visual, "save"):
                self.visual.save()
            self._derive()
        return self.status()["index"]

    def _derive(self) -> None:
        """Bring the derived vectors (joint space, trained mapping) up to date now, with progress on a terminal,
        so the first search after indexing does not pay for them."""
        self._searcher = None
        if self.visual is not None:
            self.searcher  # noqa: B018 (opening computes what is missing)

    def _data_version(self) -> int:
        return self.catalog.db.execute("PRAGMA data_version").fetchone()[0]

    def refresh(self) -> None:
        """Pick up what another process (an index run) committed since this collection was opened."""
        if self._data_version() != self._version:
            self._open_stores()

    @property
    def encoder(self) -> ImageEncoder:
        if self._encoder is None:
            self._encoder = load_image_encoder(self.encoder_spec)
        return self._encoder

    @property
    def searcher(self) -> Searcher:
        """Search and tagging over this collection; works before anything is indexed (tagging a file)."""
        if self._searcher is None:
            rows = self._snapshot_rows()
            live = self.catalog.live_ids()
            rows = self.catalog.counts()["rows"] if rows is None else rows
            snap = Snapshot(self.visual, self.probs, rows if self.visual is not None else 0, live)
            ctx, words, wordnet = collection_context(self.folder, self.encoder_spec, self.words_spec, self._class_ids(),
                                                     snap, progress=self._progress)
            self._searcher = Searcher(self.visual, ctx, words, wordnet)
        return self._searcher

    def _class_ids(self) -> list[str] | None:
        """The classifier's class ids (WordNet ids for ImageNet models), kept in the catalog so that
        opening a collection never has to load its image model for them."""
        stored = self.catalog.get_meta("class_ids")
        if stored is not None:
            return stored.split(",") if stored else None
        classes = self.encoder.classes
        if not self.catalog.readonly:
            self.catalog.begin()
            self.catalog.set_meta("class_ids", ",".join(classes or []))
            self.catalog.commit()
        return list(classes) if classes else None

    def _require_photos(self) -> Searcher:
        if self.visual is None:
            raise PixseekError(f"collection {self.folder} is empty: run `pixseek index DIR` first")
        return self.searcher

    def close(self) -> None:
        self.catalog.close()

    def __enter__(self) -> Collection:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # indexing ----------------------------------------------------------------------------
    def index(self, paths: list[str | Path], progress: bool | None = None, workers: int | None = None,
              batch_size: int = 64, ray: str | None = None) -> IndexReport:
        """Add new and changed images below `paths`, drop deleted ones. Safe to interrupt and re-run.
        ray: decode and embed on a Ray cluster at this address ("local" or "" starts one here)."""
        roots = [Path(os.path.expanduser(str(p))) for p in paths]
        missing = [str(r) for r in roots if not r.exists()]
        if missing:
            raise PixseekError(f"no such file or folder: {', '.join(missing)}")
        if self.catalog.readonly:
            raise PixseekError(f"collection {self.folder} is read-only: searching works, indexing needs write access")
        try:
            with index_lock(self.folder):
                if self.visual is None:
                    self._dims()
                self._open_stores(writer=True)
                indexer = Indexer(self.catalog, self.visual, self.probs, self.encoder, batch_size=batch_size,
                                  workers=workers, ray=None if ray is None else RayOptions(ray, self.encoder_spec))
                counts = indexer.run(roots, progress=progress, skip=self.folder.resolve())
                self._open_stores(writer=True)  # the collection's size may call for another index type
                for store in (self.visual, self.probs):
                    if hasattr(store, "save"):
                        store.save()
                self._progress = progress
                self._derive()
        except (OSError, sqlite3.OperationalError) as exc:
            self.catalog.rollback()
            reason = getattr(exc, "strerror", None) or str(exc)
            raise PixseekError(f"cannot write to collection {self.folder}: {reason}; "
                               "everything committed before this is kept, re-run `pixseek index` once fixed") from exc
        self._searcher = None
        self._version = self._data_version()
        return IndexReport(counts.indexed, counts.skipped, counts.failed, counts.removed, counts.seconds,
                           counts.duplicates, counts.failures)

    def verify(self, repair: bool = True) -> dict:
        """Check that catalog and vector files agree; repair from the catalog (see store/verify.py)."""
        from pixseek.store.verify import verify

        with index_lock(self.folder):
            if self.catalog.get_meta("dim") is None:
                return {"ok": True, "problems": [], "repaired": []}
            dim, n_classes = self._dims()
            kinds = {"visual": (visual_dim(dim, n_classes), "float16")}
            if n_classes:
                kinds["probs"] = (n_classes, "float16")
            report = verify(self.folder, self.catalog, kinds, repair=repair)
            if report.ok or repair:
                self._open_stores(writer=True)
        return report.to_dict()

    def _index_status(self, n: int) -> dict:
        from pixseek.store.backends import chosen_index

        db_spec = self.catalog.get_meta("vectors")
        if db_spec:
            return {"type": db_spec, "requested": self.index_spec, "reason": "vectors in Milvus"}
        dim = self.visual.dim if self.visual is not None else 0
        text, why = chosen_index(n, dim, self.index_spec, self.max_memory)
        return {"type": text, "requested": self.index_spec, "reason": why}

    # queries -----------------------------------------------------------------------------
    def _known_id(self, image: ImageInput) -> int | None:
        """The content id of an image already in this collection's snapshot (by path, else by content hash).
        An id an index run committed after the stores were opened is not in the snapshot: such an image
        is embedded like any new one, never looked up past the rows the stores hold."""
        cid = None
        if not isinstance(image, bytes):
            rec = self.catalog.file(os.path.abspath(os.path.expanduser(str(image))))
            if rec and rec.status == "ok":
                cid = rec.content_id
            else:
                try:
                    image = Path(os.path.expanduser(str(image))).read_bytes()
                except OSError:
                    return None
        if cid is None and isinstance(image, bytes):
            hit = self.catalog.content_by_hash(content_hash(image))
            cid = hit[0] if hit and hit[1] else None
        rows = self._snapshot_rows()
        return cid if cid is not None and (rows is None or cid < rows) else None

    def _snapshot_rows(self) -> int | None:
        store = self.visual
        while store is not None and not hasattr(store, "rows"):
            store = getattr(store, "store", None)  # an index wrapped around the local store
        return getattr(store, "rows", None)

    def embed(self, image: ImageInput, box: Box | None = None) -> Embedding:
        """Run the encoder on one image file or encoded bytes, optionally on a region only."""
        if not isinstance(image, bytes):
            image = Path(os.path.expanduser(str(image)))
            if not image.is_file():
                raise PixseekError(f"no such image file: {image}")
        try:
            pixels, _ = load_for_encoder(image if isinstance(image, bytes) else str(image), self.encoder.input_size, box)
        except ImageError as exc:
            raise PixseekError(f"cannot use {'upload' if isinstance(image, bytes) else image} as a query: {exc}") from None
        return self.encoder.embed(pixels[None])

    def similar(self, image: ImageInput, k: int = 10, box: Box | None = None) -> list[Hit]:
        """Images that look like `image` (a path, indexed or not, or encoded bytes), or like a region of it."""
        _check_k(k)
        searcher = self._require_photos()
        known = self._known_id(image)
        if known is not None and box is None:
            vector = self.visual.get(np.array([known]))[0]
        else:
            vector = visual_vectors(self.embed(image, box))[0]
        ranked = searcher.similar(vector, k, exclude={known} if known is not None else None)
        return self._hits(ranked)

    def search(self, query: str, k: int = 10, bridge: str = "auto") -> Results:
        """Images for words and sentences: `dog beach`, `dog -grass`, `2:sunset`, `"golden retriever"`,
        `two children playing in the snow`. Words nobody knows are left out and listed in `.ignored`.
        bridge: auto (default), conse, devise or joint (see pixseek/search/bridges/)."""
        _check_k(k)
        ranking = self._require_photos().search(query, k, bridge=bridge)
        return Results(self._hits(ranking.hits), ranking.ignored, ranking.terms)

    def words(self, word: str, k: int = 10) -> list[WordHit]:
        """Words nearest to `word` in word-vector space (cosine)."""
        _check_k(k)
        if not isinstance(word, str) or not word.strip():
            raise PixseekError("give a word, e.g. `pixseek words man`")
        concepts_words = load_words(self.words_spec)
        v = concepts_words.vector(word)
        if v is None:
            raise PixseekError(f"unknown word {word!r}: not in the {concepts_words.name} vocabulary")
        return [WordHit(w, round(s, 6)) for w, s in concepts_words.nearest(v, k, exclude={word.lower().strip()})]

    def tag(self, image: ImageInput, k: int = 10, vocabulary: list[str] | None = None, bridge: str = "auto") -> list[Tag]:
        """Words that describe an image (indexed or not; the collection may be empty), best first."""
        _check_k(k)
        searcher = self.searcher
        known = self._known_id(image) if self.visual is not None else None
        if known is not None:
            ids = np.array([known])
            visual, probs = self.visual.get(ids), self.probs.get(ids) if self.probs is not None else None
        else:
            emb = self.embed(image)
            visual, probs = visual_vectors(emb), emb.probs
        return [Tag(w, round(s, 6)) for w, s in searcher.tag(visual, probs, k, vocabulary, bridge=bridge)]

    def _hits(self, ranked) -> list[Hit]:
        paths = self.catalog.paths_of([r.id for r in ranked])
        return [Hit(paths[r.id], round(r.score, 6), r.tags) for r in ranked if r.id in paths]

    # status ------------------------------------------------------------------------------
    def status(self) -> dict:
        counts = self.catalog.counts()
        size = sum(f.stat().st_size for f in self.folder.iterdir() if f.is_file())
        wn = load_wordnet() is not None
        return {
            "db": str(self.folder),
            "images": counts["images"],
            "files": counts["files"],
            "model": self.encoder_spec,
            "words": self.words_spec,
            "wordnet": wn,
            "index": self._index_status(counts["images"]),
            "bridges": bridge_files(self.folder, self.encoder_spec),
            "size_bytes": size,
            "failed": [{"path": p, "error": e} for p, e in self.catalog.failed()],
        }


def _check_k(k: int) -> None:
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= 10000:
        raise PixseekError(f"k must be a whole number from 1 to 10000, not {k!r}")


