"""A VectorStore kept in Milvus (a cluster, or Milvus Lite in a local file) instead of local vector files.

One Milvus collection holds one kind of vector (`<name>_visual`, `<name>_probs`), keyed by the pixseek
content id as int64 primary key, with scalar fields for what filters need: `live` (the tombstone flag,
so removal and revival are one partial upsert and never move a vector), `folder`, `folders` (every
ancestor folder, so "under this folder" is an exact `array_contains` rather than a LIKE pattern that
`_` and `%` in real folder names would break), `mtime` (seconds) and `size` (bytes).

The SQLite catalog stays the source of truth, as for the local store: `add` is an upsert, so a crash
between the Milvus write and the catalog commit leaves a row that the next run overwrites with the
same id (never a second copy), and rows past the committed count are deleted when the store opens.
Vectors are rounded to float16 before they are sent, so `get` and the scores match the local store,
which keeps float16 files, bit for bit (Milvus keeps them as FLOAT_VECTOR, float32).

Lite and a cluster go through the same code: for Milvus Lite the embedded gRPC server is started
first (`milvus_lite.server_manager`) and the client then connects to its `http://127.0.0.1:PORT`
address exactly as it would to a cluster's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pixseek.errors import PixseekError
from pixseek.store.allowed import Allowed
from pixseek.store.milvus.filters import MAX_FOLDER_DEPTH, MetaFilter, ancestors
from pixseek.store.milvus.index import MilvusIndex
from pixseek.store.topk import top_k
from pixseek.store.vectors import ExactScoring, FileMeta

ROWS_PER_WRITE = 512  # ~4.7 MB of 2280-d float32 per request, well under gRPC's message limit
IDS_PER_READ = 1024
QUERIES_PER_SEARCH = 256


class MilvusVectorStore(ExactScoring):
    """The VectorStore protocol over one Milvus collection; `search` also takes a `MetaFilter`."""

    def __init__(self, client: Any, collection: str, dim: int, index: MilvusIndex, committed_rows: int = 0,
                 live_ids: list[int] | None = None, round_to: str | None = "float16", writer: bool = False) -> None:
        """`writer=True` only under the collection's index lock: it deletes rows an interrupted run wrote but
        never committed and repairs live flags; readers never write and never look past the committed count."""
        self.client, self.name, self.dim, self.index = client, collection, dim, index
        self.round_to = np.dtype(round_to) if round_to else None
        self.rows = committed_rows
        self.live = np.zeros(committed_rows, bool)
        if live_ids is not None and len(live_ids):
            self.live[np.asarray(live_ids, np.int64)] = True
        try:
            self._ensure_collection(writer)
            self._reconcile(writer)
        except PixseekError:
            raise
        except Exception as exc:  # pymilvus.MilvusException, grpc errors
            raise PixseekError(f"Milvus collection {collection}: {exc}") from exc

    # opening -------------------------------------------------------------------------------------
    def _ensure_collection(self, writer: bool) -> None:
        from pymilvus import DataType, MilvusClient

        c = self.client
        if not c.has_collection(self.name):
            if not writer:
                raise PixseekError(f"Milvus collection {self.name} does not exist: run `pixseek index` first")
            s = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
            s.add_field("id", DataType.INT64, is_primary=True)
            s.add_field("vector", DataType.FLOAT_VECTOR, dim=self.dim)
            s.add_field("live", DataType.BOOL)
            s.add_field("folder", DataType.VARCHAR, max_length=4096)
            s.add_field("folders", DataType.ARRAY, element_type=DataType.VARCHAR, max_capacity=MAX_FOLDER_DEPTH,
                        max_length=4096)
            s.add_field("mtime", DataType.INT64)
            s.add_field("size", DataType.INT64)
            c.create_collection(self.name, schema=s, index_params=self._index_params())
            return
        fields = {f["name"]: f for f in c.describe_collection(self.name)["fields"]}
        have_dim = int(fields.get("vector", {}).get("params", {}).get("dim", -1))
        if have_dim != self.dim:
            raise PixseekError(f"Milvus collection {self.name} holds {have_dim}-d vectors, not {self.dim}-d: "
                               "it belongs to another collection or encoder")
        info = c.describe_index(self.name, "vector") or {}
        same = {self.index.index_type} | ({"BRUTE_FORCE"} if self.index.index_type == "FLAT" else set())
        if writer and str(info.get("index_type", "")).upper() not in same:
            # The index string changed: rebuild the Milvus index, the vectors stay.
            c.release_collection(self.name)
            c.drop_index(self.name, "vector")
            c.create_index(self.name, self._index_params())
        c.load_collection(self.name)

    def _index_params(self):
        ip = self.client.prepare_index_params()
        ip.add_index(field_name="vector", index_type=self.index.index_type, metric_type="IP", params=self.index.build)
        return ip

    def _count(self, expr: str = "") -> int:
        res = self.client.query(self.name, filter=expr, output_fields=["count(*)"])
        return int(res[0]["count(*)"])

    def _reconcile(self, writer: bool) -> None:
        """Make Milvus agree with the committed catalog, as the local store truncates uncommitted rows."""
        if writer and self._count(f"id >= {self.rows}"):
            self.client.delete(self.name, filter=f"id >= {self.rows}")  # written by a run that never committed
        have = self._count(f"id < {self.rows}")
        if have != self.rows:
            raise PixseekError(f"Milvus collection {self.name} holds {have} vectors but the catalog expects "
                               f"{self.rows}: it was changed outside pixseek or belongs to another catalog")
        if not writer or self._count(f"live == true and id < {self.rows}") == int(self.live.sum()):
            return
        milvus_live = np.zeros(self.rows, bool)
        it = self.client.query_iterator(self.name, batch_size=16384, filter=f"live == true and id < {self.rows}",
                                        output_fields=["id"])
        try:
            while batch := it.next():
                milvus_live[[r["id"] for r in batch]] = True
        finally:
            it.close()
        self._set_live(np.flatnonzero(self.live & ~milvus_live), True)
        self._set_live(np.flatnonzero(~self.live & milvus_live), False)

    # the VectorStore protocol ---------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.live.sum())

    def add(self, ids: np.ndarray, vectors: np.ndarray, meta: list[FileMeta] | None = None) -> None:
        """Upsert rows; meta = (path, mtime_ns, size) per row for the filter fields."""
        ids = np.asarray(ids, np.int64)
        assert vectors.shape == (len(ids), self.dim), (vectors.shape, self.dim)
        vecs = np.asarray(vectors, self.round_to).astype(np.float32) if self.round_to else np.asarray(vectors, np.float32)
        rows = []
        for n, cid in enumerate(ids.tolist()):
            path, mtime_ns, size = meta[n] if meta else ("", 0, 0)
            folder, folders = ancestors(path) if path else ("", [])
            rows.append({"id": cid, "vector": vecs[n], "live": True, "folder": folder, "folders": folders,
                         "mtime": int(mtime_ns) // 10**9, "size": int(size)})
        for start in range(0, len(rows), ROWS_PER_WRITE):
            self.client.upsert(self.name, rows[start : start + ROWS_PER_WRITE])
        if len(ids):
            top = int(ids.max()) + 1
            if top > self.rows:
                self.live = np.concatenate([self.live, np.zeros(top - self.rows, bool)])
                self.rows = top
            self.live[ids] = True

    def save(self) -> None:
        """Seal what an index run wrote: searches over growing (unsealed) segments are brute force and slow."""
        flush = getattr(self.client, "flush", None)
        if flush is not None:
            flush(self.name)

    def remove(self, ids: np.ndarray) -> None:
        self._set_live(np.asarray(ids, np.int64), False)

    def revive(self, ids: np.ndarray) -> None:
        self._set_live(np.asarray(ids, np.int64), True)

    def _set_live(self, ids: np.ndarray, live: bool) -> None:
        if len(ids) == 0:
            return
        for start in range(0, len(ids), IDS_PER_READ):
            part = ids[start : start + IDS_PER_READ].tolist()
            self.client.upsert(self.name, [{"id": i, "live": live} for i in part], partial_update=True)
        self.live[ids] = live

    def get(self, ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(ids, np.int64)
        out = np.zeros((len(ids), self.dim), np.float32)
        where = {int(i): n for n, i in enumerate(ids.tolist())}
        for start in range(0, len(ids), IDS_PER_READ):
            for row in self.client.get(self.name, ids=ids[start : start + IDS_PER_READ].tolist(), output_fields=["vector"]):
                out[where[int(row["id"])]] = row["vector"]
        return out

    def search(self, queries: np.ndarray, k: int, filter: MetaFilter | str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids), each (n_queries, k), best first; missing slots have id -1 and score -inf."""
        queries = np.atleast_2d(np.asarray(queries, np.float32))
        assert queries.shape[1] == self.dim, (queries.shape, self.dim)
        expr = filter.expr() if isinstance(filter, MetaFilter) else (filter or "")
        expr = "live == true" + (f" and ({expr})" if expr else "")
        scores = np.full((len(queries), k), -np.inf, np.float32)
        ids = np.full((len(queries), k), -1, np.int64)
        for start in range(0, len(queries), QUERIES_PER_SEARCH):
            block = queries[start : start + QUERIES_PER_SEARCH]
            res = self.client.search(self.name, data=list(block), limit=k, filter=expr, output_fields=["id"],
                                     search_params=self.index.search_params(k))
            for n, hits in enumerate(res):
                # the catalog's live mask has the last word (a crash may leave Milvus one step behind)
                kept = [(h["id"], h["distance"]) for h in hits if h["id"] < self.rows and self.live[h["id"]]]
                for j, (i, s) in enumerate(sorted(kept, key=lambda t: (-t[1], t[0]))):
                    ids[start + n, j], scores[start + n, j] = i, s
        return scores, ids

    def search_within(self, queries: np.ndarray, k: int, allow: Allowed) -> tuple[np.ndarray, np.ndarray]:
        """Filtered server side: the folder as Milvus's own field, any other condition as the ids it leaves;
        the catalog's mask has the last word, as it has for tombstones."""
        pushed = MetaFilter(folder=allow.folder) if allow.folder else MetaFilter(ids=tuple(allow.ids.tolist()))
        scores, ids = self.search(queries, k, filter=pushed)
        ok = allow.keep(ids)
        return top_k(np.where(ok, scores, -np.inf), k, np.where(ok, ids, -1))

    def describe(self) -> str:
        return f"Milvus collection {self.name}, index {self.index.index_type} {self.index.build or ''}".strip()
