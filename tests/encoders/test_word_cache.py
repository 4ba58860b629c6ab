"""The build-once word caches a cold query reads (lexicon/word_cache.py): the WordNet SQLite file answers
as the parsed tables, is built once, again when its source changes or it is damaged, and two processes
starting cold at once both get a whole file; the GloVe cache rebuilds a damaged vector file."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import fake_wordnet_folder

from pixseek.lexicon import word_cache
from pixseek.lexicon import wordnet as wordnet_mod
from pixseek.lexicon import words as words_mod

DATA = """  1 licence header line
00001740 03 n 01 entity 0 001 ~ 00001930 n 0000 | that which exists
00001930 03 n 02 physical_entity 0 thing 0 002 @ 00001740 n 0000 ~ 00002000 n 0000 | an entity
00002000 05 n 01 goose 0 002 @ 00001930 n 0000 @i 00001740 n 0000 | a bird
"""
INDEX = """  1 licence header line
entity n 1 1 ~ 1 1 00001740
physical_entity n 1 1 @ 1 0 00001930
thing n 1 1 @ 1 0 00001930
goose n 2 1 @ 2 0 00002000 00001930
"""


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PIXSEEK_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def fake_wordnet(tmp_path, cache, monkeypatch):
    folder = fake_wordnet_folder(tmp_path / "wn", DATA, INDEX, monkeypatch)
    _forget()
    yield folder
    _forget()


def _forget() -> None:
    wordnet_mod.load_wordnet.cache_clear()
    wordnet_mod.open_wordnet.cache_clear()


def _reopen():
    _forget()
    return wordnet_mod.open_wordnet()


def _sqlite_files(cache: Path) -> list[Path]:
    return sorted((cache / "words").glob("wordnet-nouns-*.sqlite*"))


def _same_answers(view, parsed) -> None:
    for table in ("lemmas", "hypernyms", "index", "exceptions"):
        assert dict(getattr(view, table)) == getattr(parsed, table), table
    for word in ("Geese", "goose", "thing", "physical entity", "nothing"):
        assert view.synsets(word) == parsed.synsets(word)
    for wnid in parsed.lemmas:
        assert view.descendants(wnid) == parsed.descendants(wnid) and view.ancestors(wnid) == parsed.ancestors(wnid)
        assert view.depth(wnid) == parsed.depth(wnid) and view.name(wnid) == parsed.name(wnid)


def test_wordnet_cache_answers_as_the_parsed_tables_and_is_built_once(fake_wordnet, cache):
    parsed = wordnet_mod.parse(fake_wordnet)
    _same_answers(wordnet_mod.open_wordnet(), parsed)
    (built,) = _sqlite_files(cache)
    before = built.stat()
    _same_answers(_reopen(), parsed)
    after = built.stat()
    assert _sqlite_files(cache) == [built] and (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert "n00002000" not in wordnet_mod.open_wordnet().index and "goose" not in wordnet_mod.open_wordnet().lemmas


def test_wordnet_cache_is_rebuilt_when_its_source_changes(fake_wordnet, cache):
    assert _reopen().synsets("gander") == []
    (old,) = _sqlite_files(cache)
    (fake_wordnet / "data.noun").write_text(DATA + "00002100 05 n 01 gander 0 001 @ 00002000 n 0000 | a male goose\n")
    with open(fake_wordnet / "index.noun", "a") as f:
        f.write("gander n 1 1 @ 1 0 00002100\n")
    view = _reopen()
    assert view.synsets("gander") == ["n00002100"] and "n00002100" in view.descendants("n00001740")
    _same_answers(view, wordnet_mod.parse(fake_wordnet))
    assert old not in _sqlite_files(cache) or len(_sqlite_files(cache)) == 2


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_a_damaged_wordnet_cache_is_detected_and_rebuilt(fake_wordnet, cache, damage):
    parsed = wordnet_mod.parse(fake_wordnet)
    _reopen()
    (path,) = _sqlite_files(cache)
    data = path.read_bytes()
    path.write_bytes({"truncated": data[: len(data) // 2], "garbage": b"x" * len(data), "empty": b""}[damage])
    assert not word_cache.wordnet_valid(path)
    _same_answers(_reopen(), parsed)
    assert word_cache.wordnet_valid(path) and _sqlite_files(cache) == [path]


def test_a_partial_wordnet_cache_without_its_done_row_is_rebuilt(fake_wordnet, cache, tmp_path):
    parsed = wordnet_mod.parse(fake_wordnet)
    _reopen()
    (path,) = _sqlite_files(cache)
    import sqlite3

    db = sqlite3.connect(path)
    db.execute("DELETE FROM meta")
    db.commit()
    db.close()
    assert not word_cache.wordnet_valid(path)
    _same_answers(_reopen(), parsed)


def test_two_processes_starting_cold_at_once_both_get_the_whole_wordnet_cache(cache):
    if wordnet_mod.find_wordnet_dir() is None:
        pytest.skip("WordNet not installed (apt-get install wordnet-base)")
    # The real WordNet: building takes seconds, so both processes find no cache and build it at once.
    script = textwrap.dedent("""
        import sys, time
        from pathlib import Path
        while not Path(sys.argv[1]).exists():
            time.sleep(0.01)
        from pixseek.lexicon.wordnet import open_wordnet
        wn = open_wordnet()
        print(wn.synsets("dog")[0], len(wn.descendants(wn.synsets("animal")[0])))
    """)
    go = cache.parent / "go"
    env = dict(os.environ, PIXSEEK_CACHE=str(cache))
    procs = [subprocess.Popen([sys.executable, "-c", script, str(go)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    go.touch()
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [e for _, e in outs]
    assert outs[0][0] == outs[1][0] and outs[0][0].split()[0] == "n02084071" and int(outs[0][0].split()[1]) > 1000
    files = sorted((cache / "words").iterdir())
    assert [f.suffix for f in files] == [".sqlite"], files  # one file, no temp file left behind
    assert word_cache.wordnet_valid(files[0])
    _forget()
    view, parsed = wordnet_mod.open_wordnet(), wordnet_mod.load_wordnet()
    assert len(view.lemmas) == len(parsed.lemmas) and len(view.index) == len(parsed.index)
    dog = parsed.synsets("dog")[0]
    assert view.descendants(dog) == parsed.descendants(dog) and view.synsets("geese") == parsed.synsets("geese")
    _forget()


def test_a_damaged_word_vector_cache_is_rebuilt(tmp_path, cache):
    glove = tmp_path / "tiny.txt"
    glove.write_text("cat 1 0 0\ndog 0.8 0.6 0\nsnow 0 0 2\n")
    words_mod.load_words.cache_clear()
    first = words_mod.load_words(str(glove))
    want = np.asarray(first.vectors).copy()
    (vecs,) = [p for p in (cache / "words").glob("tiny-*.npy") if not p.name.endswith((".order.npy", ".words.npy"))]
    del first
    words_mod.load_words.cache_clear()
    vecs.write_bytes(vecs.read_bytes()[:-8])  # truncated: the header promises more rows than the file holds
    again = words_mod.load_words(str(glove))
    assert np.array_equal(np.asarray(again.vectors), want) and again.ids["snow"] == 2
    words_mod.load_words.cache_clear()
