"""pixseek index strings as Milvus index types: build parameters and search parameters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pixseek.errors import PixseekError
from pixseek.store.ann import DEFAULT_KNOBS, parse_spec


@dataclass(frozen=True)
class MilvusIndex:
    """A pixseek index string mapped to a Milvus index type, build parameters and search parameters."""

    text: str
    index_type: str
    build: dict[str, int] = field(default_factory=dict)
    search: dict[str, int] = field(default_factory=dict)

    def search_params(self, k: int) -> dict[str, Any]:
        params = dict(self.search)
        if "ef" in params:
            params["ef"] = max(params["ef"], k)  # Milvus refuses ef < k
        return {"metric_type": "IP", "params": params}


def milvus_index(text: str = "exact", dim: int | None = None, lite: bool = False, **knobs: int) -> MilvusIndex:
    """'exact'/'flat' -> FLAT, 'hnswM' -> HNSW(M), 'ivfN,pqM' -> IVF_PQ(nlist=N, m=M); knobs: ef, nprobe.

    Milvus Lite 3.2 has no IVF_PQ (it accepts the index, logs a failed build and searches exactly), so
    it is refused there rather than silently ignored.
    """
    if text in ("exact", "flat"):
        return MilvusIndex("exact", "FLAT")
    spec = parse_spec(text)
    if spec.kind == "hnsw":
        m = spec.params["m"]
        ef = knobs.get("ef", DEFAULT_KNOBS["hnsw"]["ef"])
        return MilvusIndex(spec.text, "HNSW", {"M": m, "efConstruction": max(200, 4 * m)}, {"ef": ef})
    if spec.kind == "ivfpq":
        if spec.params.get("pca") or spec.params.get("sq"):
            raise PixseekError(f"index {text!r}: Milvus's IVF_PQ has no PCA step or 8-bit copy; use ivfN,pqM there")
        if lite:
            raise PixseekError(f"Milvus Lite has no IVF_PQ index ({text}): use hnswM or exact there, "
                               "or a Milvus cluster for IVF_PQ")
        nlist, m = spec.params["ivf"], spec.params["pq"]
        if dim is not None and dim % m:
            raise PixseekError(f"IVF_PQ needs the dimension ({dim}) to be a multiple of pq ({m})")
        nprobe = knobs.get("nprobe", DEFAULT_KNOBS["ivfpq"]["nprobe"])
        return MilvusIndex(spec.text, "IVF_PQ", {"nlist": nlist, "m": m, "nbits": 8}, {"nprobe": nprobe})
    raise PixseekError(f"index {text!r} has no Milvus equivalent: use exact, flat, hnswM or ivfN,pqM")


