"""Pick an index type for `--index auto` from collection size, dimension and a memory budget.

Like autofaiss, `choose_index` returns candidate strings ranked best first, each with the reason, and
the thresholds are parameters. Memory is estimated from the index string before anything is built, so
a budget that nothing fits stops early with advice instead of failing halfway through a build.
`resolve_index` is the one decision every caller makes: the requested index, or what `auto` picks.
"""

from __future__ import annotations

import math
import re

from pixseek.errors import PixseekError
from pixseek.store.ann.spec import human_bytes, parse_spec

_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2, "g": 1024**3, "gb": 1024**3,
          "t": 1024**4, "tb": 1024**4}


def parse_bytes(text: str) -> int:
    """'2GB' -> 2147483648 (binary units; 'k', 'MB', 'G', ... accepted)."""
    m = re.fullmatch(r"\s*([\d.]+)\s*([a-zA-Z]*)\s*", text)
    if not m or m.group(2).lower() not in _UNITS:
        raise PixseekError(f"cannot read memory size {text!r}: use e.g. 500MB or 2GB")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def ivf_lists(n: int, per_sqrt: float = 4.0) -> int:
    """A power of two near per_sqrt * sqrt(n) (4, the usual IVF rule, by default), between 64 and 65536."""
    return int(min(65536, max(64, 2 ** round(math.log2(per_sqrt * math.sqrt(max(n, 1)))))))


def choose_index(n: int, dim: int, max_memory_bytes: int, exact_below: int = 20_000, hnsw_below: int = 500_000,
                 pq_sizes: tuple[int, ...] = (32, 16, 8), lists_per_sqrt: float = 1.0, headroom: float = 0.8,
                 pca_above: int = 512, pca_dim: int = 256) -> list[tuple[str, str]]:
    """Candidate index strings for n vectors of `dim`, ranked best first, with a reason each.

    exact_below: collections smaller than this are searched exactly (a few ms per query).
    hnsw_below: above this, building HNSW takes too long on a small machine even if it fits in memory
        (measured here: hnsw32 built 100k x 256 in 38-80 s on 2 busy cores, so 1M would take 6-13
        minutes or more, and the build holds the float32 input beside the graph; docs/benchmarks.md).
    pq_sizes: code sizes tried for IVF-PQ, largest first. Candidates are re-ranked on exact vectors, so
        32-byte codes already reached recall@10 >= 0.95 on the sets measured; larger ones only on request.
    lists_per_sqrt: IVF lists = this x sqrt(n), as a power of two. 1 (1,024 lists for 1M vectors, the
        setting measured at 1M) trains four times faster than the usual 4 x sqrt(n).
    headroom: share of the budget the index may take; the rest is left to the process and page cache.
    pca_above, pca_dim: vectors wider than pca_above are reduced to pca_dim dimensions by PCA before IVF-PQ
        (2,280-d image vectors in 32 bytes: recall@10 0.89 -> 0.99 with 1,000 re-ranked candidates at
        100,000 photos, docs/benchmarks.md); training then reads a sample, never every vector. Where the
        budget allows, an 8-bit copy of the (reduced) vectors (`,sq8`) re-scores the codes' candidates in
        memory, so that fewer exact rows are read, and lets a ranker estimate any row's score
        (docs/million.md).
    """
    budget = max_memory_bytes * headroom
    out: list[tuple[str, str]] = []
    rejected: list[str] = []

    def consider(text: str, why: str) -> None:
        spec = parse_spec(text)
        need = n * spec.bytes_per_vector(dim)
        if need <= budget:
            out.append((spec.text, f"{why}; needs about {human_bytes(need)} of the {human_bytes(max_memory_bytes)} budget"))
        else:
            rejected.append(f"{spec.text} needs about {human_bytes(need)}")

    if n < exact_below:
        consider("flat", f"{n:,} vectors is few enough for exact search")
    if n < hnsw_below:
        consider("hnsw32", "HNSW is the fastest at high recall and takes adds incrementally")
    nlist = ivf_lists(n, lists_per_sqrt)
    if dim > pca_above:
        for m in pq_sizes:
            for copy, how in ((",sq8", f"candidates re-scored on an 8-bit copy of the {pca_dim}-d vectors in memory, then "),
                              ("", "")):
                consider(f"pca{pca_dim},ivf{nlist},pq{m}{copy}", f"reduced to {pca_dim} dimensions by PCA and compressed "
                         f"to {m} bytes per vector, {nlist} lists for {n:,} vectors, {how}re-ranked on the exact "
                         "vectors kept on disk")
    for m in pq_sizes:
        if m * 8 <= dim * 32:  # never compress to more bits than the float32 vector holds
            for copy, how in ((",sq8", "candidates re-scored on an 8-bit copy of the vectors in memory, then "), ("", "")):
                consider(f"ivf{nlist},pq{m}{copy}", f"compressed to {m} bytes per vector, {nlist} lists for {n:,} "
                                                    f"vectors, {how}re-ranked on the exact vectors kept on disk")
    if n >= exact_below:
        consider("flat", "exact search is always correct but reads every vector per query")
    consider("annoy50", "Annoy trees are memory-mapped and build quickly")
    consider(f"lsh{max(64, min(512, 8 * round(dim / 8)))}", "hashing is the smallest index but the least accurate")
    if not out:
        raise PixseekError(f"no index fits {n:,} vectors of {dim} dimensions in {human_bytes(max_memory_bytes)} "
                           f"({'; '.join(rejected)}): raise --max-memory or use fewer vectors")
    return out


def is_auto(requested: str | None) -> bool:
    """Whether an --index value leaves the choice to `choose_index` ("auto", or nothing set)."""
    return requested in (None, "", "auto")


def resolve_index(n: int, dim: int, requested: str | None, max_memory_bytes: int, **thresholds: float
                  ) -> tuple[str, str]:
    """(index string, why) for n vectors of `dim`: the requested index ("flat", "hnsw32", ...), or the
    best candidate of `choose_index` when it is "auto" (or empty). Raises PixseekError for an unknown
    index string or a budget nothing fits."""
    if is_auto(requested):
        return choose_index(n, dim, max_memory_bytes, **thresholds)[0]
    spec = parse_spec(requested)
    return spec.text, f"chosen with --index: {spec.describe(dim, n)}"
