"""`pixseek reindex --encoder`: a collection switched to another encoder holds that encoder's vectors for
every photo, resumes an interrupted switch, and keeps the old vector of a photo whose file is gone."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import cli_json, copy_tiny, requires_data, run_cli

from pixseek import Collection
from pixseek.encoders.registry import load_image_encoder
from pixseek.encoders.visual import visual_vectors
from pixseek.ingest import switch_encoder as sw

FLOAT, INT8 = "efficientnet-lite0", "efficientnet-lite0-int8"


def _stored(db, paths) -> np.ndarray:
    col = Collection.open(db)
    ids = np.array([col.catalog.file(str(p)).content_id for p in paths])
    return np.asarray(col.visual.get(ids), np.float32)


def _own_vectors(spec: str, paths) -> np.ndarray:
    enc = load_image_encoder(spec)
    pixels = np.stack([enc.preprocess.load(str(p))[0] for p in paths])
    return visual_vectors(enc.embed(pixels))


@requires_data
def test_reindex_encoder_switches_every_vector_and_searches_follow(tmp_path):
    photos = sorted(copy_tiny(tmp_path / "photos", per_class=4))
    db = tmp_path / "db"
    run_cli("index", str(tmp_path / "photos"), "--encoder", FLOAT, "--no-progress", db=db)
    before = _stored(db, photos)
    (photos[0]).unlink()  # its vector stays: nothing to embed it from
    out = cli_json("reindex", "--encoder", INT8, "--no-progress", db=db)
    assert (out["encoder"], out["previous"], out["embedded"], out["kept"]) == (INT8, FLOAT, len(photos) - 1, 1)
    assert cli_json("status", db=db)["model"].startswith(INT8)
    after = _stored(db, photos[1:])
    np.testing.assert_allclose(after, _own_vectors(INT8, photos[1:]), atol=2e-3)  # float16 rows
    assert not np.allclose(after, before[1:], atol=2e-3)
    hits = cli_json("search", "goldfish", "-k", "3", db=db)  # the float model's joint space and cut-offs serve int8
    assert all("n01443537" in h["path"] for h in hits["results"]) and not hits["results"][0].get("weak")
    assert {"similar", "joint", "blend"} <= set(Collection.open(db).searcher.cutoffs)
    again = cli_json("reindex", "--encoder", INT8, db=db)  # nothing left to do
    assert again["switched"] is False
    with pytest.raises(AssertionError, match="not 'efficientnet-lite0'"):  # an existing collection keeps its encoder
        run_cli("index", str(tmp_path / "photos"), "--encoder", FLOAT, db=db)


@requires_data
def test_an_interrupted_switch_resumes_where_it_stopped(tmp_path, monkeypatch):
    photos = sorted(copy_tiny(tmp_path / "photos", per_class=4))
    col = Collection.open(tmp_path / "db", encoder=FLOAT)
    col.index([tmp_path / "photos"], progress=False)
    monkeypatch.setattr(sw, "CHUNK", 8)
    calls = []

    def stopping(spec):
        enc = load_image_encoder(spec)
        embed = enc.embed

        class Interrupted:  # the real encoder, stopped by Ctrl-C on its second chunk
            name, weights, dim, input_size = enc.name, enc.weights, enc.dim, enc.input_size
            preprocess, classes = enc.preprocess, enc.classes

            def embed(self, batch):
                calls.append(len(batch))
                if len(calls) == 2:
                    raise KeyboardInterrupt
                return embed(batch)

        return Interrupted()

    with pytest.raises(KeyboardInterrupt):
        sw.switch_encoder(col.layout, INT8, stopping, progress=False, workers=0)
    assert col.catalog.get_meta("encoder") == FLOAT  # unchanged until every row is written
    staged = (tmp_path / "db" / sw.STAGE / "visual.float16").stat().st_size // (2 * col.visual.dim)
    assert staged == 8
    calls.clear()
    report = col.switch_encoder(INT8, progress=False, workers=0)
    assert report["embedded"] == len(photos) - 8 and col.encoder_spec == INT8
    assert not (tmp_path / "db" / sw.STAGE).exists()
    np.testing.assert_allclose(_stored(tmp_path / "db", photos), _own_vectors(INT8, photos), atol=2e-3)
    assert run_cli("verify", "--check-only", "--json", db=tmp_path / "db").returncode == 0
