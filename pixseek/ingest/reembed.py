"""Re-embedding damaged vector rows for `pixseek verify` (store/verify.py asks; this layer has the encoder).

A photo is used only if its bytes still hash to the content the row belongs to: a file changed since it
was indexed is left to the next `pixseek index`, which embeds it as the new content it is.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from pixseek.encoders.base import ImageEncoder
from pixseek.encoders.visual import visual_vectors
from pixseek.ingest.decode import prepare
from pixseek.store.verify import Reembed

BATCH = 32


def reembedder(load_encoder: Callable[[], ImageEncoder]) -> Reembed:
    """A `reembed` for store/verify.py; the encoder is loaded only if some row has a photo to embed from."""

    def reembed(asks: list[tuple[int, str, list[str]]]) -> dict[int, dict[str, np.ndarray]]:
        if not asks:
            return {}
        encoder = load_encoder()
        how = getattr(encoder, "preprocess", None) or encoder.input_size  # what a decoding Task carries
        ready: list[tuple[int, np.ndarray]] = []
        for cid, digest, paths in asks:
            for path in paths:
                try:
                    st = os.stat(path)
                except OSError:
                    continue
                item = prepare((path, st.st_size, st.st_mtime_ns, how))
                if item.error is None and item.hash == digest:
                    ready.append((cid, item.pixels))
                    break
        out: dict[int, dict[str, np.ndarray]] = {}
        for start in range(0, len(ready), BATCH):
            part = ready[start : start + BATCH]
            emb = encoder.embed(np.stack([p for _, p in part]))
            visual = visual_vectors(emb).astype(np.float32)
            for i, (cid, _) in enumerate(part):
                out[cid] = {"visual": visual[i]}
                if emb.probs is not None:
                    out[cid]["probs"] = np.asarray(emb.probs[i], np.float32)
        return out

    return reembed
