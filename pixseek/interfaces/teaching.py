"""Teaching a collection: the Python API's teach/concepts/forget and relevance feedback, which the CLI and
the server call through Collection.

Examples are collection photos (their stored vectors are used) or any other image file, upload or region
(embedded now); a concept is fitted and saved by learn/taught.py. Relevance feedback ("more like this",
"not this") is the same fit on the marked photos, used for one search and not saved unless asked.
`Teaching` is the part of Collection that does this (kept here so the facade stays small); it relies on
the collection's catalog, stores, query images and searcher.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace

import numpy as np

from pixseek.errors import PixseekError
from pixseek.learn import taught as learning
from pixseek.learn.taught import Space, feature_mask
from pixseek.search.engine import Searcher
from pixseek.search.request import SearchRequest
from pixseek.search.taught import TaughtConcept
from pixseek.store import taught
from pixseek.store.catalog import to_db  # a file name of any bytes, as the catalog keeps names
from pixseek.store.taught import Example

NAME = re.compile(r"^[^\W\d_][\w' .&+-]{0,63}$", re.UNICODE)  # a word or a few, starting with a letter
MAX_EXAMPLES = 1000


def check_name(name: str) -> str:
    """A concept name a query can name: starts with a letter, up to 64 letters, digits, spaces, - ' . & +."""
    if not isinstance(name, str) or not NAME.match(name.strip()) or name.strip().endswith((".", "'")):
        raise PixseekError(f"a concept name is a word or a few (letters first, up to 64 characters), not {str(name)[:40]!r}")
    return " ".join(name.split())


def examples_of(images, photos: list, positive: bool, box=None) -> list[Example]:
    """Examples from photos (paths indexed or not, bytes of an upload); `box` applies to each."""
    if len(photos) > MAX_EXAMPLES:
        raise PixseekError(f"at most {MAX_EXAMPLES} examples at once, not {len(photos)}")
    out = []
    for photo in photos:
        vector, known = images.visual(photo, box)
        label = "upload" if isinstance(photo, bytes) else os.path.abspath(os.path.expanduser(str(photo)))
        if box is not None:
            label += f" [{','.join(str(v) for v in box)}]" if not isinstance(box, str) else f" [{box}]"
        out.append(Example(to_db(label), np.asarray(vector, np.float32), positive, known if box is None else None))
    return out


def spaces_of(searcher: Searcher, feature_dim: int | None) -> dict[str, Space]:
    """The stores a concept's heads are fitted on: visual (its CNN-feature half) and joint, where present."""
    visual = searcher.visual
    spaces = {"visual": Space(visual, lambda v: v, feature_mask(visual.dim, feature_dim))}
    joint = searcher.context.joint
    if joint is not None and searcher.context.joint_store is not None:
        spaces["joint"] = Space(searcher.context.joint_store, joint.map_images)
    return spaces


def teach(db, searcher: Searcher, images, live: np.ndarray, feature_dim: int | None, name: str, photos: list,
          not_photos: list | None = None, box=None) -> dict:
    """Add examples (and counter-examples) to concept `name` and refit it; returns its summary."""
    name = check_name(name)
    if not photos and not not_photos:
        raise PixseekError(f"give example photos of {name!r}, e.g. `pixseek teach {name} a.jpg b.jpg`")
    added = examples_of(images, photos or [], True, box) + examples_of(images, not_photos or [], False, box)
    before = {c["name"].lower(): c for c in listing(db)}.get(name.lower())
    if not any(e.positive for e in added) and not (before and before["examples"]):
        raise PixseekError(f"{name!r} has no examples yet: give photos of it before photos that are not")
    concept, _ = learning.teach(db, name, added, spaces_of(searcher, feature_dim), live)
    return next(c for c in listing(db) if c["name"] == concept.name)


def feedback(searcher: Searcher, images, live: np.ndarray, feature_dim: int | None, like: list,
             unlike: list | None = None) -> TaughtConcept | None:
    """A concept fitted on marked results, for one search (None when nothing is marked as liked)."""
    if not like:
        if unlike:
            raise PixseekError("'not this' needs at least one 'more like this' photo (or a query) to go with it")
        return None
    added = examples_of(images, like, True) + examples_of(images, unlike or [], False)
    return learning.fit_concept("more like these", added, spaces_of(searcher, feature_dim), live)


def listing(db) -> list[dict]:
    """Every taught concept as `pixseek concepts --json` shows it."""
    return [{"name": c.name, "examples": c.examples, "counter_examples": c.counter_examples, "matches": c.matches}
            for c in taught.concepts(db)]


class Teaching:
    """Collection's teaching methods (see the module docstring)."""

    def teach(self, name: str, photos: list, not_photos: list | None = None, box=None) -> dict:
        """Teach a word from example photos (collection photos or any file, `box`: a region of each) and
        photos that are not it: `search(name)` then finds its photos, `tag` names it. More examples refine
        a concept taught before. Returns {"name", "examples", "counter_examples", "matches"}."""
        searcher = self._require_photos()
        dim, _ = self.layout.dims()
        out = teach(self.catalog.db, searcher, self._images, self._stores.shape.live, dim, name, list(photos),
                    list(not_photos or []), box)
        self._searcher = None  # the next search knows the new concept
        return out

    def concepts(self) -> list[dict]:
        """The taught concepts: [{"name", "examples", "counter_examples", "matches"}]."""
        return listing(self.catalog.db)

    def forget(self, name: str) -> None:
        """Remove a taught concept and its examples."""
        if not taught.forget(self.catalog.db, name.strip() if isinstance(name, str) else ""):
            raise PixseekError(f"no taught concept named {name!r} (see `pixseek concepts`)")
        self._searcher = None

    def _with_feedback(self, request: SearchRequest, like: list, unlike: list) -> SearchRequest:
        """The request with marked photos as a concept fitted on them: "not this" alone takes the query's
        best other photos as "this"; marked photos themselves are not returned."""
        searcher = self.searcher
        marked = frozenset({self._images.known_id(p) for p in like + unlike} - {None})
        if not like and request.text and request.text.strip():
            first = searcher.search(replace(request, k=3 + len(marked), min_score=None))
            like = [p for p in self.catalog.paths_of([h.id for h in first.hits if h.id not in marked]).values()][:3]
        dim, _ = self.layout.dims()
        concept = feedback(searcher, self._images, self._stores.shape.live, dim, like, unlike)
        return replace(request, feedback=concept, exclude=marked)
