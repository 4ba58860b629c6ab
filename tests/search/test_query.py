"""The query language and the word/concept bridge on the real GloVe vectors and WordNet."""

from __future__ import annotations

import numpy as np
import pytest

from pixseek.encoders.imagenet import imagenet_wnids
from pixseek.encoders.wordnet import load_wordnet
from pixseek.encoders.words import load_words
from pixseek.errors import PixseekError
from pixseek.search.concepts import ConceptSpace
from pixseek.search.query import Term, parse_query


def test_parse_weights_negation_and_phrases():
    assert parse_query("dog beach") == [Term("dog"), Term("beach")]
    assert parse_query("dog -grass") == [Term("dog"), Term("grass", -1.0)]
    assert parse_query("2:sunset 0.5:sea") == [Term("sunset", 2.0), Term("sea", 0.5)]
    assert parse_query('"golden retriever" -2:snow') == [Term("golden retriever", 1.0, True), Term("snow", -2.0)]


@pytest.mark.parametrize("bad", ["", "   ", '"open', "-grass", "-1:a -b"])
def test_parse_rejects(bad):
    with pytest.raises(PixseekError):
        parse_query(bad)


@pytest.fixture(scope="module")
def space():
    wn = load_wordnet()
    if wn is None:
        pytest.skip("WordNet not installed (apt-get install wordnet-base)")
    return ConceptSpace(imagenet_wnids(), load_words(), wn)


def test_broad_words_cover_their_hyponym_classes(space):
    names = space.names
    dog = space.hierarchy("dog")
    assert dog[names.index("golden retriever")] == 1 and dog[names.index("tabby")] == 0
    assert (space.hierarchy("vehicle") == 1).sum() > 40
    assert space.hierarchy("geese")[names.index("goose")] == 1  # plural -> singular


def test_query_weights_add_and_subtract(space):
    dog = space.query_weights(parse_query("dog"))
    dog_not_cat = space.query_weights(parse_query("dog -cat"))
    i_cat = space.names.index("tabby")
    assert dog_not_cat[i_cat] < dog[i_cat]
    np.testing.assert_allclose(space.query_weights(parse_query("2:dog")), 2 * dog, rtol=1e-6)


def test_unknown_words_are_named(space):
    with pytest.raises(PixseekError, match="qqzzxq"):
        space.query_weights(parse_query("dog qqzzxq"))


def test_glove_text_file_loads(tmp_path):
    from pixseek.encoders.words import load_words as load

    f = tmp_path / "tiny.6B.3d.txt"
    f.write_text("king 1 0 0\nqueen 0.9 0.1 0\napple 0 0 1\n")
    wv = load(str(f))
    assert wv.dim == 3 and wv.nearest(wv.vector("king"), 1, exclude={"king"})[0][0] == "queen"
    bad = tmp_path / "bad.txt"
    bad.write_text("king 1 0 0\nqueen 0.9\n")
    with pytest.raises(PixseekError, match="expected a word and 3 numbers"):
        load(str(bad))


def _known(space):
    return lambda t: space.known(t)


def test_resolve_keeps_sentences_whole_and_drops_stopwords(space):
    from pixseek.search.terms import resolve

    q = resolve("two children playing in the snow", _known(space))
    assert [t.text for t in q.terms] == ["two", "children", "playing", "snow"]
    assert [t.text for t in q.phrases] == ["two children playing in the snow"]
    q = resolve('a dog -grass 2:sunset "golden retriever" on the beach', _known(space))
    assert [(t.text, t.weight) for t in q.phrases] == [("a dog", 1.0), ("grass", -1.0), ("sunset", 2.0),
                                                        ("golden retriever", 1.0), ("on the beach", 1.0)]
    assert "a" not in [t.text for t in q.terms] and q.ignored == []


def test_resolve_ignores_unknown_words_and_suggests(space):
    from pixseek.search.terms import resolve, suggester

    suggest = suggester(space.words.words)
    q = resolve("dgo on the beach qqzzxq", _known(space), suggest)
    assert [(i.word, i.suggestion) for i in q.ignored] == [("dgo", "dog"), ("qqzzxq", None)]
    assert [t.text for t in q.terms] == ["beach"] and [t.text for t in q.phrases] == ["on the beach"]
    assert suggest("corndogs") == "corn dogs" and suggest("kitchn") == "kitchen"
    with pytest.raises(PixseekError, match="did you mean 'dog'"):
        resolve("dgo", _known(space), suggest)
    with pytest.raises(PixseekError, match="nothing to search for"):
        resolve("the in of", _known(space), suggest)


@pytest.mark.parametrize("q", ["101:dog", "dog -100.5:cat", "1" + "0" * 40 + ":dog", "9" * 400 + ":dog cat"])
def test_resolve_refuses_weights_beyond_100(q):
    from pixseek.search.terms import resolve

    with pytest.raises(PixseekError, match="weights go from -100 to 100"):
        resolve(q, lambda t: True)


def test_resolve_keeps_weights_up_to_100():
    from pixseek.search.terms import resolve

    q = resolve("100:dog -100:cat 0.001:sea", lambda t: True)
    assert [(t.text, t.weight) for t in q.terms] == [("dog", 100.0), ("cat", -100.0), ("sea", 0.001)]


def test_ranker_leaves_out_non_finite_scores():
    from pixseek.search.bridges.base import Part, Unit
    from pixseek.search.ranker import rank
    from pixseek.store.arrays import ArrayStore

    rows = np.eye(4, dtype=np.float32)
    rows[2] = np.nan  # a damaged row
    store = ArrayStore(rows)
    units = [Unit(np.array([1, 1, 1, 0], np.float32), 1.0, "a"), Unit(np.array([0, 0, 1, 1], np.float32), -1.0, "b")]
    found = rank([Part(store, units)], k=4)
    assert found and all(np.isfinite(s) for _, s in found) and 2 not in [i for i, _ in found]


def test_class_vectors_are_kept_beside_their_words_and_a_damaged_copy_is_computed_again(tmp_path, monkeypatch):
    from pixseek.encoders import words as words_mod

    monkeypatch.setenv("PIXSEEK_CACHE", str(tmp_path / "cache"))
    glove = tmp_path / "tiny.txt"
    glove.write_text("golden 1 0 0\nretriever 0 1 0\ntabby 0 0 2\ngoose 3 4 0\n")
    classes = ["n02099601", "n02123045", "n01855672", "n00000000"]  # golden retriever, tabby, goose, unnamed
    words = words_mod._load_text(glove)
    first = ConceptSpace(classes, words, None).class_vectors
    np.testing.assert_allclose(first, [[0.70710677, 0.70710677, 0], [0, 0, 1], [0.6, 0.8, 0], [0, 0, 0]], atol=1e-6)
    (kept,) = (tmp_path / "cache" / "words").glob("*-classes-*.npy")
    assert np.array_equal(np.load(kept), first)
    np.save(kept, np.ones((4, 3), np.float32))  # read back, not computed again (a right-shaped copy is trusted)
    assert np.array_equal(ConceptSpace(classes, words, None).class_vectors, np.ones((4, 3)))
    for damaged in (b"garbage", kept.read_bytes()[:-4]):  # foreign or truncated: computed again and kept again
        kept.write_bytes(damaged)
        assert np.array_equal(ConceptSpace(classes, words, None).class_vectors, first)
        assert np.array_equal(np.load(kept), first)
    assert ConceptSpace(classes[:3], words, None).class_vectors.shape == (3, 3)  # other classes, another file
    assert len(list((tmp_path / "cache" / "words").glob("*-classes-*.npy"))) == 2
