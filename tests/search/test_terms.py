"""search/terms.py: from a typed query to what the bridges search with (real GloVe vectors and WordNet)."""

from __future__ import annotations

import pytest

from pixseek.errors import PixseekError
from pixseek.search.query import parse_query
from pixseek.search.terms import resolve, suggester, terms_kind


def _known(space):
    return lambda t: space.known(t)


def test_resolve_keeps_sentences_whole_and_drops_stopwords(space):

    q = resolve("two children playing in the snow", _known(space))
    assert [t.text for t in q.terms] == ["two", "children", "playing", "snow"]
    assert [t.text for t in q.phrases] == ["two children playing in the snow"]
    q = resolve('a dog -grass 2:sunset "golden retriever" on the beach', _known(space))
    assert [(t.text, t.weight) for t in q.phrases] == [("a dog", 1.0), ("grass", -1.0), ("sunset", 2.0),
                                                        ("golden retriever", 1.0), ("on the beach", 1.0)]
    assert "a" not in [t.text for t in q.terms] and q.ignored == []


def test_resolve_ignores_unknown_words_and_suggests(space):

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

    with pytest.raises(PixseekError, match="weights go from -100 to 100"):
        resolve(q, lambda t: True)


def test_resolve_keeps_weights_up_to_100():

    q = resolve("100:dog -100:cat 0.001:sea", lambda t: True)
    assert [(t.text, t.weight) for t in q.terms] == [("dog", 100.0), ("cat", -100.0), ("sea", 0.001)]




def test_a_confident_correction_is_searched_in_the_misspelt_words_place(space):
    suggest = suggester(space.words.words)
    q = resolve("dgo beach", _known(space), suggest, suggest.correction)
    assert [t.text for t in q.terms] == ["dog", "beach"] and q.corrected == "dog beach" and q.ignored == []
    as_typed = resolve("dgo beach", _known(space), suggest)  # no correction: left out with a suggestion
    assert [t.text for t in as_typed.terms] == ["beach"] and as_typed.corrected is None


@pytest.mark.parametrize("text, kind", [("dog beach", "keyword"), ('"golden retriever"', "keyword"),
                                        ("dog -grass", "keyword"), ("a dog", "sentence"),
                                        ("children playing snow", "sentence")])
def test_the_kind_of_a_query_decides_its_cut_off_scale(space, text, kind):
    assert terms_kind(parse_query(text)) == kind
    assert resolve(text, _known(space)).kind == kind


def test_terms_parsed_once_are_not_parsed_again(space):
    parsed = parse_query("dog -grass")
    q = resolve("dog -grass", _known(space), parsed=parsed)
    assert [(t.text, t.weight) for t in q.terms] == [("dog", 1.0), ("grass", -1.0)]
    assert resolve("ignored text", _known(space), parsed=parsed).terms == q.terms
