"""The bridges between words and images, registered in one place; `--bridge` choices come from here.

    conse   zero-shot: WordNet + word vectors over the classifier's classes (and trained classes)
    devise  a trained image -> word-vector mapping (`pixseek train DATASET`)
    joint   the joint image-sentence space (shipped for the default encoder; `pixseek train --captions`)
    clip    a CLIP model's own text tower, for collections indexed with `--encoder clip:DIR`
    auto    the default: clip on a CLIP collection; else conse for keywords, joint for sentences and
            scenes, blended as fitted on dev data
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pixseek.errors import PixseekError
from pixseek.search.bridges.base import Bridge, Part, Unit
from pixseek.search.bridges.blend import BlendBridge
from pixseek.search.bridges.clip import ClipBridge
from pixseek.search.bridges.conse import ConseBridge
from pixseek.search.bridges.devise import DeviseBridge
from pixseek.search.bridges.joint import JointBridge
from pixseek.search.concepts import ConceptSpace
from pixseek.search.joint_space import JointSpace
from pixseek.search.tags import PhotoTagger, TagContext, load_calibration
from pixseek.search.trained_classes import TrainedClasses
from pixseek.store.vectors import Vectors

__all__ = ["BRIDGES", "Bridge", "BridgeContext", "Part", "Unit", "open_bridge"]


@dataclass
class BridgeContext:
    """What a collection (or an evaluation) has for bridges to work with; stores may be None when there
    are no photos yet (tagging a file still works)."""

    classes: object | None = None  # ConceptSpace or TrainedClasses: the conse bridge's class space
    class_store: Vectors | None = None  # rows matching classes.image_rows
    trained: TrainedClasses | None = None
    mapped_store: Vectors | None = None
    joint: JointSpace | None = None
    joint_store: Vectors | None = None
    phrases: object | None = None  # the sentence encoder the joint space's text head takes
    text_tower: object | None = None  # a CLIP text tower whose space the visual vectors share
    visual_store: Vectors | None = None
    concepts: ConceptSpace | None = None  # the classifier's own classes (tags are words over them)
    probs_store: Vectors | None = None  # the classifier's probabilities, rows matching visual_store
    tagger: PhotoTagger | None = None  # made once by photo_tagger()


def _needs(part, message: str):
    """A part of the context a bridge cannot work without; its absence is the user's clear error."""
    if part is None:
        raise PixseekError(message)
    return part


def photo_tagger(ctx: BridgeContext) -> PhotoTagger | None:
    """The collection's one tagger (search/tags.py), shared by its bridges; None for a CLIP collection."""
    if ctx.tagger is None and ctx.text_tower is None and (ctx.concepts is not None or ctx.joint is not None):
        joint, phrases = ctx.joint, ctx.phrases
        tags_ctx = TagContext(ctx.concepts, joint.map_images if joint is not None else None,
                              (lambda texts: joint.map_texts(phrases.encode(texts))) if joint is not None else None,
                              joint.key if joint is not None else None, load_calibration())
        ctx.tagger = PhotoTagger.for_context(tags_ctx, ctx.visual_store, ctx.probs_store, ctx.joint_store)
    return ctx.tagger


def _conse(ctx: BridgeContext) -> Bridge:
    return ConseBridge(_needs(ctx.classes, "this collection's encoder has no classifier head and no trained mapping, "
                              "so it cannot search by words through conse: run `pixseek train DATASET`, or use "
                              "--bridge joint"), ctx.class_store, photo_tagger(ctx))


def _devise(ctx: BridgeContext) -> Bridge:
    return DeviseBridge(_needs(ctx.trained, "this collection has no learned mapping: run `pixseek train DATASET` "
                               "first, or use --bridge conse"), ctx.mapped_store, ctx.class_store)


def _joint(ctx: BridgeContext) -> Bridge:
    space = _needs(ctx.joint, "this collection has no joint image-text space (none ships for its encoder): run "
                   "`pixseek train --captions FILE` first, or use --bridge conse")
    return JointBridge(space, ctx.phrases, ctx.joint_store, photo_tagger(ctx))


def _clip(ctx: BridgeContext) -> Bridge:
    return ClipBridge(_needs(ctx.text_tower, "this collection was not indexed with a CLIP model (--encoder clip:DIR), "
                             "so it has no text tower: use --bridge auto"), ctx.visual_store)


def _auto(ctx: BridgeContext) -> Bridge:
    if ctx.text_tower is not None:
        return _clip(ctx)
    if ctx.classes is not None and ctx.joint is not None:
        return BlendBridge(_conse(ctx), _joint(ctx), ctx.joint.blend)
    if ctx.joint is not None:
        return _joint(ctx)
    return _conse(ctx)


BRIDGES: dict[str, tuple[Callable[[BridgeContext], Bridge], str]] = {
    "auto": (_auto, "clip on a CLIP collection, else conse for keywords, joint for sentences and scenes (default)"),
    "conse": (_conse, "zero-shot WordNet + word vectors over the classifier's classes"),
    "devise": (_devise, "the trained image->word mapping"),
    "joint": (_joint, "the joint image-sentence space"),
    "clip": (_clip, "a CLIP collection's own text tower"),
}


def open_bridge(name: str, ctx: BridgeContext) -> Bridge:
    if name not in BRIDGES:
        raise PixseekError(f"unknown bridge {name!r}: choose from {', '.join(BRIDGES)}")
    return BRIDGES[name][0](ctx)
