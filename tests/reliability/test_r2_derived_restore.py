"""A catalog put back from a backup (or one that lost its -wal after commits) while the vector files went on:
new photos reuse the row ids of those the catalog forgot, so every derived file (joint vectors, postings,
indexes) must notice that its rows were derived from other rows, and be derived again. Sentence search
then answers exactly as a fresh collection of the same folder does, and `verify` sees the stale rows.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from conftest import copy_tiny, requires_data

from pixseek import Collection
from pixseek.store.derived import DERIVED_DIR

FIRST = {"n01443537": "goldfish", "n02123045": "tabby", "n07747607": "orange"}
SECOND = {"n02099601": "golden retriever", "n02056570": "king penguin", "n01910747": "jellyfish"}
THIRD = {"n01882714": "koala", "n01944390": "snail", "n02002724": "black stork"}
SENTENCES = ["a dog running on the grass", "a penguin standing on the ice", "a jellyfish floating in the sea",
             "a koala sitting in a tree", "a snail crawling on a leaf", "a bird standing in the water"]
PER_CLASS = 5


def _catalog_files(db: Path) -> list[Path]:
    return sorted(db.glob("catalog.sqlite*"))


def _index(db: Path, photos: Path) -> None:
    with Collection.open(db) as col:
        col.index([photos], progress=False, ocr=False)


def _answers(db: Path) -> dict[str, list[tuple[str, float]]]:
    with Collection.open(db) as col:
        return {q: [(Path(h.path).name, h.score) for h in col.search(q, k=10, bridge="joint", min_score=0)]
                for q in SENTENCES}


def _restore(db: Path, backup: Path) -> None:
    for f in _catalog_files(db):
        f.unlink()
    for f in backup.iterdir():
        shutil.copy2(f, db / f.name)


@pytest.fixture
def fresh_answers(tmp_path_factory):
    """Sentence answers of a collection made afresh from the folder the scenarios end with."""
    root = tmp_path_factory.mktemp("fresh")
    copy_tiny(root / "photos", PER_CLASS, FIRST)
    copy_tiny(root / "photos", PER_CLASS, THIRD)
    _index(root / "db", root / "photos")
    return root / "photos", _answers(root / "db")


def _assert_same(got: dict, fresh: dict) -> None:
    """The same photos in the same order, with the same scores (to float rounding: rows sit elsewhere)."""
    assert {q: [name for name, _ in hits] for q, hits in got.items()} == \
        {q: [name for name, _ in hits] for q, hits in fresh.items()}
    for q, hits in got.items():
        assert [s for _, s in hits] == pytest.approx([s for _, s in fresh[q]], abs=1e-5), q


def _same_folder(photos: Path, fresh_photos: Path) -> None:
    assert sorted(p.name for p in photos.rglob("*.JPEG")) == sorted(p.name for p in fresh_photos.rglob("*.JPEG"))


@requires_data
def test_a_restored_catalog_gets_its_derived_vectors_again(tmp_path, fresh_answers):
    fresh_photos, fresh = fresh_answers
    photos, db, backup = tmp_path / "photos", tmp_path / "db", tmp_path / "backup"
    copy_tiny(photos, PER_CLASS, FIRST)
    _index(db, photos)
    backup.mkdir()
    for f in _catalog_files(db):  # what pixseek's own messages suggest backing up
        shutil.copy2(f, backup / f.name)
    copy_tiny(photos, PER_CLASS, SECOND)
    _index(db, photos)
    shutil.copytree(db / DERIVED_DIR, tmp_path / "derived-then")
    _restore(db, backup)
    for wnid in SECOND:
        shutil.rmtree(photos / wnid)
    copy_tiny(photos, PER_CLASS, THIRD)  # new photos: they get the row ids the restored catalog forgot
    _index(db, photos)
    _same_folder(photos, fresh_photos)
    _assert_same(_answers(db), fresh)
    with Collection.open(db) as col:
        assert col.verify(repair=False)["ok"]
    # derived files put back from that other state (a stale copy of derived/) are never served, are a
    # finding of `verify --check-only`, and `verify` derives them again
    shutil.rmtree(db / DERIVED_DIR)
    shutil.copytree(tmp_path / "derived-then", db / DERIVED_DIR)
    _assert_same(_answers(db), fresh)
    with Collection.open(db) as col:
        found = col.verify(repair=False)
        assert not found["ok"] and any("joint-" in p for p in found["problems"]), found
        assert any("joint-" in r for r in col.verify()["repaired"])
        assert col.verify(repair=False)["ok"]
    _assert_same(_answers(db), fresh)


@requires_data
def test_a_lost_wal_gets_its_derived_vectors_again(tmp_path, fresh_answers):
    fresh_photos, fresh = fresh_answers
    photos, db = tmp_path / "photos", tmp_path / "db"
    copy_tiny(photos, PER_CLASS, FIRST)
    _index(db, photos)
    held = sqlite3.connect(db / "catalog.sqlite")  # keeps the next run's commits in the -wal
    held.execute("SELECT COUNT(*) FROM contents").fetchone()
    copy_tiny(photos, PER_CLASS, SECOND)
    _index(db, photos)
    assert (db / "catalog.sqlite-wal").stat().st_size > 0
    main = (db / "catalog.sqlite").read_bytes()  # the database file without the commits in its -wal
    held.close()
    for f in _catalog_files(db):
        f.unlink()
    (db / "catalog.sqlite").write_bytes(main)
    for wnid in SECOND:
        shutil.rmtree(photos / wnid)
    copy_tiny(photos, PER_CLASS, THIRD)
    _index(db, photos)
    _same_folder(photos, fresh_photos)
    _assert_same(_answers(db), fresh)


@requires_data
def test_verify_compares_class_postings_with_the_rows_they_were_built_over(tmp_path):
    """Postings (kept from 100,000 photos on; built here over a small collection) record the stored rows
    they came from: rows rewritten since are a finding of `verify --check-only`, and `verify` drops them."""
    from pixseek.store.checksums import write_rows
    from pixseek.store.class_postings import PostingsStore
    from pixseek.store.vectors import LocalVectorStore

    photos, db = tmp_path / "photos", tmp_path / "db"
    copy_tiny(photos, PER_CLASS, FIRST)
    _index(db, photos)
    with Collection.open(db) as col:
        rows, n_classes = col.catalog.rows(), col.layout.dims()[1]
    probs = LocalVectorStore(db, "probs", n_classes, "float16", rows, list(range(rows)), writer=True)
    PostingsStore(probs, db, writer=True, postings_from=0).save()
    with Collection.open(db) as col:
        assert col.verify(repair=False)["ok"]
    other = probs.get(np.array([1]))  # row 0 now holds what row 1 holds: other photos at that row
    write_rows(db / "probs.float16", np.float16, np.array([0]), other)
    with Collection.open(db) as col:
        found = col.verify(repair=False)
        assert not found["ok"] and any("probs.postings" in p for p in found["problems"]), found
        assert any("probs.postings" in r for r in col.verify()["repaired"])
        assert col.verify(repair=False)["ok"] and not (db / "probs.postings").exists()
