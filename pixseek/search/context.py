"""Everything a collection's bridges need, gathered from its folder: class space, mapping, joint space, vectors.

Derived vectors (joint-space vectors, mapped word vectors, trained-class probabilities) are computed
from the stored visual vectors and kept under <collection>/derived/, so a sentence is one inner-product
search and no photo is decoded again. A writer (indexing, `reindex`, `verify`) computes the rows that are
missing or were derived from other stored rows; a reader serves the file's current rows and computes
any others in memory, writing nothing (store/derived.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pixseek.config import TEACH_CONFIDENT
from pixseek.encoders.registry import feature_space, load_text_tower
from pixseek.errors import PixseekError
from pixseek.lexicon.wordnet import open_wordnet
from pixseek.lexicon.words import load_words
from pixseek.search.bridges import BridgeContext
from pixseek.search.concepts import ConceptSpace
from pixseek.search.cutoff import shipped_cutoffs
from pixseek.search.engine import Searcher
from pixseek.search.joint_space import JointSpace, find_joint_space
from pixseek.search.mapping import Mapping, active_mapping, derive_rows
from pixseek.search.sources import CatalogSources, NoSources
from pixseek.search.taught import Concepts, TaughtConcept
from pixseek.search.trained_classes import TrainedClasses
from pixseek.store import taught
from pixseek.store.arrays import ArrayStore
from pixseek.store.catalog import Catalog
from pixseek.store.checksums import values_ok
from pixseek.store.derived import DERIVED_DIR, derived_store
from pixseek.store.vectors import Vectors


@dataclass
class Snapshot:
    """The stored vectors a context derives from: `rows` rows, of which `live` are in the collection."""

    visual: Vectors | None
    probs: Vectors | None
    rows: int
    live: np.ndarray | list[int]  # live content ids
    sources: np.ndarray | None = None  # the stored rows' fingerprints (store/provenance.py); None: in memory only
    writer: bool = False  # bring the derived files up to date (an explicit step), else only read them


def collection_context(folder: Path, encoder: str, words_spec: str, class_ids: list[str] | None,
                       snap: Snapshot, progress: bool | None = None,
                       in_memory: bool = False) -> tuple[BridgeContext, object, object]:
    """(BridgeContext, WordVectors, WordNet or None) for a collection folder. `in_memory`: derive the vectors
    into arrays instead of files (evaluating on a dataset split that is not in the collection)."""
    words, wordnet = load_words(words_spec), open_wordnet()  # the SQLite views: a query reads few synsets

    def where(name: str) -> Path | None:
        return None if in_memory else folder / DERIVED_DIR / f"{name}.float16"

    concepts = ConceptSpace(class_ids, words, wordnet) if class_ids else None
    ctx = BridgeContext(classes=concepts, class_store=snap.probs if snap.visual is not None else None,
                        text_tower=load_text_tower(encoder), visual_store=snap.visual, concepts=concepts,
                        probs_store=snap.probs)
    mapping_file = active_mapping(folder)
    if mapping_file is not None:
        in_dim = snap.visual.dim if snap.visual is not None else None
        mapping = Mapping.load(mapping_file, encoder=encoder, words=words.name, in_dim=in_dim)
        ctx.trained = TrainedClasses(mapping, concepts or ConceptSpace([], words, wordnet))
        ctx.classes = ctx.trained
        if snap.visual is not None:
            tag = f"{mapping_file.stem}-{mapping_file.stat().st_mtime_ns % 10**9}"
            n_probs = snap.probs.dim if snap.probs is not None else 0
            ctx.mapped_store = _derive(where(f"{tag}-mapped"), mapping.out_dim, snap,
                                       lambda v, p: derive_rows(v, p, mapping, "mapped"), progress)
            ctx.class_store = _derive(where(f"{tag}-classes"), n_probs + len(mapping.class_ids),
                                      snap, lambda v, p: derive_rows(v, p, mapping, "auto"), progress)
    joint_file = find_joint_space(encoder, folder)
    if joint_file is not None:
        space = JointSpace.load(joint_file)
        if feature_space(space.encoder) != feature_space(encoder):  # an int8 copy shares the float space
            raise PixseekError(f"joint space {joint_file} was trained for encoder {space.encoder!r}, not {encoder!r}")
        if snap.visual is None or snap.visual.dim == space.in_dim:
            from pixseek.encoders.phrases import load_phrases

            ctx.joint, ctx.phrases = space, load_phrases()
            if snap.visual is not None:
                ctx.joint_store = _derive(where(f"joint-{space.key}"), space.dim, snap,
                                          lambda v, p: space.map_images(v), progress, "joint vectors",
                                          uses_probs=False)
    return ctx, words, wordnet


def open_searcher(folder: Path, encoder: str, words_spec: str, class_ids: list[str] | None, snap: Snapshot,
                  progress: bool | None = None, in_memory: bool = False, catalog: Catalog | None = None) -> Searcher:
    """The Searcher of a collection's snapshot, cut-offs and taught concepts included, reading filters, photo
    text and places from `catalog`; evaluation builds its own over a dataset split the same way (no catalog)."""
    ctx, words, wordnet = collection_context(folder, encoder, words_spec, class_ids, snap, progress, in_memory)
    # taught concepts score calibrated probabilities, whatever the encoder (learn/teach.py)
    cutoffs = {**shipped_cutoffs(encoder, bridge_files(folder, encoder)), "taught": TEACH_CONFIDENT}
    if catalog is None:
        return Searcher(snap.visual, ctx, words, wordnet, NoSources(snap.live), cutoffs=cutoffs)
    concepts = Concepts([TaughtConcept(c.name, c.heads) for c in taught.concepts(catalog.db)])
    return Searcher(snap.visual, ctx, words, wordnet, CatalogSources(catalog, snap.rows, snap.live), concepts, cutoffs)


def bridge_files(folder: Path, encoder: str) -> dict[str, str | None]:
    """The joint space and the DeViSE mapping a collection's searches use (None where there is none)."""
    joint, mapping = find_joint_space(encoder, folder), active_mapping(folder)
    return {"joint": str(joint) if joint else None, "mapping": str(mapping) if mapping else None}


def _derive(path: Path | None, dim: int, snap: Snapshot, fn, progress, label: str = "deriving",
            uses_probs: bool = True):
    def compute(ids: np.ndarray) -> np.ndarray:
        return fn(snap.visual.get(ids), snap.probs.get(ids) if snap.probs is not None else None)

    if path is None or snap.sources is None:
        return ArrayStore(compute(np.arange(snap.rows)))

    def checked(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows and whether the stored rows they come from are intact (a damaged one reads as zeros)."""
        visual = snap.visual.get(ids)
        probs = snap.probs.get(ids) if snap.probs is not None else None
        ok = values_ok("visual", visual)
        if probs is not None and uses_probs:
            ok &= values_ok("probs", probs)
        return fn(visual, probs), ok

    return derived_store(path, dim, snap.rows, _below(snap.live, snap.rows), checked, snap.sources, snap.writer,
                         progress, label)


def _below(ids, rows: int) -> np.ndarray:
    ids = np.asarray(ids, np.int64)
    return ids[ids < rows]
