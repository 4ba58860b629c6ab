"""AnnIndex: one library index behind an id map, tombstones, an exact side buffer and re-ranking.

See pixseek/store/ann/__init__.py for the index strings; files.py for how an index is saved.
"""


from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from pixseek.errors import PixseekError
from pixseek.store.ann import files
from pixseek.store.ann.backends import Backend, backend_for
from pixseek.store.ann.files import IndexFileError
from pixseek.store.ann.spec import RERANK_POOL, IndexSpec, parse_spec
from pixseek.store.topk import top_k


class AnnIndex:
    """An ANN index over (id, vector) pairs with tombstones, an exact side buffer and atomic files.

    Build with `AnnIndex.build(spec, vectors, ids)`; search with `search(queries, k, **knobs)` where the
    knobs are those of the family (spec.knobs()): ef (hnsw), nprobe / rerank / ht (ivfpq, and with
    `sq8` refine / min_rows), search_k (annoy), rerank (lsh).
    """

    def __init__(self, spec: IndexSpec, dim: int, backend: Backend | None,
                 ids: np.ndarray, alive: np.ndarray, side_ids: np.ndarray, side_vectors: np.ndarray,
                 side_alive: np.ndarray, meta: dict | None = None) -> None:
        self.spec, self.dim, self.backend = spec, dim, backend
        self.ids, self.alive = ids, alive
        self.side_ids, self.side_vectors, self.side_alive = side_ids, side_vectors, side_alive
        self.meta: dict = dict(meta or {})  # saved in the header, e.g. the row count the index covers
        self._n_dead = int((~alive).sum() + (~side_alive).sum())
        self._identity = bool(np.array_equal(ids, np.arange(len(ids))))  # position i holds id i: no id map needed
        self._max_id = int(max(ids.max(initial=-1), side_ids.max(initial=-1)))
        self._vectors: np.ndarray | Callable[[], np.ndarray] | None = None
        self._gather: Callable[[np.ndarray], np.ndarray] | None = None
        self._defaults = spec.knobs()
        self._order: np.ndarray | None = None  # argsort of ids, for _positions when they are not 0..n-1

    # -- building and updating --------------------------------------------------------------------

    @classmethod
    def build(cls, spec: IndexSpec | str, vectors: np.ndarray, ids: np.ndarray | None = None,
              threads: int = -1) -> AnnIndex:
        """Build from scratch; ids default to 0..n-1. Families that need training and get too few
        vectors keep them all in the exact side buffer until a rebuild with more."""
        spec = parse_spec(spec) if isinstance(spec, str) else spec
        x = _as_matrix(vectors)
        ids = np.arange(len(x), dtype=np.int64) if ids is None else np.asarray(ids, np.int64)
        assert ids.shape == (len(x),), (ids.shape, x.shape)
        empty = np.zeros((0, x.shape[1]), np.float32)
        none = np.zeros(0, np.int64)
        if len(x) < max(1, spec.min_train()):
            return cls(spec, x.shape[1], None, none, np.zeros(0, bool), ids.copy(), x.copy(), np.ones(len(x), bool))
        backend = backend_for(spec).build(spec, x, threads)
        return cls(spec, x.shape[1], backend, ids.copy(), np.ones(len(x), bool), none, empty, np.zeros(0, bool))

    @classmethod
    def build_streamed(cls, spec: IndexSpec | str, dim: int, read: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
                       ids: np.ndarray, chunk: int = 65536, train_max: int = 131072) -> AnnIndex:
        """Build over `ids` without holding them all as float32: `read(ids)` gives (rows, usable mask) a chunk
        at a time; rows it finds unusable (damaged) are left out. Training uses a sample of at most
        `train_max` rows (a million 2,280-d rows are 9 GB as float32)."""
        spec = parse_spec(spec) if isinstance(spec, str) else spec
        ids = np.asarray(ids, np.int64)
        if len(ids) <= chunk or not backend_for(spec).streams:
            rows, ok = read(ids)
            return cls.build(spec, rows[ok], ids[ok])
        rng = np.random.default_rng(0)
        sample = np.sort(rng.choice(ids, min(len(ids), train_max), replace=False))
        rows, ok = read(sample)
        backend = backend_for(spec).trained(spec, dim, rows[ok])
        kept = []
        for start in range(0, len(ids), chunk):
            part = ids[start:start + chunk]
            rows, ok = read(part)
            backend.add(_as_matrix(rows[ok]))
            kept.append(part[ok])
        kept_ids = np.concatenate(kept)
        none = np.zeros(0, np.int64)
        return cls(spec, dim, backend, kept_ids, np.ones(len(kept_ids), bool), none, np.zeros((0, dim), np.float32),
                   np.zeros(0, bool))

    def __len__(self) -> int:
        """Live vectors."""
        return len(self.ids) + len(self.side_ids) - self._n_dead

    @property
    def stale_fraction(self) -> float:
        """Share of entries that are tombstones or sit in the exact side buffer: rebuild when high."""
        total = len(self.ids) + len(self.side_ids)
        return 0.0 if total == 0 else (self._n_dead + len(self.side_ids)) / total

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add new ids (not already present, alive or dead: use revive for those)."""
        ids = np.asarray(ids, np.int64)
        x = _as_matrix(vectors)
        assert x.shape == (len(ids), self.dim), (x.shape, self.dim)
        self._max_id = max(self._max_id, int(ids.max(initial=-1)))
        if self.backend is not None and self.backend.can_add:
            self.backend.add(x)
            self._identity = self._identity and bool(np.array_equal(ids, np.arange(len(self.ids), len(self.ids) + len(ids))))
            self.ids = np.concatenate([self.ids, ids])
            self.alive = np.concatenate([self.alive, np.ones(len(ids), bool)])
        else:
            self.side_ids = np.concatenate([self.side_ids, ids])
            self.side_vectors = np.concatenate([self.side_vectors, x])
            self.side_alive = np.concatenate([self.side_alive, np.ones(len(ids), bool)])

    def remove(self, ids: np.ndarray) -> None:
        """Tombstone these ids; unknown ids are ignored."""
        ids = np.asarray(ids, np.int64)
        for alive, where in ((self.alive, self.ids), (self.side_alive, self.side_ids)):
            alive[np.isin(where, ids)] = False
        self._n_dead = int((~self.alive).sum() + (~self.side_alive).sum())

    def revive(self, ids: np.ndarray) -> np.ndarray:
        """Undo a removal; returns the ids this index no longer holds (the caller must `add` them)."""
        ids = np.asarray(ids, np.int64)
        found = np.zeros(len(ids), bool)
        for alive, where in ((self.alive, self.ids), (self.side_alive, self.side_ids)):
            alive[np.isin(where, ids)] = True
            found |= np.isin(ids, where)
        self._n_dead = int((~self.alive).sum() + (~self.side_alive).sum())
        return ids[~found]

    def live_ids(self) -> np.ndarray:
        return np.concatenate([self.ids[self.alive], self.side_ids[self.side_alive]])

    def attach_vectors(self, matrix: np.ndarray | Callable[[], np.ndarray] | None,
                       gather: Callable[[np.ndarray], np.ndarray] | None = None) -> None:
        """Give the exact vectors (row i = id i; an array or memory map, or a function returning one, for
        stores that grow) so IVF-PQ and LSH candidates are re-ranked on them instead of their codes.
        `gather(ids)`: float32 rows by id, for stores that read scattered rows better than a map does."""
        self._vectors, self._gather = matrix, gather

    # -- searching --------------------------------------------------------------------------------

    def search(self, queries: np.ndarray, k: int, **knobs: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids), each (n_queries, k), best first; missing slots have id -1 and score -inf."""
        return self._search(queries, k, knobs, exact=True)

    def candidates(self, queries: np.ndarray, n: int) -> np.ndarray:
        """(n_queries, n) ids in the index's own order (its codes, or their 8-bit copy), -1 where none: no
        exact rows are read, for a caller that scores the candidates itself."""
        return self._search(queries, n, {}, exact=False)[1]

    def held(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rows, mask): float32 copies of `ids` that the index holds in memory (exact for flat and HNSW,
        decoded from the 8-bit copy of `sq8`, the side buffer's), mask False where it holds none (IVF-PQ
        codes without a copy, Annoy, removed or unknown ids)."""
        ids = np.asarray(ids, np.int64)
        rows = np.zeros((len(ids), self.dim), np.float32)
        mask = np.zeros(len(ids), bool)
        if self.backend is not None and len(self.ids):
            pos = self._positions(ids)
            ok = pos >= 0
            ok[ok] &= self.alive[pos[ok]]
            if ok.any():
                got = self.backend.vectors(pos[ok])
                if got is not None:
                    rows[ok], mask[ok] = got, True
        if len(self.side_ids):
            where = {int(i): j for j, i in enumerate(self.side_ids.tolist()) if self.side_alive[j]}
            for r, i in enumerate(ids.tolist()):
                if not mask[r] and i in where:
                    rows[r], mask[r] = self.side_vectors[where[i]], True
        return rows, mask

    def _positions(self, ids: np.ndarray) -> np.ndarray:
        """Row positions in the backend of `ids`, -1 for ids it does not hold."""
        if self._identity:
            return np.where((ids >= 0) & (ids < len(self.ids)), ids, -1)
        if self._order is None or len(self._order) != len(self.ids):
            self._order = np.argsort(self.ids, kind="stable")
        sorted_ids = self.ids[self._order]
        at = np.minimum(np.searchsorted(sorted_ids, ids), len(sorted_ids) - 1)
        return np.where(sorted_ids[at] == ids, self._order[at], -1)

    def _search(self, queries: np.ndarray, k: int, knobs: dict[str, int], exact: bool) -> tuple[np.ndarray, np.ndarray]:
        q = _as_matrix(queries)
        assert q.shape[1] == self.dim, (q.shape, self.dim)
        if knobs:
            if knobs.keys() - self._defaults.keys():
                raise PixseekError(f"{self.spec.text} has no search option {sorted(knobs.keys() - self._defaults.keys())}; "
                                   f"valid: {sorted(self._defaults) or 'none'}")
            knobs = {**self._defaults, **knobs}
        else:
            knobs = self._defaults
        backend = self.backend
        if backend is not None:
            backend.set_knobs(knobs)
        rerank = knobs.get("rerank", 0) if exact and self.spec.reranks and self._vectors is not None else 0
        want = max(k, min(max(k * rerank, knobs.get("min_rows", 0)), RERANK_POOL)) if rerank else k
        if backend is not None and not self._n_dead and not len(self.side_ids) and want <= len(self.ids):
            scores, ids = backend.search(q, want)  # the common case: one library call, then map ids
            if not self._identity:  # row position i holds id i unless removals preceded the build
                missing = ids < 0
                ids = self.ids[ids]
                ids[missing] = -1
        else:
            scores, ids = self._search_filtered(q, want)
        if rerank:
            return self._rerank(q, ids, k)
        return scores, ids

    def _search_filtered(self, q: np.ndarray, want: int) -> tuple[np.ndarray, np.ndarray]:
        """Search with tombstones and the side buffer, over-fetching to make up for the dead."""
        total = len(self.ids) + len(self.side_ids)
        fetch = want if not self._n_dead else int(want * total / max(1, len(self)) * 1.2) + 5
        for _ in range(5):
            scores, ids = self._search_all(q, fetch)
            if not self._n_dead or fetch >= total or ((ids >= 0).sum(1) >= min(want, len(self))).all():
                break
            fetch *= 2  # too many tombstones among these candidates: ask for more
        return top_k(scores, want, ids)

    def _search_all(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        parts = []
        if self.backend is not None and len(self.ids):
            s, pos = self.backend.search(q, min(k, len(self.ids)))
            ok = pos >= 0
            safe = np.where(ok, pos, 0)
            ok &= self.alive[safe]
            parts.append((np.where(ok, s, -np.inf), np.where(ok, self.ids[safe], -1)))
        if len(self.side_ids):
            s = q @ self.side_vectors.T
            s[:, ~self.side_alive] = -np.inf
            parts.append(top_k(s, k, self.side_ids))
        if not parts:
            return np.full((len(q), k), -np.inf, np.float32), np.full((len(q), k), -1, np.int64)
        if len(parts) == 1:
            return parts[0]
        return np.concatenate([p[0] for p in parts], 1), np.concatenate([p[1] for p in parts], 1)

    def _rerank(self, q: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The top k of each query's candidates by exact inner product on the attached matrix.

        float32 rows are read in place by one faiss call that gathers, scores and keeps a heap (what
        IndexRefineFlat does); candidates must be best first with -1 only at the end, as every search
        path returns them. Other dtypes (float16 stores) are gathered one query at a time."""
        import faiss

        assert self._vectors is not None
        mat = self._vectors() if callable(self._vectors) else self._vectors
        assert mat.shape[1] == self.dim and self._max_id < len(mat), (mat.shape, self._max_id)
        if mat.dtype == np.float32 and mat.flags.c_contiguous:
            n, m = ids.shape
            scores, out = np.empty((n, k), np.float32), np.empty((n, k), np.int64)
            ids = np.ascontiguousarray(ids, np.int64)
            faiss.knn_inner_products_by_idx(faiss.swig_ptr(q), faiss.swig_ptr(mat), faiss.swig_ptr(ids), self.dim,
                                            n, len(mat), m, k, faiss.swig_ptr(scores), faiss.swig_ptr(out), m)
            scores[out < 0] = -np.inf  # faiss marks empty heap slots with -FLT_MAX
            return scores, out
        exact = np.full(ids.shape, -np.inf, np.float32)
        ok = ids >= 0
        wanted, where = np.unique(ids[ok], return_inverse=True)
        rows = self._gather(wanted) if self._gather is not None else np.asarray(mat[wanted], np.float32)
        exact[ok] = (rows @ q.T)[where, np.nonzero(ok)[0]]  # each candidate row read and scored once
        return top_k(exact, k, ids)

    # -- files ------------------------------------------------------------------------------------

    def save(self, path: Path) -> None:
        """Write `path` (a JSON header) and its payload files atomically; old generations are removed."""
        payloads = {}
        if self.backend is not None:
            payloads["index"] = (self.spec.library, self.backend.save)
        payloads["ids"] = ("ids.npz", lambda p: files.save_npz(p, ids=self.ids, alive=self.alive, side_ids=self.side_ids,
                                                               side_vectors=self.side_vectors, side_alive=self.side_alive))
        files.write_index_files(Path(path), self.spec.text, self.dim, self.meta, payloads)

    @classmethod
    def load(cls, path: Path) -> AnnIndex:
        """Open a saved index, checking every payload's size and CRC32; raises IndexFileError."""
        path = Path(path)
        header, parts = files.read_index_files(path)
        try:
            spec, dim = parse_spec(header["spec"]), int(header["dim"])
            with np.load(parts["ids"]) as z:
                arrays = {k: z[k] for k in ("ids", "alive", "side_ids", "side_vectors", "side_alive")}
        except (KeyError, TypeError, ValueError, OSError, PixseekError) as exc:
            raise IndexFileError(f"{path}: unreadable index ({exc})") from exc
        backend = None
        if "index" in parts:
            file = parts["index"]
            try:
                backend = backend_for(spec).load(spec, file, dim)
            except RuntimeError as exc:
                raise IndexFileError(f"{file}: {exc}") from exc
            if len(backend) != len(arrays["ids"]):
                raise IndexFileError(f"{file} holds {len(backend)} vectors but its id map {len(arrays['ids'])}")
        return cls(spec, dim, backend, meta=header.get("meta"), **arrays)


def load_or_build(path: Path, spec: str, vectors: np.ndarray, fingerprint: str, log: Callable[[str], None] | None = None
                  ) -> AnnIndex:
    """An index over a fixed array (e.g. the GloVe vocabulary): loaded once if its file matches spec and
    fingerprint, else built and saved. Corrupt files are reported through `log` and rebuilt."""
    try:
        index = AnnIndex.load(path)
        if index.spec.text == parse_spec(spec).text and index.meta.get("fingerprint") == fingerprint:
            return index
        reason = "it was built for other vectors or another index type"
    except IndexFileError as exc:
        reason = str(exc)
    if log:
        log(f"building {spec} index at {path}: {reason}")
    index = AnnIndex.build(spec, vectors)
    index.meta["fingerprint"] = fingerprint
    index.save(path)
    return index


# ---------------------------------------------------------------------------------------------------


def _as_matrix(x: np.ndarray) -> np.ndarray:
    if type(x) is np.ndarray and x.dtype == np.float32 and x.ndim == 2 and x.flags.c_contiguous:
        return x  # the usual query: no conversion or copy
    x = np.asarray(x, np.float32)
    if x.ndim == 1:
        x = x[None]
    return np.ascontiguousarray(x)
