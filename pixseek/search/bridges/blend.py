"""The default bridge (`auto`, except on a CLIP collection): ConSE's precision for keywords, the joint
space for sentences and scenes.

A query counts as a keyword query when WordNet places every positive term over the classifier's
classes (ConSE then knows exactly what it names); every other query (sentences, scenes, everyday words)
is an "other" query. Each kind has its own weight of the joint space beside ConSE,
  score = (1 - lambda) * conse + lambda * joint,
fitted on dev data when the joint space was trained (pixseek/learn/joint_blend.py) and stored with it.
A photo's own tags (result cards, the detail view, `pixseek tag`) come from search/tags.py.
"""

from __future__ import annotations

import numpy as np

from pixseek.errors import PixseekError
from pixseek.search.bridges.base import Part
from pixseek.search.bridges.conse import ConseBridge
from pixseek.search.bridges.joint import JointBridge
from pixseek.search.terms import Query


class BlendBridge:
    name = "blend"  # what `--bridge auto` opens on a collection without CLIP: its own cut-offs (search/cutoff.py)

    def __init__(self, conse: ConseBridge, joint: JointBridge, blend: dict[str, float]) -> None:
        self.conse = conse
        self.joint = joint
        self.blend = blend

    def joint_weight(self, query: Query) -> float:
        return float(self.blend["keyword" if self.conse.covers(query) else "other"])

    def parts(self, query: Query) -> list[Part]:
        lam = self.joint_weight(query)
        parts = []
        if lam < 1 and query.terms:
            try:
                parts += [Part(p.store, p.units, p.weight * (1 - lam)) for p in self.conse.parts(query)]
            except PixseekError:
                if lam == 0 or not query.phrases:
                    raise  # nothing else could answer it
        if lam > 0 and query.phrases:
            parts += [Part(p.store, p.units, p.weight * lam) for p in self.joint.parts(query)]
        return parts

    def explain(self, ids: np.ndarray, query: Query) -> list[list[str] | None]:
        try:
            return self.conse.explain(ids, query)
        except PixseekError:
            return [None] * len(ids)

    def tag_scores(self, visual, probs, words=None) -> tuple[list[str], np.ndarray]:
        """The photos' calibrated tags for the default vocabulary (search/tags.py); a caller's own words are
        scored by the blend rule, so such a tag is a word that would find the photo."""
        if words is None and self.conse.tagger is not None:
            return self.conse.tag_scores(visual, probs)
        vocab, conse = self.conse.tag_scores(visual, probs, words)
        if words is None:  # the default vocabulary adds the joint space's scene words
            extra = [w for w in self.joint.default_vocabulary if w not in set(vocab)]
            if extra:
                extra, extra_conse = self.conse.tag_scores(visual, probs, extra)
                vocab, conse = vocab + extra, np.hstack([conse, extra_conse])
        lam = np.array([self.blend["keyword" if self.conse.space.covers(w) else "other"] for w in vocab], np.float32)
        scores = (1 - lam) * conse
        use = np.flatnonzero(lam > 0)
        if len(use):
            _, joint = self.joint.tag_scores(visual, probs, [vocab[i] for i in use])
            scores[:, use] += lam[use] * joint
        return vocab, scores
