"""Taught concepts and relevance feedback on real photos: a name taught from three examples finds the rest of
its photos, is a tag, survives a restart and a kill -9 while teaching, and --forget removes it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from pixseek import Collection
from pixseek.errors import PixseekError
from tests.conftest import CLASSES, TINY_VAL, cli_json, copy_tiny, requires_data, run_cli

pytestmark = requires_data

GOLDFISH, TABBY = "n01443537", "n02123045"


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("teach") / "photos"
    others = [d.name for d in sorted(TINY_VAL.iterdir()) if d.name not in CLASSES][::13]  # 16 more classes
    copy_tiny(folder, per_class=10, classes=[*CLASSES, *others])
    return folder


@pytest.fixture
def col(photos, tmp_path):
    c = Collection.open(tmp_path / "db")
    c.index([photos], progress=False)
    yield c
    c.close()


def _of(photos, wnid):
    return sorted(str(p) for p in (photos / wnid).glob("*.JPEG"))


def test_a_taught_name_finds_its_photos_tags_them_and_survives_a_restart(col, photos):
    fish = _of(photos, GOLDFISH)
    out = col.teach("zorblax", fish[:3])
    assert out["name"] == "zorblax" and out["examples"] == 3 and out["matches"] >= 3
    hits = col.search("zorblax", k=10, min_score=0)
    top = [h.path for h in hits if h.path not in fish[:3]][:7]
    assert sum(p in fish for p in top) >= 6, top
    assert hits[0].tags and "zorblax" in hits[0].tags
    def tagged(paths):  # photos whose tag list names the concept (shown only where it is confident)
        return [p for p in paths if "zorblax" in [t.tag for t in col.tag(p, k=5)]]

    assert len(tagged(fish[3:])) >= 3, tagged(fish[3:])
    assert not tagged(_of(photos, TABBY))
    again = Collection.open(col.folder)  # another process's view: what was stored, not what this one holds
    try:
        assert again.concepts() == [{"name": "zorblax", "examples": 3, "counter_examples": 0,
                                     "matches": out["matches"]}]
        assert [h.path for h in again.search("Zorblax", k=10, min_score=0)] == [h.path for h in hits]
    finally:
        again.close()


def test_a_taught_word_combines_with_other_words_filters_and_negatives(col, photos):
    fish, cats = _of(photos, GOLDFISH), _of(photos, TABBY)
    col.teach("zorblax", fish[:3])
    mixed = col.search("zorblax cat", k=20, min_score=0)
    assert {h.path for h in mixed[:3]} & set(fish) or {h.path for h in mixed[:3]} & set(cats)
    only = col.search("zorblax", k=5, under=str(photos / TABBY), min_score=0)
    assert only and all(h.path in cats for h in only)
    pushed = col.search("cat -zorblax", k=10, min_score=0)
    assert not {h.path for h in pushed} & set(fish)


def test_counter_examples_and_forget(col, photos):
    fish, cats = _of(photos, GOLDFISH), _of(photos, TABBY)
    col.teach("zorblax", fish[:3])
    out = col.teach("ZORBLAX", [], not_photos=cats[:2])
    assert out == {"name": "zorblax", "examples": 3, "counter_examples": 2, "matches": out["matches"]}
    col.forget("zorblax")
    assert col.concepts() == []
    with pytest.raises(PixseekError, match="zorblax"):
        col.search("zorblax")
    with pytest.raises(PixseekError, match="no taught concept"):
        col.forget("zorblax")


@pytest.mark.parametrize("name", ["", "-dog", "2:dog", 'a"b', "x" * 80, "text:sign"])
def test_names_a_query_cannot_hold_are_refused(col, photos, name):
    with pytest.raises(PixseekError, match="concept name"):
        col.teach(name, _of(photos, GOLDFISH)[:1])


def test_more_like_this_ranks_the_collection_from_the_marked_photos(col, photos):
    fish, cats = _of(photos, GOLDFISH), _of(photos, TABBY)
    hits = col.search("", k=6, like=fish[:2], min_score=0)
    assert not {h.path for h in hits} & set(fish[:2])
    assert sum(h.path in fish for h in hits) >= 5
    # "not this" alone: the query's best other photos stand for what is wanted
    before = col.search("cat", k=10, min_score=0)
    shown = before[0].path
    after = col.search("cat", k=10, min_score=0, unlike=[shown])
    assert shown not in {h.path for h in after} and sum(h.path in cats for h in after[:5]) >= 4


def test_teach_from_the_cli_and_kill_9_while_teaching_keeps_a_whole_concept(photos, tmp_path):
    db = tmp_path / "db"
    run_cli("index", str(photos), db=db)
    fish = _of(photos, GOLDFISH)
    for delay in (0.3, 0.6, 0.9, 1.2, 1.6):
        proc = subprocess.Popen([sys.executable, "-m", "pixseek", "teach", "zorblax", *fish[:3], "--db", str(db)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        listed = cli_json("concepts", db=db)
        assert listed == [] or [c["examples"] for c in listed] in ([3], [6], [9], [12], [15]), listed
    if listed:  # on a busy machine every kill may come before the first concept is saved
        run_cli("teach", "zorblax", "--forget", db=db)
    taught = cli_json("teach", "zorblax", *fish[:3], db=db)
    assert taught["examples"] == 3
    hits = cli_json("search", "zorblax", "-k", "5", "--min-score", "0", db=db)
    rows = hits["results"] if isinstance(hits, dict) else hits
    assert sum(r["path"] in fish for r in rows) >= 4


def test_kept_head_scores_rank_as_the_stores_do_and_follow_new_photos(col, photos, tmp_path):
    """A taught word's scores over the collection are kept after its first search (search/taught.py
    HeadScores): they rank exactly as scoring the stored vectors does, and photos indexed later are found."""
    from pixseek.search.ranker import rank
    from pixseek.search.taught import head_parts

    fish = _of(photos, GOLDFISH)
    col.teach("zorblax", fish[:2])
    searcher = col.searcher
    concept = searcher.concepts.get("zorblax")
    kept = rank(head_parts([(concept, 1.0)], searcher.spaces(), searcher.concepts), 20)
    scanned = rank(head_parts([(concept, 1.0)], searcher.spaces()), 20)
    assert [i for i, _ in kept] == [i for i, _ in scanned]
    assert [round(s, 5) for _, s in kept] == [round(s, 5) for _, s in scanned]
    before = {h.path for h in col.search("zorblax", k=500, min_score=0)}
    later = tmp_path / "later"
    later.mkdir()
    for f in sorted((TINY_VAL / GOLDFISH).glob("*.JPEG"))[10:13]:  # goldfish the collection did not hold
        (later / f.name).write_bytes(f.read_bytes())
    col.index([later], progress=False)
    after = {h.path for h in col.search("zorblax", k=500, min_score=0)}
    assert {str(p) for p in later.iterdir()} <= after - before
