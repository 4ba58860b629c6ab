"""The Python API: a collection folder you index and search.

    from pixseek import Collection
    col = Collection.open("~/photos.pixseek")
    col.index(["~/Pictures"])
    col.search("dog -grass", k=5)            # -> [Hit(path, score, tags)]
    col.similar("~/Pictures/cat.jpg", box=(10, 20, 200, 220))
    col.search("dog", under="~/Pictures/2024", after="2024-05-01", type="jpg,png", min_score=0)
    col.search("beach", place="Croatia"); col.search("bike", near="55.70,13.19,5")  # near=LAT,LON,KM
    col.words("man")                         # -> [WordHit("woman", 0.89), ...]
    col.tag("~/Pictures/cat.jpg")            # -> [Tag("tabby", 0.61), ...]

A facade: the folder and its settings are store/collection_folder.py, indexing is ingest/run.py, ranking is the
Searcher (search/), and what a query image is (indexed or new) is interfaces/query_image.py.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Unpack

from pixseek.config import DEFAULT_DEVICE, DEVICE_BATCH_SIZES, MAX_K
from pixseek.encoders.base import Embedding, ImageEncoder
from pixseek.encoders.device import new_collection_encoder
from pixseek.encoders.registry import canonical_spec, load_image_encoder
from pixseek.errors import PixseekError
from pixseek.ingest.report import IndexReport
from pixseek.interfaces.browsing import Browsing
from pixseek.interfaces.encoder_switch import EncoderSwitch
from pixseek.interfaces.people import People
from pixseek.interfaces.results import DuplicateGroup, Hit, Results, Tag, WordHit
from pixseek.interfaces.teaching import Teaching
from pixseek.interfaces.training import Training
from pixseek.lexicon.wordnet import open_wordnet
from pixseek.lexicon.words import load_words
from pixseek.search.context import Snapshot, bridge_files, open_searcher
from pixseek.search.engine import Searcher
from pixseek.search.filter_options import FilterArgs, parse_filters
from pixseek.search.request import SearchRequest
from pixseek.store import faces, photo_text, taught
from pixseek.store.catalog import Catalog, FileRecord
from pixseek.store.collection_folder import CollectionFolder, Stores
from pixseek.store.places import count_geotagged, place_counts, places_of
from pixseek.store.provenance import row_fingerprints
from pixseek.store.vectors import VectorStore

if TYPE_CHECKING:
    from pixseek.interfaces.query_image import Box, ImageInput, QueryImages

__all__ = ["Collection", "Hit", "IndexReport", "Results", "Tag", "WordHit"]


class Collection(Teaching, Training, People, EncoderSwitch, Browsing):
    """A folder holding a catalog (catalog.sqlite) and vector files for one encoder and word space."""

    def __init__(self, layout: CollectionFolder) -> None:
        self.layout = layout
        self._encoder: ImageEncoder | None = None
        self._progress: bool | None = None
        self._searcher: Searcher | None = None
        self._use(layout.open_stores())

    @classmethod
    def open(cls, folder: str | Path | None = None, encoder: str | None = None, words: str | None = None,
             device: str = DEFAULT_DEVICE) -> Collection:
        """Open (or create) a collection: a folder, or a Milvus URI (milvus://..., milvus-lite://...).
        The encoder and word space are fixed when it is created; without `encoder`, a new one gets the
        encoder that runs best on `device` here (encoders/device.py: new_collection_encoder)."""
        return cls(CollectionFolder.open(folder, canonical_spec(encoder) if encoder else None, words, load_image_encoder,
                                         lambda: canonical_spec(new_collection_encoder(device))))

    folder = property(lambda self: self.layout.folder)
    catalog: Catalog = property(lambda self: self.layout.catalog)
    encoder_spec = property(lambda self: self.layout.encoder_spec)
    words_spec = property(lambda self: self.layout.words_spec)
    index_spec = property(lambda self: self.layout.index_spec, doc='"auto" unless set with --index')
    max_memory = property(lambda self: self.layout.max_memory)
    visual: VectorStore | None = property(lambda self: self._stores.visual)
    probs: VectorStore | None = property(lambda self: self._stores.probs)

    @property
    def encoder(self) -> ImageEncoder:
        if self._encoder is None:
            self._encoder = load_image_encoder(self.encoder_spec)
        return self._encoder

    def class_ids(self) -> list[str] | None:
        return self.layout.class_ids()

    def _use(self, stores: Stores) -> None:
        self._stores, self._searcher, self._query_images = stores, None, None

    @property
    def _images(self) -> QueryImages:
        """Query images (files, uploads, regions) turned into vectors; imported when first needed, so a
        text query never loads PIL."""
        if self._query_images is None:
            from pixseek.interfaces.query_image import QueryImages

            self._query_images = QueryImages(self.catalog, self._stores, lambda: self.encoder)
        return self._query_images

    def refresh(self) -> None:
        """Pick up what another process (an index run) committed since this collection was opened."""
        if self.layout.data_version() != self._stores.version:
            self._use(self.layout.open_stores())
        elif self._searcher is not None and taught.version(self.catalog.db) != self._taught_version:
            self._searcher = None  # a concept taught or forgotten elsewhere

    @property
    def searcher(self) -> Searcher:
        """Search and tagging over this collection; works before anything is indexed (tagging a file).
        Opening it writes nothing: derived vectors missing or stale on disk are computed in memory."""
        if self._searcher is None:
            self._searcher = self._open_searcher(writer=False)
        return self._searcher

    def _open_searcher(self, writer: bool) -> Searcher:
        s = self._stores
        rows = s.shape.rows if s.shape else 0
        sources = row_fingerprints(self.folder, rows, (s.shape.visual_dim, s.shape.n_classes), self.catalog) \
            if s.shape else None
        snap = Snapshot(s.visual, s.probs, rows, s.shape.live if s.shape else [], sources, writer)
        self._taught_version = taught.version(self.catalog.db)
        return open_searcher(self.folder, self.encoder_spec, self.words_spec, self.class_ids(), snap,
                             progress=self._progress, catalog=self.catalog)

    def derive(self, stores: Stores | None = None) -> None:
        """Bring the derived vectors (joint space, trained mapping) up to date on disk now, with progress on
        a terminal: the explicit step (after indexing, `reindex`, `verify`) that searches then read."""
        self._use(stores or self._stores)
        if self.visual is not None:
            self._searcher = self._open_searcher(writer=True)

    def close(self) -> None:
        self.catalog.close()

    def __enter__(self) -> Collection:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # writing -------------------------------------------------------------------------------------
    def index(self, paths: list[str | Path], progress: bool | None = None, workers: int | None = None,
              batch_size: int | None = None, ray: str | None = None, ocr: bool | None = None,
              device: str = DEFAULT_DEVICE, faces: bool | None = None) -> IndexReport:
        """Add new and changed images below `paths`, drop deleted ones. Safe to interrupt and re-run.
        ray: decode and embed on a Ray cluster at this address ("local" or "" starts one here).
        ocr / faces: True/False turns reading text / finding faces on/off for this and later runs (None: as before).
        device: "cpu", "cuda" or "auto" (encoders/device.py); the vectors are the same either way.
        batch_size: photos per batch (default 64 on the CPU, 256 on CUDA)."""
        from pixseek.ingest import run  # indexing's modules load only for it: a query never pays for them
        from pixseek.ingest.ocr_stage import read_text

        roots = [Path(os.path.expanduser(str(p))) for p in paths]
        device = run.index_device(device, self.encoder_spec, ray)
        batch_size = batch_size or DEVICE_BATCH_SIZES[device]
        encoder = self.encoder if device == "cpu" else load_image_encoder(self.encoder_spec, device)
        reader = run.make_reader(workers, batch_size, ray, self.encoder_spec, device, encoder.input_size)
        self._progress = progress
        report, _ = run.index_run(self.layout, encoder, roots, reader, batch_size, progress, self.derive)
        text, found = read_text(self.layout, ocr, progress, workers), self._find_faces(faces, progress, workers)
        report.text, report.faces = (text.to_dict() if text else None), (found.to_dict() if found else None)
        return report

    def watch(self, paths: list[str | Path], progress: bool | None = None, workers: int | None = None,
              batch_size: int | None = None, debounce: float = 1.0, stop=None,
              on_change: Callable[[IndexReport], None] | None = None, device: str = DEFAULT_DEVICE) -> None:
        """Index `paths`, then keep the collection in step with them until `stop` (a threading.Event) is
        set or the process is interrupted; `on_change` gets the report of every run after the first."""
        from pixseek.ingest.watch import FolderEvents

        roots = [Path(os.path.expanduser(str(p))) for p in paths]
        missing = [str(r) for r in roots if not r.is_dir()]
        if missing:
            raise PixseekError(f"--watch needs folders; not a folder: {', '.join(missing)}")
        with FolderEvents(roots, skip=self.folder) as events:
            self.index(roots, progress, workers, batch_size, device=device)
            for folders in events.batches(debounce, stop=stop):
                try:
                    report = self.index(folders, False, workers, batch_size, device=device)
                except PixseekError as exc:  # a folder removed between the event and the run: the next sees it
                    print(f"pixseek: {exc}", file=sys.stderr)
                    continue
                if on_change is not None:
                    on_change(report)

    def set_index(self, spec: str | None = None, max_memory: str | int | None = None) -> None:
        """Choose the image index ("flat", "hnsw32", "ivf1024,pq32", "annoy100", "lsh256" or "auto") and the
        memory budget `auto` plans for; validated now, applied when the stores next open."""
        from pixseek.store.ann import parse_bytes, parse_spec

        values = {}
        if spec is not None:
            values["index"] = spec if spec == "auto" else parse_spec(spec).text
        if max_memory is not None:
            values["max_memory"] = str(int(parse_bytes(max_memory) if isinstance(max_memory, str) else max_memory))
        self.layout.set_meta(**values)

    def reindex(self, spec: str | None = None, max_memory: str | int | None = None) -> dict:
        """Switch the image index and rebuild it now from the stored vectors (no re-embedding)."""
        from pixseek.ingest import run

        self.set_index(spec, max_memory)
        run.reindex(self.layout, self.derive)
        return self.status()["index"]

    def verify(self, repair: bool = True) -> dict:
        """Check that catalog and vector files agree; repair from the catalog (see store/verify.py)."""
        from pixseek.ingest import run

        report, stores = run.verify(self.layout, repair)
        if stores is not None and not self.catalog.readonly:
            self.derive(stores)  # rows derived from repaired or stale stored rows are derived again
        elif stores is not None:
            self._use(stores)
        return report

    # queries -------------------------------------------------------------------------------------
    def embed(self, image: ImageInput, box: Box | None = None) -> Embedding:
        """Run the encoder on one image file or encoded bytes, optionally on a region only."""
        return self._images.embed(image, box)

    def similar(self, image: ImageInput, k: int = 10, box: Box | None = None, min_score: float | None = None,
                **filters: Unpack[FilterArgs]) -> Results:
        """Images that look like `image` (a path, indexed or not, or encoded bytes), or like a region of it;
        the filters, min_score and weak flags as for `search`."""
        _check_k(k)
        searcher = self._require_photos()
        narrow = parse_filters(**filters)
        vector, known = self._images.visual(image, box)
        return Results(self._hits(searcher.similar(vector, k, exclude={known} if known is not None else None,
                                                   filters=narrow, min_score=min_score)))

    def search(self, query: str, k: int = 10, bridge: str = "auto", min_score: float | None = None,
               exact: bool = False, like: list[ImageInput] | None = None, unlike: list[ImageInput] | None = None,
               **filters: Unpack[FilterArgs]) -> Results:
        """Images for words and sentences: `dog beach`, `dog -grass`, `2:sunset`, `"golden retriever"`,
        `two children playing in the snow`. Words nobody knows are left out and listed in `.ignored`; a
        misspelt one is corrected when sure (`.corrected` is the query searched), unless `exact`.
        bridge: auto (default), conse, devise, joint or clip (see pixseek/search/bridges/).
        The k best are returned; those below where confident matches end are flagged `weak` (search/cutoff.py).
        min_score: leave out results scoring below it (None or 0: keep all).
        filters (search/filter_options.py FILTER_OPTIONS): under / after / before / type: only photos below a folder,
        taken within YYYY-MM-DD days (inclusive), of these file types ("jpg,png"); place: taken in a city,
        region or country (also `place:"Rome"` in the query; alone, it lists that place's photos); near:
        "LAT,LON,KM". like / unlike: photos marked "more like this" / "not this" (paths, indexed or not, or
        bytes): the whole collection is ranked again from the query and them (interfaces/teaching.py); the
        query may then be empty. Marked photos themselves are not returned. How a query flows: docs/query-flow.md."""
        _check_k(k)
        searcher = self._require_photos()
        request = SearchRequest(query, k, bridge, parse_filters(**filters), min_score, exact)
        if like or unlike:
            request = self._with_feedback(request, list(like or []), list(unlike or []))
        ranking = searcher.search(request)
        return Results(self._hits(ranking.hits), ranking.ignored, ranking.terms, ranking.corrected)

    def words(self, word: str, k: int = 10) -> list[WordHit]:
        """Words nearest to `word` in word-vector space (cosine)."""
        _check_k(k)
        if not isinstance(word, str) or not word.strip():
            raise PixseekError("give a word, e.g. `pixseek words man`")
        vectors = load_words(self.words_spec)
        v = vectors.vector(word)
        if v is None:
            raise PixseekError(f"unknown word {word!r}: not in the {vectors.name} vocabulary")
        return [WordHit(w, round(s, 6)) for w, s in vectors.nearest(v, k, exclude={word.lower().strip()})]

    def tag(self, image: ImageInput, k: int = 10, vocabulary: list[str] | None = None, bridge: str = "auto",
            box: Box | None = None) -> list[Tag]:
        """Words that describe an image (indexed or not; the collection may be empty), or a region of it, best first."""
        _check_k(k)
        searcher = self.searcher
        visual, probs = self._images.visual_and_probs(image, box)
        return [Tag(w, round(s, 6)) for w, s in searcher.tag(visual, probs, k, vocabulary, bridge=bridge)]

    def duplicates(self, threshold: float | None = None, progress: bool | None = None) -> list[DuplicateGroup]:
        """Groups of near-duplicate photos (resized, recompressed, slightly cropped copies, bursts), each with
        a suggested keeper; threshold: pair similarity, default calibrated (search/duplicates.py)."""
        from pixseek.interfaces.duplicates_and_map import THRESHOLD, duplicate_groups

        if threshold is not None and not 0 < threshold <= 1:
            raise PixseekError(f"--threshold is a similarity from 0 to 1, not {threshold}")
        if self.visual is None:
            return []
        dim, n_classes = self.layout.dims()
        return duplicate_groups(self.catalog, self.visual, THRESHOLD if threshold is None else threshold, progress,
                                feature_dims=dim if n_classes else None)

    def map(self, out: str | Path | None = None, projector: str | Path | None = None) -> dict:
        """A picture of the collection laid out in 2-D (OUT.png), and/or TensorBoard Projector files (a folder)."""
        from pixseek.interfaces.duplicates_and_map import write_map

        if out is None and projector is None:
            raise PixseekError("give a picture to write (pixseek map OUT.png) or --projector DIR")
        searcher = self._require_photos()
        return write_map(self.catalog, self.visual, self.probs, searcher, Path(out) if out else None,
                         Path(projector) if projector else None)

    def record(self, path: str) -> FileRecord | None:
        """The catalog's record of a file (indexed or failed), by absolute path."""
        return self.catalog.file(path)

    def paths_with_bytes(self, data: bytes) -> list[str]:
        """Indexed files whose content is exactly these bytes."""
        return self._images.paths_with_bytes(data)

    def _require_photos(self) -> Searcher:
        if self.visual is None:
            raise PixseekError(f"collection {self.folder} is empty: run `pixseek index DIR` first")
        return self.searcher

    def _hits(self, ranked) -> list[Hit]:
        paths = self.catalog.paths_of([r.id for r in ranked])
        at = places_of(self.catalog, list(paths))
        return [Hit(paths[r.id], round(r.score, 6), r.tags, r.text, r.weak, at.get(r.id)) for r in ranked if r.id in paths]

    def place_of(self, path: str) -> dict | None:
        """Where an indexed file was taken, as hits carry it; None when unknown."""
        rec = self.catalog.file(path)
        return places_of(self.catalog, [rec.content_id]).get(rec.content_id) if rec and rec.content_id is not None else None

    def places(self) -> list[dict]:
        """Where the photos were taken: [{"city", "region", "country", "photos"}], by country, most photos first."""
        return place_counts(self.catalog)

    def status(self) -> dict:
        counts = self.catalog.counts()
        return {
            "db": str(self.folder),
            "images": counts["images"],
            "files": counts["files"],
            "model": self.encoder_spec,
            "words": self.words_spec,
            "wordnet": open_wordnet() is not None,
            "index": self.layout.index_status(counts["images"]),
            "bridges": bridge_files(self.folder, self.encoder_spec),
            "size_bytes": sum(f.stat().st_size for f in self.folder.iterdir() if f.is_file()),
            "failed": [{"path": p, "error": e} for p, e in self.catalog.failed()],
            "text": {"ocr": self.catalog.get_meta("ocr") == "1", **photo_text.counts(self.catalog.db)},
            "faces": {"finding": self.catalog.get_meta("faces") == "1", **faces.counts(self.catalog.db)},
            "geotagged": count_geotagged(self.catalog),
        }

    def text(self, image: str | Path) -> dict:
        """What was read in a photo: from the catalog when it is indexed and read, else read now (OCR)."""
        from pixseek.ingest.ocr_stage import text_of

        return text_of(self.catalog, image)


def _check_k(k: int) -> None:
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= MAX_K:
        raise PixseekError(f"k must be a whole number from 1 to {MAX_K}, not {k!r}")
