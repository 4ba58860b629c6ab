"""Sentences, scenes and unknown words on real photos: the joint space, the auto blend and query resolution."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from pixseek import Collection, PixseekError
from pixseek.search.bridges import BRIDGES
from tests.conftest import DATA, cli_json, run_cli

FLICKR = DATA / "flickr8k-500"
PLACES = DATA / "miniplaces" / "val"
SCENES = ("kitchen", "bedroom", "coast", "highway", "playground", "bamboo_forest")
requires_flickr = pytest.mark.skipif(not FLICKR.is_dir() or not PLACES.is_dir(),
                                     reason=f"Flickr8k / MiniPlaces photos not found under {DATA}")


def _first_captions(n: int) -> dict[str, str]:
    out: dict[str, str] = {}
    with open(FLICKR / "captions.tsv", encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            if row["caption_idx"] == "0" and len(out) < n:
                out[row["image"]] = row["caption"]
    return out


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    if not FLICKR.is_dir() or not PLACES.is_dir():
        pytest.skip(f"Flickr8k / MiniPlaces photos not found under {DATA}")
    root = tmp_path_factory.mktemp("text")
    photos = root / "photos"
    captions = _first_captions(80)
    (photos / "flickr").mkdir(parents=True)
    for name in captions:
        shutil.copy2(FLICKR / "images" / name, photos / "flickr" / name)
    for scene in SCENES:
        (photos / scene).mkdir()
        for f in sorted((PLACES / scene).iterdir())[:8]:
            shutil.copy2(f, photos / scene / f.name)
    col = Collection.open(root / "db")
    col.index([photos], progress=False)
    return {"col": col, "db": root / "db", "photos": photos, "captions": captions}


@requires_flickr
def test_a_caption_finds_its_photo(world):
    """Each of 80 Flickr8k captions searches 80 + 48 photos: most find their own photo in the top 10, far
    above chance (10 in 128), and none is refused."""
    found = 0
    for name, caption in world["captions"].items():
        hits = world["col"].search(caption, k=10)
        found += any(h.path.endswith(name) for h in hits)
    assert found >= 0.6 * len(world["captions"]), found


@requires_flickr
def test_scene_words_find_scenes(world):
    for scene in SCENES:
        hits = world["col"].search(scene.replace("_", " "), k=5)
        right = sum(f"/{scene}/" in h.path for h in hits)
        assert right >= 3, (scene, [h.path for h in hits])


@requires_flickr
def test_the_joint_bridge_ranks_by_the_whole_sentence(world):
    """The sentence as one unit: its order of results is not the same as the bag of its words under conse."""
    col = world["col"]
    sentence = "a dog runs through the snow"
    joint = [h.path for h in col.search(sentence, k=10, bridge="joint")]
    conse = [h.path for h in col.search(sentence, k=10, bridge="conse")]
    assert joint and conse and joint != conse


@requires_flickr
def test_unknown_words_are_ignored_with_a_suggestion(world):
    col = world["col"]
    plain = col.search("dog", k=10)
    noisy = col.search("dog corndogs", k=10)
    assert [h.path for h in noisy] == [h.path for h in plain]
    assert [(i.word, i.suggestion) for i in noisy.ignored] == [("corndogs", "corn dogs")]
    assert noisy.corrected is None  # two words run together: a suggestion, not a correction
    unsure = col.search("pizzza dog", k=10)  # "pizza" or "piazza": not sure enough to search either
    assert [(i.word, i.suggestion) for i in unsure.ignored] == [("pizzza", "pizza")] and unsure.corrected is None
    with pytest.raises(PixseekError, match="did you mean 'dog'"):
        col.search("dgo", k=5, exact=True)
    with pytest.raises(PixseekError, match="nothing to search for"):
        col.search("the", k=5)


@requires_flickr
def test_stopwords_are_not_terms(world):
    col = world["col"]
    with_the = [h.path for h in col.search("the dog", k=10, bridge="conse")]
    assert with_the == [h.path for h in col.search("dog", k=10, bridge="conse")]


@requires_flickr
def test_a_sure_misspelling_is_searched_corrected_and_says_so(world):
    """`dgo` searches dog and says so; exact searches as typed."""
    col = world["col"]
    fixed = col.search("dgo", k=10)
    assert fixed.corrected == "dog" and fixed.ignored == [] and fixed.terms == ["dog"]
    assert [h.path for h in fixed] == [h.path for h in col.search("dog", k=10)]
    longer = col.search("dgo in the snow", k=10)  # one swap away, no rival: corrected inside a longer query too
    assert longer.corrected == "dog in the snow" and longer.terms == ["dog", "snow"]
    assert [h.path for h in longer] == [h.path for h in col.search("dog in the snow", k=10)]
    typed = col.search("dgo in the snow", k=10, exact=True)
    assert typed.corrected is None and [(i.word, i.suggestion) for i in typed.ignored] == [("dgo", "dog")]
    assert typed.to_dict()["corrected"] is None and fixed.to_dict()["corrected"] == "dog"

    proc = run_cli("search", "dgo", db=world["db"])
    assert proc.stdout.startswith("showing results for 'dog' (--exact searches 'dgo' as typed)\n")
    exact = run_cli("search", "dgo", "--exact", db=world["db"], check=False)
    assert exact.returncode == 1 and "did you mean 'dog'" in exact.stderr and exact.stdout == ""
    body = json.loads(run_cli("search", "dgo", "snow", "--exact", "--json", db=world["db"]).stdout)
    assert body["corrected"] is None and body["ignored"] == [{"word": "dgo", "suggestion": "dog"}]

    from fastapi.testclient import TestClient

    from pixseek.interfaces.http import create_app

    client = TestClient(create_app(world["db"]))
    assert client.get("/api/search", params={"q": "dgo", "k": 5}).json()["corrected"] == "dog"
    typed = client.get("/api/search", params={"q": "dgo snow", "k": 5, "exact": "true"}).json()
    assert typed["corrected"] is None and typed["ignored"] == [{"word": "dgo", "suggestion": "dog"}]


@requires_flickr
def test_cli_reports_ignored_words(world):
    proc = run_cli("search", "beach", "qqzzxq", "--json", db=world["db"])
    body = __import__("json").loads(proc.stdout)
    assert body["results"] and body["ignored"] == [{"word": "qqzzxq", "suggestion": None}]
    assert "ignored unknown word 'qqzzxq'" in proc.stderr


@requires_flickr
def test_derived_joint_vectors_come_back_from_stored_vectors(world):
    """An existing collection without joint vectors gets them from its stored vectors (no decoding) on reindex."""
    col = world["col"]
    before = [h.path for h in col.search("children playing on a playground", k=5, bridge="joint")]
    shutil.rmtree(world["db"] / "derived")
    col.reindex()
    assert list((world["db"] / "derived").glob("joint-*.float16"))
    again = Collection.open(world["db"])
    assert [h.path for h in again.search("children playing on a playground", k=5, bridge="joint")] == before


@requires_flickr
def test_a_repeated_text_query_in_a_new_process_loads_only_what_it_uses(world):
    """A cold `pixseek search` pays for what the query needs: a keyword or sentence asked before (its
    sentence vector kept) opens no ONNX session or tokenizer, loads no PIL, no numpy.ma (numpy's
    `unique` imports it), and leaves the joint space's image head undecoded (the photos' joint vectors
    are derived already); the answers are the same as in a warm process."""
    db, queries = str(world["db"]), ["dog", "two children playing in the snow"]
    warm = {q: [h.path for h in world["col"].search(q, k=5)] for q in queries}
    probe = (
        "import sys, json\n"
        "from pixseek import Collection\n"
        f"col = Collection.open({db!r})\n"
        f"got = {{q: [h.path for h in col.search(q, k=5)] for q in {queries!r}}}\n"
        "head = col.searcher.context.joint.image_layers\n"
        "heavy = [m for m in ('onnxruntime', 'tokenizers', 'PIL', 'numpy.ma') if m in sys.modules]\n"
        "print(json.dumps({'got': got, 'heavy': heavy, 'head_decoded': head._layers is not None}))\n"
    )
    out = json.loads(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout)
    assert out == {"got": warm, "heavy": [], "head_decoded": False}
    col = Collection.open(world["db"])
    col.tag(str(next(world["photos"].rglob("*.jpg"))), k=3)  # tagging a file decodes the head when needed
    assert col.searcher.context.joint.image_layers._layers is not None


def test_tags_and_words_need_no_collection(tmp_path):
    photo = DATA / "photos" / "skimage_chelsea.png"
    if not photo.is_file():
        pytest.skip(f"{photo} not found")
    db = tmp_path / "fresh"
    tags = [t["tag"] for t in cli_json("tag", str(photo), "-k", "5", db=db)]
    assert "cat" in tags or any("cat" in t for t in tags), tags
    words = [w["word"] for w in cli_json("words", "man", "-k", "3", db=db)]
    assert "woman" in words


@requires_flickr
@pytest.mark.xfail(strict=True, reason="calibrated tags are fitted on Flickr8k captions, which rarely say 'kitchen': "
                   "scene words need their own calibration on miniplaces/train (issue 27, tags)")
def test_tags_include_scene_words(world):
    kitchen = sorted((world["photos"] / "kitchen").iterdir())
    hits = sum("kitchen" in [t.tag for t in world["col"].tag(str(p), k=10)] for p in kitchen)
    assert hits >= len(kitchen) // 2, hits


def test_bridge_choices_come_from_the_registry():
    help_text = run_cli("search", "--help").stdout
    for name in BRIDGES:
        assert name in help_text
    proc = run_cli("search", "dog", "--bridge", "nonsense", check=False)
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


@requires_flickr
def test_train_captions_makes_the_collection_use_its_own_space(tmp_path, world):
    """`pixseek train --captions` on a few real captioned photos: saved in the collection, searched with."""
    db = tmp_path / "db"
    shutil.copytree(world["db"], db)
    tsv = tmp_path / "captions.tsv"
    rows = [f"{world['photos'] / 'flickr' / name}\t{cap}" for name, cap in world["captions"].items()]
    tsv.write_text("\n".join(rows) + "\n")
    out = cli_json("train", "--captions", str(tsv), "--epochs", "3", "--no-progress", db=db)
    assert (db / "joint.npz").is_file() and 0 <= out["dev"]["r10"] <= 1
    status = cli_json("status", db=db)
    assert status["bridges"]["joint"] == str(db / "joint.npz")
    hits = cli_json("search", "a", "dog", "in", "the", "water", "--bridge", "joint", db=db)["results"]
    assert len(hits) == 10 and np.isfinite([h["score"] for h in hits]).all()
    bad = run_cli("train", "--captions", str(tmp_path / "missing.tsv"), db=db, check=False)
    assert bad.returncode == 1 and "no such captions file" in bad.stderr and "Traceback" not in bad.stderr
