"""The 1000 ImageNet-1k classes in the order classifier heads use (sorted WordNet noun ids).

Lists from timm (Apache-2.0): imagenet_synsets.txt and imagenet_synset_to_lemma.txt.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).parent / "data"


@lru_cache(maxsize=1)
def imagenet_wnids() -> list[str]:
    return (DATA / "imagenet_wnids.txt").read_text().split()


@lru_cache(maxsize=1)
def imagenet_lemmas() -> dict[str, list[str]]:
    """wnid -> its names, most common first (e.g. n02084071 -> ["dog", "domestic dog", ...])."""
    out = {}
    for line in (DATA / "imagenet_lemmas.tsv").read_text().splitlines():
        wnid, names = line.split("\t")
        out[wnid] = [n.strip() for n in names.split(",") if n.strip()]
    return out
