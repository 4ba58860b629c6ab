"""Class postings (word search at scale) on the real class probabilities of 300 Tiny ImageNet photos:
the candidates they nominate hold the exact top 10, scores are the exact ones, rows added after the file
was written are found, removed and damaged rows never are, and small stores scan exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import DATA

from pixseek.store.class_postings import PostingsStore
from pixseek.store.vectors import LocalVectorStore

TINY_VAL = DATA / "tiny-imagenet-200" / "val"
WORDS = ["dog", "cat", "bird", "car", "truck", "fish", "snake", "bottle", "chair", "bridge", "food", "animal",
         "insect", "boat", "ball", "tree", "building", "clothing", "fruit", "monkey"]


@pytest.fixture(scope="module")
def real() -> tuple[np.ndarray, list[np.ndarray]]:
    """(probabilities of 300 photos, ConSE weights of WORDS over the classifier's classes)."""
    if not TINY_VAL.is_dir():
        pytest.skip(f"{TINY_VAL} not present")
    from pixseek.encoders.registry import load_image_encoder
    from pixseek.lexicon.wordnet import open_wordnet
    from pixseek.lexicon.words import load_words
    from pixseek.media.images import load_for_encoder
    from pixseek.search.concepts import ConceptSpace

    enc = load_image_encoder()
    files = [f for d in sorted(TINY_VAL.iterdir()) if d.is_dir() for f in sorted(d.iterdir())[:2]][:300]
    probs = enc.embed(np.stack([load_for_encoder(f, enc.input_size)[0] for f in files])).probs
    space = ConceptSpace(list(enc.classes), load_words(), open_wordnet())
    return probs.astype(np.float16), [space.weights(w) for w in WORDS]


def store_of(folder: Path, probs: np.ndarray, upto: int | None = None) -> LocalVectorStore:
    folder.mkdir(exist_ok=True)
    store = LocalVectorStore(folder, "probs", probs.shape[1], "float16", 0, [], writer=True)
    n = len(probs) if upto is None else upto
    store.add(np.arange(n), probs[:n])
    return store


def exact_top(store: LocalVectorStore, q: np.ndarray, k: int = 10) -> list[int]:
    return [int(i) for i in store.search(q[None], k)[1][0]]


def test_postings_find_the_exact_top10_with_exact_scores(tmp_path, real):
    probs, queries = real
    inner = store_of(tmp_path, probs)
    PostingsStore(inner, tmp_path, writer=True, postings_from=0).save()
    assert (tmp_path / "probs.postings").is_file()
    reader = PostingsStore(LocalVectorStore(tmp_path, "probs", probs.shape[1], "float16", len(probs),
                                            list(range(len(probs)))), tmp_path, postings_from=0)
    assert len(reader.segments) == 1 and reader.segments[0].rows == len(probs)
    hits = []
    for q in queries:
        scores, ids = reader.search(q, 10)
        truth = exact_top(inner, q)
        hits.append(len(set(ids[0].tolist()) & set(truth)) / 10)
        exact = probs[ids[0]].astype(np.float32) @ q
        assert np.allclose(scores[0], exact, atol=1e-5)  # candidates are re-scored on the stored rows
        assert list(scores[0]) == sorted(scores[0], reverse=True)
    assert np.mean(hits) >= 0.95, hits


def test_rows_added_after_the_file_are_found_and_merged_by_the_next_save(tmp_path, real):
    probs, queries = real
    inner = store_of(tmp_path, probs, upto=200)
    writer = PostingsStore(inner, tmp_path, writer=True, postings_from=0)
    writer.save()
    writer.add(np.arange(200, 300), probs[200:])  # as an index run appends
    newest = probs[250].astype(np.float32)
    assert 250 in writer.search(newest, 5)[1][0]  # before any save: scanned beside the postings
    reopened = PostingsStore(inner, tmp_path, writer=True, postings_from=0)
    assert [s.rows for s in reopened.segments] == [200, 100]  # the file, then the new rows in memory
    assert 250 in reopened.search(newest, 5)[1][0]
    reopened.save()
    again = PostingsStore(inner, tmp_path, postings_from=0)
    assert [s.rows for s in again.segments] == [300]
    for q in queries[:5]:
        assert set(again.search(q, 10)[1][0].tolist()) == set(reopened.search(q, 10)[1][0].tolist())


def test_removed_and_damaged_rows_are_never_returned(tmp_path, real, capfd):
    probs, queries = real
    inner = store_of(tmp_path, probs)
    PostingsStore(inner, tmp_path, writer=True, postings_from=0).save()
    first = exact_top(inner, queries[0])
    gone, broken = first[0], first[1]
    with open(tmp_path / "probs.float16", "r+b") as f:  # the file changes under the postings
        f.seek(broken * probs.shape[1] * 2)
        f.write(b"\x00\x7c" * 8)  # float16 infinities
    live = [i for i in range(len(probs)) if i != gone]
    reader = PostingsStore(LocalVectorStore(tmp_path, "probs", probs.shape[1], "float16", len(probs), live),
                           tmp_path, postings_from=0)
    ids = reader.search(queries[0], 10)[1][0].tolist()
    assert gone not in ids and broken not in ids and len([i for i in ids if i >= 0]) == 10
    assert "damaged rows" in capfd.readouterr().err


def test_small_stores_scan_exactly_and_write_no_postings(tmp_path, real):
    probs, queries = real
    inner = store_of(tmp_path, probs)
    small = PostingsStore(inner, tmp_path, writer=True)  # the default threshold is far above 300 rows
    small.save()
    assert not small.segments and not (tmp_path / "probs.postings").exists()
    for q in queries[:5]:
        assert small.search(q, 10)[1][0].tolist() == exact_top(inner, q)


def test_a_cut_short_postings_file_is_not_trusted(tmp_path, real):
    probs, queries = real
    inner = store_of(tmp_path, probs)
    PostingsStore(inner, tmp_path, writer=True, postings_from=0).save()
    path = tmp_path / "probs.postings"
    path.write_bytes(path.read_bytes()[:-100])
    reader = PostingsStore(inner, tmp_path, postings_from=0)  # builds its postings in memory instead
    assert [s.rows for s in reader.segments] == [len(probs)]
    assert set(reader.search(queries[0], 10)[1][0].tolist()) == set(exact_top(inner, queries[0]))
    writer = PostingsStore(inner, tmp_path, writer=True, postings_from=0)
    writer.save()  # the writer replaces it
    assert PostingsStore(inner, tmp_path, postings_from=0)._on_disk == len(probs)


def test_estimates_are_lower_bounds_from_the_strongest_classes_and_shortlists_skip_removed_rows(tmp_path, real):
    """A photo's estimate sums its 16 strongest classes only: never above the exact score, and short of it
    by at most the weight its other classes could carry; the shortlist holds the exact top 10 and never a
    removed photo, and both survive writing and reading the file."""
    probs, queries = real
    inner = store_of(tmp_path, probs)
    PostingsStore(inner, tmp_path, writer=True, postings_from=0).save()
    live = list(range(1, len(probs)))  # photo 0 removed
    reader = PostingsStore(LocalVectorStore(tmp_path, "probs", probs.shape[1], "float16", len(probs), live),
                           tmp_path, postings_from=0)
    ids = np.arange(len(probs))
    Q = np.stack(queries)
    exact = probs.astype(np.float32) @ Q.T
    guess = reader.estimate(ids, Q)
    top16 = np.sort(probs.astype(np.float32), axis=1)[:, -16:].sum(1)
    slack = (1 - top16)[:, None] * Q.max(1)[None, :]
    assert guess.shape == exact.shape and (guess <= exact + 1e-3).all() and (exact - guess <= slack + 1e-3).all()
    kept = [len(set(np.argsort(-e)[:10]) & set(np.argsort(-g)[:40])) / 10 for e, g in zip(exact.T, guess.T)]
    assert np.mean(kept) >= 0.95, kept  # what a ranker needs: the true top 10 among the best estimates
    short = reader.shortlist(Q, 40)
    hits = []
    for q, row in zip(queries, short):
        assert 0 not in row.tolist()
        truth = [i for i in exact_top(inner, q, 11) if i != 0][:10]
        hits.append(len(set(row.tolist()) & set(truth)) / 10)
    assert np.mean(hits) >= 0.95, hits


def test_ranking_on_estimates_then_exact_rows_matches_exact_ranking(tmp_path, real):
    """The ranker scores a blend's candidates on the postings' estimates, then only its best few on exact
    rows: two-word soft-AND queries rank as they do over the exact store, with exact scores."""
    from pixseek.search.bridges.base import Part, Unit
    from pixseek.search.ranker import part_scores, rank

    probs, queries = real
    inner = store_of(tmp_path, probs)
    postings = PostingsStore(inner, tmp_path, writer=True, postings_from=0)
    postings.save()
    overlap = []
    for a, b in zip(queries[::2], queries[1::2]):
        units = [Unit(a, 1.0, "a"), Unit(b, 1.0, "b")]
        fast = rank([Part(postings, units)], 20, candidates=200)
        slow = rank([Part(inner, units)], 20, candidates=200)
        ids = np.array([i for i, _ in fast])
        assert np.allclose([s for _, s in fast], part_scores(Part(inner, units), ids), atol=1e-6)
        overlap.append(len(set(ids.tolist()) & {i for i, _ in slow}) / 20)
    assert np.mean(overlap) >= 0.95, overlap


def test_postings_of_rows_other_photos_hold_now_are_built_again(tmp_path, real):
    """A catalog put back from a backup forgets rows 200..299; other photos take those row ids. The postings
    saved before covered 300 rows of the old photos: a reader must not nominate from them, but answer as
    postings built afresh over the rows there now do."""
    probs, queries = real
    now = probs[:300]
    fresh_dir = tmp_path / "fresh"
    fresh = PostingsStore(store_of(fresh_dir, now), fresh_dir, postings_from=0)  # built in memory, no file
    db = tmp_path / "db"
    PostingsStore(store_of(db, np.concatenate([now[:200], now[::-1][:100]])), db, writer=True, postings_from=0).save()
    restored = LocalVectorStore(db, "probs", probs.shape[1], "float16", 200, list(range(200)), writer=True)
    restored.add(np.arange(200, 300), now[200:300])

    def opened(writer: bool = False) -> PostingsStore:
        return PostingsStore(LocalVectorStore(db, "probs", probs.shape[1], "float16", 300, list(range(300)),
                                              writer=writer), db, writer=writer, postings_from=0)

    def answers(store: PostingsStore) -> list[list[int]]:
        return [store.search(q[None], 10)[1][0].tolist() for q in queries]

    assert answers(opened()) == answers(fresh)
    opened(writer=True).save()
    again = opened()
    assert len(again.segments) == 1 and again.segments[0].rows == 300 and answers(again) == answers(fresh)
