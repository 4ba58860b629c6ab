"""Index strings, as FAISS's index factory reads them: parsed into a spec with its cost, knobs and a description.

    flat, hnsw32, ivf1024,pq32, ivf1024,pq32,polysemous, pca256,ivf1024,pq32, pca256,ivf1024,pq32,sq8,
    annoy100, lsh256 (see pixseek/store/ann/__init__.py)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pixseek.errors import PixseekError

KINDS = ("flat", "hnsw", "ivfpq", "annoy", "lsh")
LIBRARY = {"flat": "faiss", "hnsw": "faiss", "ivfpq": "faiss", "annoy": "annoy", "lsh": "faiss"}  # kind -> backend

# Search-time defaults, tuned on real embeddings (docs/benchmarks.md) for recall@10 >= 0.95:
# hnsw ef=64; ivfpq nprobe=0 means one list in 16 but at least 32 (recall@10 0.974-0.979 measured on
# every set; 16 of 256 lists gave 0.89), re-ranking 20 x k candidates on exact vectors; ht=0 means no
# polysemous Hamming filter (thresholds 112-128 never bought speed at equal recall on the sets measured);
# annoy search_k=0 means 30 x trees x k; lsh re-ranks 50 x k candidates.
DEFAULT_KNOBS: dict[str, dict[str, int]] = {
    "flat": {},
    "hnsw": {"ef": 64},
    "ivfpq": {"nprobe": 0, "rerank": 20, "ht": 0},
    "annoy": {"search_k": 0},
    "lsh": {"rerank": 50},
}
PCA_RERANK = 50
# With an 8-bit copy of the (reduced) vectors (`,sq8`), the codes' best refine x rerank x k candidates are
# re-scored on the copy in memory and only its best rerank x k are read from disk. At a million photos
# (80 photos' nearest 10, against an exact scan) rerank 20 / 30 / 40 gave recall@10 0.955 / 0.981 / 0.990
# (docs/million.md); 50 x k rows straight from the codes gave 0.945-0.96. Small k read at least
# SQ_MIN_ROWS rows: a photo in a crowded neighbourhood needs that many whatever k is (25 photos: recall@10
# 0.936 with 330 rows, 0.968 with 550), and a few hundred rows cost a few ms.
SQ_RERANK, SQ_REFINE, SQ_MIN_ROWS = 30, 5, 500
RERANK_POOL = 2000  # re-rank at most this many candidates (or k, when more are asked for)


@dataclass(frozen=True)
class IndexSpec:
    """A parsed index string: its family, integer parameters and what it costs per vector."""

    text: str
    kind: str
    params: dict[str, int] = field(default_factory=dict)

    @property
    def library(self) -> str:
        """The library that builds and searches this family (a key of ann.backends.BACKENDS)."""
        return LIBRARY[self.kind]

    @property
    def polysemous(self) -> bool:
        return bool(self.params.get("polysemous"))

    def code_bytes(self, dim: int) -> float:
        """Bytes per vector held by the index itself (codes, links), not counting the id map."""
        p = self.params
        if self.kind == "flat":
            return 4.0 * dim
        if self.kind == "hnsw":
            return 4.0 * dim + 8 * p["m"] * 1.05  # level 0 has 2M int32 links; upper levels add ~5%
        if self.kind == "ivfpq":  # codes + the int64 list entry (+ the 8-bit copy)
            return p["pq"] + 8.0 + (p.get("pca") or dim) * p.get("sq", 0) / 8
        if self.kind == "annoy":
            return 4.0 * dim + 16 + 12.0 * p["trees"]  # item nodes + roughly 12 bytes per vector per tree
        return p["bits"] / 8.0

    def bytes_per_vector(self, dim: int) -> float:
        """Resident bytes per vector: the index plus pixseek's id map and tombstone flag."""
        return self.code_bytes(dim) + 9.0

    def knobs(self) -> dict[str, int]:
        """The search knobs and their defaults. Codes of PCA-reduced vectors rank coarser, so they re-rank
        more candidates (50 x k: recall@10 0.958 at a million photos, 20 x k: 0.900; docs/million.md)."""
        knobs = dict(DEFAULT_KNOBS[self.kind])
        if self.params.get("sq"):
            knobs.update(rerank=SQ_RERANK, refine=SQ_REFINE, min_rows=SQ_MIN_ROWS)
        elif self.params.get("pca"):
            knobs["rerank"] = PCA_RERANK
        return knobs

    @property
    def reranks(self) -> bool:
        """Whether results are approximate scores that exact vectors can re-rank."""
        return self.kind in ("ivfpq", "lsh")

    def min_train(self) -> int:
        """Vectors needed before the family can be built; fewer are searched exactly in the side buffer."""
        if self.kind == "ivfpq":
            return max(1000, 4 * self.params["ivf"])
        if self.kind in ("annoy", "lsh"):
            return 100
        return 0

    def describe(self, dim: int, n: int | None = None) -> str:
        """One sentence a user can read: what the index does and what it costs."""
        p = self.params
        what = {
            "flat": "exact search over every vector",
            "hnsw": f"an HNSW graph with {p.get('m')} links per node (fast, exact vectors kept in memory)",
            "ivfpq": (f"reduced to {p['pca']} dimensions by PCA, " if p.get("pca") else "")
                     + f"{p.get('ivf')} inverted lists with {p.get('pq')}-byte product-quantized codes"
                     + (", polysemous codes filter candidates by Hamming distance" if self.polysemous else "")
                     + (", candidates re-scored on an 8-bit copy of each vector in memory" if p.get("sq") else "")
                     + ", re-ranked on exact vectors when they are available",
            "annoy": f"{p.get('trees')} Annoy random-projection trees",
            "lsh": f"{p.get('bits')}-bit random-hyperplane hashes, re-ranked on exact vectors when available",
        }[self.kind]
        size = f"about {self.bytes_per_vector(dim):,.0f} bytes per {dim}-d vector"
        if n is not None:
            size += f", {human_bytes(n * self.bytes_per_vector(dim))} for {n:,} vectors"
        return f"{self.text}: {what}; {size}."


_TOKEN = re.compile(r"^(pca|flat|hnsw|ivf|pq|sq|annoy|lsh|polysemous)(\d*)$")


def parse_spec(text: str) -> IndexSpec:
    """'hnsw32' -> IndexSpec(kind='hnsw', params={'m': 32}); raises PixseekError listing valid forms."""
    tokens = [t.strip() for t in text.lower().split(",") if t.strip()]
    parsed: dict[str, int | None] = {}
    for tok in tokens:
        m = _TOKEN.match(tok)
        if not m or m.group(1) in parsed:
            raise _bad_spec(text)
        parsed[m.group(1)] = int(m.group(2)) if m.group(2) else None
    keys = set(parsed)
    canon = ",".join(tokens)
    if keys == {"flat"} and parsed["flat"] is None:
        return IndexSpec(canon, "flat")
    if keys == {"hnsw"}:
        return IndexSpec(canon, "hnsw", {"m": _positive(parsed["hnsw"], 32, text)})
    sq = _sq_bits(parsed, text)
    if keys - {"sq"} in ({"ivf", "pq"}, {"ivf", "pq", "polysemous"}) and tokens[0].startswith("ivf"):
        pq = _positive(parsed["pq"], None, text)
        return IndexSpec(canon, "ivfpq", {"ivf": _positive(parsed["ivf"], None, text), "pq": pq,
                                          "polysemous": int("polysemous" in keys), **sq})
    if keys - {"sq"} == {"pca", "ivf", "pq"} and tokens[0].startswith("pca") and tokens[1].startswith("ivf"):
        pca, pq = _positive(parsed["pca"], None, text), _positive(parsed["pq"], None, text)
        if pca % pq:
            raise PixseekError(f"index {text!r}: the PCA dimension must be a multiple of the PQ code size")
        return IndexSpec(canon, "ivfpq", {"ivf": _positive(parsed["ivf"], None, text), "pq": pq, "polysemous": 0,
                                          "pca": pca, **sq})
    if keys == {"annoy"}:
        return IndexSpec(canon, "annoy", {"trees": _positive(parsed["annoy"], 100, text)})
    if keys == {"lsh"}:
        bits = _positive(parsed["lsh"], 256, text)
        if bits % 8:
            raise PixseekError(f"index {text!r}: LSH bits must be a multiple of 8")
        return IndexSpec(canon, "lsh", {"bits": bits})
    raise _bad_spec(text)


def _sq_bits(parsed: dict[str, int | None], text: str) -> dict[str, int]:
    """{} without `sq`; {"sq": 8} for `sq8`, the one width of the copy that re-scores candidates (`,sq8`
    must end the string)."""
    if "sq" not in parsed:
        return {}
    if parsed["sq"] != 8 or not text.lower().rstrip(", ").endswith("sq8"):
        raise _bad_spec(text)
    return {"sq": 8}


def _positive(value: int | None, default: int | None, text: str) -> int:
    if value is None:
        if default is None:
            raise _bad_spec(text)
        return default
    if value <= 0:
        raise _bad_spec(text)
    return value


def _bad_spec(text: str) -> PixseekError:
    return PixseekError(f"unknown index {text!r}: use flat, hnsw32, ivf1024,pq32, ivf1024,pq32,polysemous, "
                        "pca256,ivf1024,pq32, pca256,ivf1024,pq32,sq8, annoy100, lsh256 or auto")


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"

