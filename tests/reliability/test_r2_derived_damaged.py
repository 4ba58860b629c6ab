"""Damaged stored rows never shape a result: a query photo whose own row is damaged is embedded again from
its file (or the error says why it cannot be), and a collection held open (a server) sees what `verify`
repaired as soon as it is repaired, without a restart."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import copy_tiny, requires_data

from pixseek import Collection
from pixseek.errors import PixseekError
from pixseek.store.derived import DERIVED_DIR

CLASSES = {"n01443537": "goldfish", "n02123045": "tabby", "n07747607": "orange", "n04487081": "trolleybus"}


def _damage(db: Path, col: Collection, paths: list[Path]) -> None:
    """Overwrite the stored image rows of these photos with other bytes (their checksums then fail)."""
    visual = db / "visual.float16"
    row_bytes = visual.stat().st_size // col.catalog.rows()
    with open(visual, "r+b") as f:
        for p in paths:
            f.seek(col.record(str(p)).content_id * row_bytes)
            f.write(np.random.default_rng(0).standard_normal(row_bytes // 2).astype(np.float16).tobytes())


def _names(hits) -> list[tuple[str, float]]:
    return [(Path(h.path).name, h.score) for h in hits]


@pytest.fixture
def indexed(tmp_path):
    photos, db = tmp_path / "photos", tmp_path / "db"
    files = copy_tiny(photos, 5, CLASSES)
    with Collection.open(db) as col:
        col.index([photos], progress=False, ocr=False)
    return db, files


@requires_data
def test_similar_and_tag_of_a_photo_whose_row_is_damaged(indexed):
    db, files = indexed
    query = files[0]
    with Collection.open(db) as col:
        similar, tags = _names(col.similar(query, k=8)), [(t.tag, t.score) for t in col.tag(query, k=5)]
        _damage(db, col, [query])
    with Collection.open(db) as col:
        again = _names(col.similar(query, k=8))
        assert [n for n, _ in again] == [n for n, _ in similar]
        assert [s for _, s in again] == pytest.approx([s for _, s in similar], abs=1e-3) and again[0][1] > 0.3
        assert [t.tag for t in col.tag(query, k=5)] == [w for w, _ in tags]
        os.unlink(query)  # the photo gone too: nothing to embed it from
        with pytest.raises(PixseekError, match="damaged.*pixseek verify"):
            col.similar(query, k=8)
        with pytest.raises(PixseekError, match="damaged.*pixseek verify"):
            col.tag(query, k=5)


@requires_data
def test_a_collection_held_open_sees_what_verify_repaired(indexed):
    db, files = indexed
    query, hidden = files[0], files[1:4]  # three other goldfish photos, the query's nearest
    with Collection.open(db) as col:
        before = _names(col.similar(query, k=6))
        assert {p.name for p in hidden} <= {n for n, _ in before}
        _damage(db, col, hidden)
    server = Collection.open(db)
    during = _names(server.similar(query, k=6))
    assert not {p.name for p in hidden} & {n for n, _ in during}  # damaged rows left out
    with Collection.open(db) as col:
        assert col.verify()["repaired"]
    server.refresh()  # what a server does before each request
    after = _names(server.similar(query, k=6))
    assert [n for n, _ in after] == [n for n, _ in before]
    server.close()


@requires_data
def test_rows_derived_while_a_stored_row_was_damaged(indexed):
    """Joint vectors derived while a photo's stored row was damaged never serve it; once `verify` embeds it
    again they are derived again; a row retired for good (its photo gone) leaves `verify` consistent."""
    db, files = indexed
    sentence = "a goldfish swimming in an aquarium"
    with Collection.open(db) as col:
        before = _names(col.search(sentence, k=6, bridge="joint", min_score=0))
        assert files[1].name in {n for n, _ in before}
        _damage(db, col, [files[1], files[2]])
        shutil.rmtree(db / DERIVED_DIR)
        col.reindex()  # an explicit step derives joint vectors again, now from the damaged rows too
    with Collection.open(db) as col:
        during = {n for n, _ in _names(col.search(sentence, k=20, bridge="joint", min_score=0))}
        assert not {files[1].name, files[2].name} & during
        os.unlink(files[2])  # its photo gone: verify can only retire it
        assert col.verify()["repaired"]
        after = _names(col.search(sentence, k=6, bridge="joint", min_score=0))
        kept = [n for n, _ in before if n != files[2].name]
        assert [n for n, _ in after][:len(kept)] == kept
        assert col.verify(repair=False)["ok"]
