"""Hostile and unusual files: each bad one is recorded with a reason, each odd-but-valid one is indexed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import cli_json
from hostile import BAD, GOOD, _photo, make_odd_files

from pixseek import Collection


@pytest.fixture
def odd_dir(tmp_path) -> Path:
    return make_odd_files(tmp_path / "odd")


def test_bad_files_are_recorded_and_good_ones_indexed(odd_dir, tmp_path):
    col = Collection.open(tmp_path / "db")
    report = col.index([odd_dir], progress=False)
    assert report.failed == len(BAD)
    assert report.indexed == len(GOOD)
    failed = {Path(f["path"]).name: f["error"] for f in col.status()["failed"]}
    assert set(failed) == BAD
    assert "empty" in failed["empty.jpg"]
    assert "not an image" in failed["notes.jpg"]
    assert "too large" in failed["bomb.png"] or "bomb" in failed["bomb.png"]
    assert failed["truncated.jpg"].startswith("corrupt")
    # a re-run does not retry unchanged bad files, and keeps listing them
    again = col.index([odd_dir], progress=False)
    assert (again.indexed, again.failed) == (0, 0)
    assert len(col.status()["failed"]) == len(BAD)


def test_exif_rotation_is_applied(odd_dir, tmp_path):
    col = Collection.open(tmp_path / "db")
    col.index([odd_dir], progress=False)
    rec = col.catalog.file(str(odd_dir / "rotated.jpg"))
    w, h = col.catalog.db.execute("SELECT width, height FROM contents WHERE id=?", (rec.content_id,)).fetchone()
    assert (w, h) == _photo().size  # upright size, not the stored sideways one
    # the sideways-stored photo is closest to its upright twin
    assert Path(col.similar(odd_dir / "rotated.jpg", k=1)[0].path).name in {"upright.png", "cmyk.jpg", "renamed-photo.dat"}


def test_fixing_a_broken_file_indexes_it(odd_dir, tmp_path):
    db = tmp_path / "db"
    cli_json("index", str(odd_dir), db=db)
    shutil.copy(odd_dir / "cmyk.jpg", odd_dir / "truncated.jpg")
    report = cli_json("index", str(odd_dir), db=db)
    assert report["indexed"] == 1 and report["failed"] == 0
    assert "truncated.jpg" not in {Path(f["path"]).name for f in cli_json("status", db=db)["failed"]}
