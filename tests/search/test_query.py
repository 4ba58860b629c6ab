"""The query language and the word/concept bridge on the real GloVe vectors and WordNet."""

from __future__ import annotations

import numpy as np
import pytest

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


def test_broad_words_cover_their_hyponym_classes(space):
    names = space.names
    dog = space.hierarchy("dog")
    assert dog[names.index("golden retriever")] == 1 and dog[names.index("tabby")] == 0
    assert (space.hierarchy("vehicle") == 1).sum() > 40
    assert space.hierarchy("geese")[names.index("goose")] == 1  # plural -> singular


def test_unknown_words_are_named(space):
    with pytest.raises(PixseekError, match="qqzzxq"):
        space.weights("qqzzxq")


def test_glove_text_file_loads(tmp_path):
    from pixseek.lexicon.words import load_words as load

    f = tmp_path / "tiny.6B.3d.txt"
    f.write_text("king 1 0 0\nqueen 0.9 0.1 0\napple 0 0 1\n")
    wv = load(str(f))
    assert wv.dim == 3 and wv.nearest(wv.vector("king"), 1, exclude={"king"})[0][0] == "queen"
    bad = tmp_path / "bad.txt"
    bad.write_text("king 1 0 0\nqueen 0.9\n")
    with pytest.raises(PixseekError, match="expected a word and 3 numbers"):
        load(str(bad))


def test_class_vectors_are_kept_beside_their_words_and_a_damaged_copy_is_computed_again(tmp_path, monkeypatch):
    from pixseek.lexicon import words as words_mod

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
