"""The Milvus store, run against Milvus Lite: an embedded gRPC server started from a temp file, reached
through the same client calls as a Milvus cluster. Same top-k as the local store on real photos,
upserts that never double a vector, tombstones, metadata filters, and the CLI through a URI."""

from __future__ import annotations

import os
import shutil
import time

import numpy as np
import pytest
from conftest import CLASSES, cli_json, copy_tiny, requires_data

pytest.importorskip("pymilvus", reason="pymilvus is not installed (pip install 'pixseek[milvus]')")
pytest.importorskip("milvus_lite", reason="milvus-lite is not installed (pip install 'pixseek[milvus]')")

from pixseek import Collection  # noqa: E402
from pixseek.errors import PixseekError  # noqa: E402
from pixseek.store.milvus import MetaFilter, MilvusVectorStore, milvus_index, parse_db  # noqa: E402
from pixseek.store.milvus.client import milvus_client  # noqa: E402


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    copy_tiny(folder, per_class=40)  # 200 real photos, 5 classes
    return folder


@pytest.fixture(scope="module")
def pair(photos, tmp_path_factory):
    """The same photos indexed into the local store and into Milvus Lite (exact index on both)."""
    base = tmp_path_factory.mktemp("dbs")
    local = Collection.open(base / "local")
    local.index([photos], progress=False, workers=0)
    milvus = Collection.open(f"milvus-lite://{base}/m.db")
    milvus.index([photos], progress=False, workers=0)
    yield local, milvus
    local.close()
    milvus.close()


@requires_data
def test_same_top_k_as_local_store(pair, photos):
    local, milvus = pair
    assert milvus.status()["images"] == local.status()["images"] == 200
    queries = sorted(photos.rglob("*.JPEG"))[::17]
    for q in queries:
        a, b = local.similar(q, k=10), milvus.similar(q, k=10)
        assert [h.path for h in a] == [h.path for h in b], q
        assert np.allclose([h.score for h in a], [h.score for h in b], atol=1e-5)
        assert [t.tag for t in local.tag(q, k=5)] == [t.tag for t in milvus.tag(q, k=5)]
    for words in [*CLASSES.values(), "fish -cat", "car orange"]:
        assert [h.path for h in local.search(words, k=10)] == [h.path for h in milvus.search(words, k=10)], words


@requires_data
def test_vectors_match_local_bit_for_bit(pair):
    local, milvus = pair
    ids = np.array(local.catalog.live_ids())
    assert np.array_equal(local.visual.get(ids), milvus.visual.get(ids))
    assert np.array_equal(local.probs.get(ids), milvus.probs.get(ids))


@requires_data
def test_metadata_filters_are_pushed_down(pair, photos):
    _, milvus = pair
    store: MilvusVectorStore = milvus.visual
    q = store.get(np.array([0]))
    wnid = next(iter(CLASSES))
    _, ids = store.search(q, 50, filter=MetaFilter(folder=str(photos / wnid)))
    paths = milvus.catalog.paths_of([int(i) for i in ids[0] if i >= 0])
    assert len(paths) == 40 and all(f"/{wnid}/" in p for p in paths.values())
    sizes = {int(i): os.path.getsize(p) for i, p in milvus.catalog.paths_of(list(range(200))).items()}
    cut = sorted(sizes.values())[100]
    _, ids = store.search(q, 200, filter=MetaFilter(min_bytes=cut))
    got = {int(i) for i in ids[0] if i >= 0}
    assert got == {i for i, s in sizes.items() if s >= cut}
    _, ids = store.search(q, 10, filter=MetaFilter(modified_after=time.time() + 3600))
    assert (ids == -1).all()


def test_upsert_never_doubles_and_uncommitted_rows_are_dropped(tmp_path):
    target = parse_db(f"milvus-lite://{tmp_path}/s.db")
    client = milvus_client(target)
    rng = np.random.default_rng(0)
    vecs = rng.standard_normal((30, 16)).astype(np.float32)
    store = MilvusVectorStore(client, "s_visual", 16, milvus_index("exact"), 0, [], writer=True)
    store.add(np.arange(20), vecs[:20], meta=[("/a/b/x.jpg", 0, 1)] * 20)
    store.add(np.arange(20, 30), vecs[20:])  # a batch whose catalog commit never happens (a crash)
    store.add(np.arange(20, 30), vecs[20:])  # ... and the retry upserts the same ids again
    assert store._count() == 30
    # reopened as a reader with 20 committed rows: the extra rows stay (an indexer may commit them) but are never returned
    reader = MilvusVectorStore(client, "s_visual", 16, milvus_index("exact"), 20, list(range(20)))
    _, ids = reader.search(vecs[25], 30)
    assert set(ids[0][ids[0] >= 0]) == set(range(20))
    # reopened under the index lock: the uncommitted rows are deleted, as the local store truncates its file
    writer = MilvusVectorStore(client, "s_visual", 16, milvus_index("exact"), 20, list(range(20)), writer=True)
    assert writer._count() == 20
    writer.remove(np.array([3, 4]))
    _, ids = writer.search(vecs[3], 20)
    assert 3 not in ids[0] and 4 not in ids[0] and (ids[0] == -1).sum() == 2
    writer.revive(np.array([3]))
    assert writer.search(vecs[3], 1)[1][0, 0] == 3
    # the catalog says 4 is live again but Milvus missed it (a crash after commit): repaired on open
    again = MilvusVectorStore(client, "s_visual", 16, milvus_index("exact"), 20, list(range(20)), writer=True)
    assert again._count("live == true") == 20
    with pytest.raises(PixseekError, match="holds 20 vectors but the catalog expects 25"):
        MilvusVectorStore(client, "s_visual", 16, milvus_index("exact"), 25, list(range(25)))


@requires_data
def test_removed_and_restored_files(photos, tmp_path):
    folder = tmp_path / "p"
    shutil.copytree(photos / next(iter(CLASSES)), folder)
    col = Collection.open(f"milvus-lite://{tmp_path}/r.db")
    col.index([folder], progress=False, workers=0)
    victim = sorted(folder.iterdir())[0]
    kept = victim.read_bytes()
    victim.unlink()
    assert col.index([folder], progress=False, workers=0).removed == 1
    hits = col.similar(sorted(folder.iterdir())[0], k=100, min_score=0)  # every photo: no cut-off
    assert len(hits) == 38 and str(victim) not in {h.path for h in hits}
    victim.write_bytes(kept)
    r = col.index([folder], progress=False, workers=0)
    assert r.indexed == 1 and r.duplicates == 1  # revived from the kept row, not re-embedded
    assert str(victim) in {h.path for h in col.similar(sorted(folder.iterdir())[1], k=100, min_score=0)}


def test_index_strings_map_to_milvus():
    assert milvus_index().index_type == "FLAT"
    h = milvus_index("hnsw16", ef=80)
    assert (h.index_type, h.build["M"], h.search_params(10)["params"]["ef"]) == ("HNSW", 16, 80)
    assert h.search_params(200)["params"]["ef"] == 200
    pq = milvus_index("ivf1024,pq8", dim=2280)
    assert (pq.index_type, pq.build["nlist"], pq.build["m"]) == ("IVF_PQ", 1024, 8)
    with pytest.raises(PixseekError, match="Milvus Lite has no IVF_PQ"):
        milvus_index("ivf1024,pq8", dim=2280, lite=True)
    with pytest.raises(PixseekError, match="no Milvus equivalent"):
        milvus_index("annoy50")
    t = parse_db("milvus://db.example:19531/My-Photos?index=hnsw32&ef=96")
    assert (t.address, t.name, t.index, t.knobs, t.lite) == ("db.example:19531", "My_Photos", "hnsw32", {"ef": 96}, False)
    assert t.catalog.name == "db.example_19531_My_Photos"
    assert parse_db("milvus-lite://rel/x.db").address == os.path.abspath("rel/x.db")
    with pytest.raises(PixseekError, match="unknown option"):
        parse_db("milvus://h/n?indx=flat")


@requires_data
def test_cli_through_a_milvus_lite_uri(photos, tmp_path):
    db = f"milvus-lite://{tmp_path}/cli.db?index=hnsw16"
    folder = tmp_path / "p"
    copy_tiny(folder, per_class=4)
    r = cli_json("index", str(folder), "--no-progress", "--workers", "0", "--db", db)
    assert r["indexed"] == 20
    hits = cli_json("search", "goldfish", "-k", "3", "--db", db)["results"]
    assert len(hits) == 3 and all("/n01443537/" in h["path"] for h in hits)
    similar = cli_json("similar", hits[0]["path"], "-k", "3", "--db", db)
    assert "/n01443537/" in similar[0]["path"]
    assert cli_json("tag", hits[0]["path"], "-k", "2", "--db", db)[0]["tag"]
    assert (tmp_path / "cli.db-catalog" / "catalog.sqlite").is_file()


@requires_data
def test_collection_filters_are_pushed_down_to_milvus(pair, photos):
    """Folder and file type through Collection.search/similar: Milvus is asked for k hits and filters them
    itself (a top k filtered afterwards would come back short), the same photos as the local store."""
    local, milvus = pair
    wnids = sorted(CLASSES)
    folder = photos / wnids[1]
    for kwargs in ({"under": folder}, {"under": folder, "type": "jpg"}, {"type": "jpeg", "after": "2000-01-01"}):
        a = local.search(CLASSES[wnids[0]], k=5, min_score=0, **kwargs)
        b = milvus.search(CLASSES[wnids[0]], k=5, min_score=0, **kwargs)
        assert len(b) == 5 and [h.path for h in a] == [h.path for h in b], kwargs
        if "under" in kwargs:
            assert all(h.path.startswith(f"{folder}/") for h in b)
    query = sorted((photos / wnids[0]).glob("*.JPEG"))[0]
    assert [h.path for h in milvus.similar(query, k=5, under=folder, min_score=0)] == \
        [h.path for h in local.similar(query, k=5, under=folder, min_score=0)]
    assert milvus.search("fish", type="png", min_score=0) == []
