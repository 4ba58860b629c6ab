"""The ONNX all-MiniLM-L6-v2 phrase encoder: parity with sentence-transformers, meaning, order, edge cases, no torch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pixseek.encoders import phrases
from pixseek.encoders.phrases import PhraseEncoder, load_phrases

SENTENCES = [
    "dog",
    "a dog runs on the beach",
    "A Golden Retriever, sleeping on a red sofa!",
    "two children fly a kite in a park on a windy afternoon",
    "café au lait and croissants at a Paris bistro",
    "the quick brown fox jumps over the lazy dog " * 4,
    "an aerial photograph of a container ship entering the harbour at dawn, surrounded by tugboats",
    # well over 256 word pieces: checks that truncation matches sentence-transformers' max_seq_length
    " ".join(f"word{i} sunset mountains" for i in range(120)),
]


@pytest.fixture(scope="module")
def enc() -> PhraseEncoder:
    return load_phrases()


def test_parity_with_sentence_transformers(enc):
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        pytest.skip("sentence_transformers is not importable (pip install -e '.[dev]'); parity not checked")
    reference = SentenceTransformer(str(phrases.model_dir()), device="cpu")
    want = reference.encode(SENTENCES, normalize_embeddings=True, batch_size=3)
    got = enc.encode(SENTENCES, batch_size=3)
    assert got.shape == (len(SENTENCES), 384) and got.dtype == np.float32
    assert np.abs(got - want).max() < 1e-4
    assert enc.tokens(SENTENCES[-1])[-1] == "[SEP]" and len(enc.tokens(SENTENCES[-1])) == enc.max_tokens


def test_meaning(enc):
    dog, puppy, pasta = (enc.vector(t) for t in ("a dog runs on the beach", "a puppy playing by the sea", "a plate of pasta"))
    assert dog @ puppy > dog @ pasta + 0.2


def test_batch_order_matches_single(enc):
    together = enc.encode(SENTENCES, batch_size=2)
    alone = np.stack([enc.encode([t])[0] for t in SENTENCES])
    assert np.abs(together - alone).max() < 1e-5
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)


def test_empty_and_whitespace(enc):
    assert enc.encode([]).shape == (0, 384)
    out = enc.encode(["", "   ", "a_cat "])
    assert out.shape == (3, 384) and np.isfinite(out).all()
    np.testing.assert_allclose(out[2], enc.encode(["a cat"])[0], atol=1e-6)
    assert enc.vector("") is None and enc.vector(" \t\n") is None and enc.vector("___") is None
    v = enc.vector("golden_retriever")
    assert v.shape == (384,) and abs(float(np.linalg.norm(v)) - 1) < 1e-5
    v[:] = 0  # callers get copies: the cache is not corrupted
    assert abs(float(np.linalg.norm(enc.vector("golden retriever"))) - 1) < 1e-5
    assert enc.tokens("golden_retriever")[0] == "[CLS]"


def test_no_torch_at_query_time(enc):
    enc.encode(["warm the cache"])  # the ONNX file now exists, so the subprocess must not export
    code = (  # texts never seen, so the model runs (a kept text's vector is read back without it)
        'import pixseek.encoders.phrases as p, sys; p.load_phrases().encode([sys.argv[1]]); assert "torch" not in sys.modules; '
        'assert "onnxruntime" in sys.modules; '
        'p.load_phrases().vector(sys.argv[2]); assert not {"torch", "transformers", "sentence_transformers"} & set(sys.modules)'
    )
    import uuid

    res = subprocess.run([sys.executable, "-c", code, f"x {uuid.uuid4().hex}", f"y {uuid.uuid4().hex}"],
                         capture_output=True, text=True, env=os.environ.copy(), timeout=120)
    assert res.returncode == 0, res.stderr


def test_corrupt_cache_is_rebuilt(tmp_path, monkeypatch, enc):
    monkeypatch.setenv("PIXSEEK_CACHE", str(tmp_path))
    path = phrases.onnx_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not an onnx file")
    fresh = PhraseEncoder(threads=1)
    np.testing.assert_allclose(fresh.encode(["a dog"]), enc.encode(["a dog"]), atol=1e-5)
    assert path.stat().st_size > 1_000_000


def test_a_vocabulary_is_encoded_once_and_a_damaged_copy_is_encoded_again(enc):
    """Tag vocabularies (VOCABULARY texts or more) are kept in the cache folder: a cold `pixseek tag` reads
    them back instead of running the model over every word."""
    import uuid

    from pixseek.config import cache_dir

    scenes = (phrases.Path(__file__).resolve().parents[2] / "pixseek" / "search" / "data" / "scene_words.txt").read_text()
    words = [w for w in scenes.split("\n") if w.strip()]
    vocab = (words + [f"a photo of a {w}" for w in words])[: phrases.VOCABULARY - 1] + [f"test word {uuid.uuid4().hex}"]
    folder = cache_dir() / "phrases"
    before = set(folder.glob("vocabulary-*.npy"))
    first = enc.encode(vocab)
    (kept,) = set(folder.glob("vocabulary-*.npy")) - before
    try:
        fresh = np.concatenate([enc.encode(vocab[i:i + 100]) for i in range(0, len(vocab), 100)])  # short lists: not kept
        assert np.abs(first - fresh).max() < 1e-5
        assert np.array_equal(np.load(kept), first)
        kept.write_bytes(kept.read_bytes()[:1000])  # truncated, as a crash or a full disk would leave it
        again = enc.encode(vocab)
        assert np.abs(again - fresh).max() < 1e-5 and np.load(kept).shape == first.shape
    finally:
        kept.unlink(missing_ok=True)


def test_texts_encoded_before_are_read_back_in_a_fresh_process_without_the_model(enc):
    """A cold `pixseek search` for a text seen before opens neither the tokenizer nor the ONNX session: the
    vector kept in the cache folder is read back, the same bytes the model gave the first time."""
    import uuid

    texts = [f"a kite over the dunes {uuid.uuid4().hex}", "dog"]
    code = ('import hashlib, sys, pixseek.encoders.phrases as p; v = p.load_phrases().encode(sys.argv[1:]); '
            'print(hashlib.sha1(v.tobytes()).hexdigest(), "onnxruntime" in sys.modules, "tokenizers" in sys.modules)')

    def fresh() -> list[str]:
        res = subprocess.run([sys.executable, "-c", code, *texts], capture_output=True, text=True, timeout=120)
        assert res.returncode == 0, res.stderr
        return res.stdout.split()

    first, again = fresh(), fresh()
    assert first[1:] == ["True", "True"] and again == [first[0], "False", "False"]
    import hashlib

    assert hashlib.sha1(enc.encode(texts).tobytes()).hexdigest() == first[0]


def test_kept_texts_survive_damage_and_stay_bounded(tmp_path):
    from pixseek.lexicon.phrase_store import PRUNE_EVERY, KeptTexts

    rng = np.random.default_rng(0)
    vecs = {f"text {i}": rng.standard_normal(4).astype(np.float32) for i in range(PRUNE_EVERY + 20)}
    path = tmp_path / "texts.sqlite"
    store = KeptTexts(path, 4, limit=10)
    assert store.get(["text 0"]) == {}
    store.put({"text 0": vecs["text 0"], "bad": np.array([np.nan] * 4, np.float32), "short": np.zeros(3, np.float32)})
    got = KeptTexts(path, 4).get(["text 0", "bad", "short", "never"])
    assert list(got) == ["text 0"] and got["text 0"].tobytes() == vecs["text 0"].tobytes()
    for t, v in vecs.items():  # one at a time, as queries come
        store.put({t: v})
    kept = KeptTexts(path, 4).get(list(vecs))
    assert len(kept) <= 10 + PRUNE_EVERY and "text 0" not in kept and f"text {len(vecs) - 1}" in kept
    store.close()
    for damage in (b"not a database at all" * 100, path.read_bytes()[:3000]):  # foreign, truncated
        path.write_bytes(damage)
        for suffix in ("-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        again = KeptTexts(path, 4)
        assert again.get(["text 1"]) == {}
        again.put({"text 1": vecs["text 1"]})
        assert KeptTexts(path, 4).get(["text 1"])["text 1"].tobytes() == vecs["text 1"].tobytes()
        again.close()
    KeptTexts(path, 4).forget(["text 1"])  # a benchmark's way to time a first query again
    assert KeptTexts(path, 4).get(["text 1"]) == {}
    blocked = tmp_path / "a file"
    blocked.write_text("")
    nowhere = KeptTexts(blocked / "texts.sqlite", 4)  # its folder cannot be made: every lookup misses quietly
    nowhere.put({"text 1": vecs["text 1"]})
    assert nowhere.get(["text 1"]) == {}


def test_two_processes_keep_texts_at_once(tmp_path):
    code = ("import sys, numpy as np; from pathlib import Path; from pixseek.lexicon.phrase_store import KeptTexts\n"
            "s = KeptTexts(Path(sys.argv[1]), 4)\n"
            "for i in range(40): s.put({f'{sys.argv[2]} {i}': np.full(4, i, np.float32)})\n"
            "print(len(s.get([f'{w} {i}' for w in ('a', 'b') for i in range(40)])))")
    path = tmp_path / "texts.sqlite"
    procs = [subprocess.Popen([sys.executable, "-c", code, str(path), w], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for w in ("a", "b")]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [e for _, e in outs]
    from pixseek.lexicon.phrase_store import KeptTexts

    got = KeptTexts(path, 4).get([f"{w} {i}" for w in ("a", "b") for i in range(40)])
    assert len(got) == 80 and got["b 39"].tolist() == [39.0] * 4
