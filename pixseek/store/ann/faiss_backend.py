"""FAISS behind an AnnIndex: flat, HNSW, IVF-PQ and LSH over row positions 0..n-1."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from pixseek.config import map_index_codes
from pixseek.store.ann.spec import IndexSpec


class FaissBackend:
    """flat, hnsw, ivfpq and lsh through one faiss index; knobs are set only when they change."""

    can_add = True

    def __init__(self, spec: IndexSpec, index, mapped: bool = False) -> None:
        self._use(spec, index, mapped)

    def _use(self, spec: IndexSpec, index, mapped: bool) -> None:
        import faiss

        self.spec, self.index, self.mapped = spec, index, mapped
        self._ivf = faiss.extract_index_ivf(index) if spec.kind == "ivfpq" else None
        self._hnsw = faiss.downcast_index(index).hnsw if spec.kind == "hnsw" else None
        self._refine = _refine_stage(index) if spec.params.get("sq") else None
        self._knobs: dict[str, int] = {}
        self._search_c, self._ptr = index.search_c, faiss.swig_ptr

    streams = True  # trained on a sample, then filled chunk by chunk (AnnIndex.build_streamed)

    @classmethod
    def build(cls, spec: IndexSpec, x: np.ndarray, threads: int = -1) -> FaissBackend:
        """threads is Annoy's; faiss builds with its own OpenMP pool."""
        train = x if len(x) <= 256 * 1024 else x[np.random.default_rng(0).choice(len(x), 256 * 1024, replace=False)]
        backend = cls.trained(spec, x.shape[1], train)
        backend.add(x)
        return backend

    @classmethod
    def trained(cls, spec: IndexSpec, d: int, train: np.ndarray) -> FaissBackend:
        """An empty index, trained on `train` where the family needs it (IVF lists are sized for it)."""
        import faiss

        p = spec.params
        if spec.kind == "flat":
            index = faiss.IndexFlatIP(d)
        elif spec.kind == "hnsw":
            index = faiss.IndexHNSWFlat(d, p["m"], faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = 80
        elif spec.kind == "lsh":
            index = faiss.IndexLSH(d, p["bits"], True, False)  # rotate, hyperplanes through the origin
        elif p.get("pca"):
            nlist = min(p["ivf"], max(1, len(train) // 39))
            ivfpq = faiss.index_factory(p["pca"], f"IVF{nlist},PQ{p['pq']}np", faiss.METRIC_INNER_PRODUCT)
            _quiet_clustering(faiss.downcast_index(ivfpq))
            index = faiss.IndexPreTransform(faiss.PCAMatrix(d, p["pca"]), _with_copy(ivfpq, p))
        else:
            nlist = min(p["ivf"], max(1, len(train) // 39))  # faiss wants ~39 training points per list
            d2 = math.ceil(d / p["pq"]) * p["pq"]  # PQ needs dim % m == 0: pad with zeros (IP unchanged)
            # "np": faiss's factory otherwise trains polysemous codes for every IVF-PQ (about 20 s even for
            # 5,000 vectors), which only the `polysemous` family uses
            inner = faiss.index_factory(d2, f"IVF{nlist},PQ{p['pq']}np", faiss.METRIC_INNER_PRODUCT)
            if spec.polysemous:
                ivfpq = faiss.downcast_index(inner)
                ivfpq.do_polysemous_training = True
                pt = faiss.PolysemousTraining()
                pt.n_iter, pt.n_redo = 20000, 1  # the default (500k x 2) takes minutes for little gain
                ivfpq.polysemous_training = pt
            _quiet_clustering(faiss.downcast_index(inner))
            inner = _with_copy(inner, p)
            index = inner if d2 == d else faiss.IndexPreTransform(faiss.RemapDimensionsTransform(d, d2, False), inner)
        if not index.is_trained:
            index.train(np.ascontiguousarray(train, np.float32))
        if isinstance(index, faiss.IndexPreTransform) or p.get("sq"):
            index = _owned(index)  # one object owning its parts
        return cls(spec, index)

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def add(self, x: np.ndarray) -> None:
        if self.mapped:  # faiss aborts the process on adding to codes it maps: take an owned copy first
            self._use(self.spec, _owned(self.index), False)
        self.index.add(x)

    def set_knobs(self, knobs: dict[str, int]) -> None:
        if knobs == self._knobs:
            return
        if self._hnsw is not None and knobs["ef"] != self._knobs.get("ef"):
            self._hnsw.efSearch = knobs["ef"]
        if self._ivf is not None:
            if knobs["nprobe"] != self._knobs.get("nprobe"):
                nlist = self._ivf.nlist
                self._ivf.nprobe = knobs["nprobe"] or min(nlist, max(32, nlist // 16))
            if self._refine is not None and knobs["refine"] != self._knobs.get("refine"):
                self._refine.k_factor = float(max(1, knobs["refine"]))
            if self.spec.polysemous and knobs["ht"] != self._knobs.get("ht"):
                import faiss

                faiss.downcast_index(self._ivf).polysemous_ht = knobs["ht"] or 8 * self.spec.params["pq"]
        self._knobs = dict(knobs)

    def search(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        # faiss's C entry point: the Python wrapper's re-checks and copies cost ~4 us a call, which is
        # 10-15% of a 30 us HNSW query; `q` is already float32, C-contiguous and of the right width.
        n = len(q)
        scores, pos = np.empty((n, k), np.float32), np.empty((n, k), np.int64)
        ptr = self._ptr
        self._search_c(n, ptr(q), k, ptr(scores), ptr(pos))
        if self.spec.kind == "lsh":
            np.negative(scores, out=scores)  # LSH gives Hamming distances
        return scores, pos

    def vectors(self, positions: np.ndarray) -> np.ndarray | None:
        """Flat and HNSW hold the vectors; `sq8` decodes its 8-bit copy (through the PCA's inverse, so the
        rows live in the input space); IVF-PQ codes alone and LSH hashes give none."""
        if self.spec.kind not in ("flat", "hnsw") and self._refine is None:
            return None
        return self.index.reconstruct_batch(np.ascontiguousarray(positions, np.int64))

    def save(self, path: Path) -> None:
        """Serialized in memory and written by Python, so a full disk is an OSError with its errno (faiss's
        own writer raises a RuntimeError carrying a C++ message) and the caller's clean-up applies."""
        import faiss

        data = faiss.serialize_index(self.index)
        with open(path, "wb") as f:
            f.write(memoryview(data))

    @classmethod
    def load(cls, spec: IndexSpec, path: Path, dim: int) -> FaissBackend:
        """dim is Annoy's; a faiss file records its own. Flat codes (flat, HNSW's vectors, the 8-bit copy)
        are memory-mapped, not read, where config.map_index_codes() says so: opening a million photos'
        indexes then takes milliseconds instead of 1.5 s, and only the pages searches touch are read."""
        import faiss

        mapped = map_index_codes()
        return cls(spec, faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC if mapped else 0), mapped)


def _owned(index):
    """A copy of `index` that owns all its parts in memory (none borrowed from Python objects or mapped)."""
    import faiss

    return faiss.deserialize_index(faiss.serialize_index(index))


def _with_copy(ivfpq, params: dict[str, int]):
    """`ivfpq` as it is, or (`sq8`) inside an IndexRefine whose 8-bit copy of the same vectors re-scores
    refine x k of the codes' best candidates, in memory, before the owner reads exact rows."""
    import faiss

    if not params.get("sq"):
        return ivfpq
    d = ivfpq.d
    return faiss.IndexRefine(ivfpq, faiss.IndexScalarQuantizer(d, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT))


def _refine_stage(index):
    """The IndexRefine of an `sq8` index (under its PCA or padding transform)."""
    import faiss

    index = faiss.downcast_index(index)
    if isinstance(index, faiss.IndexPreTransform):
        index = faiss.downcast_index(index.index)
    assert isinstance(index, faiss.IndexRefine), type(index)
    return index


def _quiet_clustering(ivfpq) -> None:
    """faiss prints "WARNING clustering N points to K centroids" whenever it gets fewer than
    min_points_per_centroid (39) points per centroid: once per PQ sub-quantizer (32 lines for pq32) when a
    collection has under 10k vectors. Training is the same with fewer points (only the line depends on
    this threshold), and the coarse lists are already sized for 39 points each, so lower it to 1."""
    ivfpq.cp.min_points_per_centroid = 1
    ivfpq.pq.cp.min_points_per_centroid = 1
