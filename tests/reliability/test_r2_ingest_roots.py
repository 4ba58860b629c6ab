"""Folders to index and watch are normalised once (relative paths and symlinks resolved): a watched folder
named either way sees its changes, a photo is catalogued under one path, and the collection's own folder
(its thumbnails) is never indexed, even through a symlink to a folder that holds it."""

from __future__ import annotations

import shutil
import threading

import pytest
from conftest import TINY_VAL, cli_json, copy_tiny, requires_data, run_cli, wait_for, watching

from pixseek import Collection
from pixseek.ingest.watch import dirty_folders
from pixseek.store.catalog import FileRecord


def test_dirty_folders_match_roots_named_relatively_or_through_a_link(tmp_path, monkeypatch):
    real = tmp_path / "real"
    (real / "sub").mkdir(parents=True)
    (tmp_path / "link").symlink_to(real)
    monkeypatch.chdir(tmp_path)
    changed = {str(real / "sub" / "new.jpg")}
    for root in ("real", "link", str(tmp_path / "link"), "./link/"):
        assert dirty_folders(changed, [tmp_path / root if root.startswith("/") else type(real)(root)]) == [real / "sub"]
    assert dirty_folders({"link/sub/new.jpg"}, [real]) == [real / "sub"]
    (real / "db" / "thumbs").mkdir(parents=True)  # a collection inside the watched folder: its writes are not changes
    written = {str(real / "db" / "catalog.sqlite-wal"), "link/db/thumbs/a.jpg", str(real / "db" / "gone" / "x")}
    assert dirty_folders(written, [tmp_path / "link"], skip=tmp_path / "link" / "db") == []
    assert dirty_folders(written | changed, [real], skip=real / "db") == [real / "sub"]


@requires_data
@pytest.mark.parametrize("named", ["relative", "link"])
def test_watch_sees_changes_in_a_folder_named_relatively_or_through_a_link(tmp_path, monkeypatch, named):
    photos = tmp_path / "photos"
    copy_tiny(photos, per_class=1)
    (tmp_path / "link").symlink_to(photos)
    monkeypatch.chdir(tmp_path)
    root = "photos" if named == "relative" else "link"
    col = Collection.open(tmp_path / "db")
    with watching(col, [root]) as (_, errors):
        reader = Collection.open(tmp_path / "db")
        assert wait_for(lambda: reader.catalog.counts()["files"] == 5)
        new = sorted((TINY_VAL / "n01443537").glob("*.JPEG"))[9]
        shutil.copy2(new, photos / "n01443537" / "added.JPEG")
        assert wait_for(lambda: reader.catalog.file(str(photos / "n01443537" / "added.JPEG")) is not None, 60)
        (photos / "n02123045").rename(photos / "cats")
        assert wait_for(lambda: reader.catalog.files_under([str(photos / "cats")]), 60)
        assert set(reader.catalog.files_under([str(tmp_path)])) <= {str(p) for p in photos.rglob("*.JPEG")}
        assert errors == []


@requires_data
def test_a_link_to_a_folder_holding_the_collection_leaves_the_collection_out(tmp_path):
    home = tmp_path / "home"
    copy_tiny(home, per_class=1)
    db = home / "db"
    (db / "thumbs").mkdir(parents=True)
    shutil.copy2(sorted((TINY_VAL / "n07747607").glob("*.JPEG"))[3], db / "thumbs" / "cached.jpg")
    (tmp_path / "link").symlink_to(home)
    report = cli_json("index", str(tmp_path / "link"), "--no-progress", db=db)
    assert (report["indexed"], report["failed"]) == (5, 0), report
    paths = set(Collection.open(db).catalog.files_under([str(tmp_path)]))
    assert paths == {str(p) for p in home.glob("n*/*.JPEG")}  # catalogued under the real folder, once
    again = cli_json("index", str(home), "--no-progress", db=db)
    assert (again["indexed"], again["skipped"], again["removed"]) == (0, 5, 0), again
    inside = run_cli("index", str(tmp_path / "link" / "db"), "--no-progress", db=db, check=False)
    assert inside.returncode == 1 and "inside the collection folder" in inside.stderr, inside.stderr


@requires_data
def test_files_catalogued_through_a_link_by_earlier_runs_are_not_left_behind(tmp_path):
    home = tmp_path / "home"
    copy_tiny(home, per_class=1)
    (tmp_path / "link").symlink_to(home)
    db = tmp_path / "db"
    catalog = Collection.open(db).catalog
    catalog.begin()  # what an earlier version stored: the path as given, through the link
    catalog.put_file(FileRecord(str(tmp_path / "link" / "n01443537" / "old.JPEG"), 1, 1, "failed", error="old"))
    catalog.commit()
    report = cli_json("index", str(tmp_path / "link"), "--no-progress", db=db)
    assert (report["indexed"], report["removed"]) == (5, 1), report
    assert set(Collection.open(db).catalog.files_under([str(tmp_path)])) == {str(p) for p in home.glob("n*/*.JPEG")}



@requires_data
def test_watching_a_folder_that_holds_the_collection_never_indexes_the_collection(tmp_path, capsys):
    home = tmp_path / "home"
    copy_tiny(home, per_class=1)
    (tmp_path / "link").symlink_to(home)
    col = Collection.open(home / "db")
    stop, runs = threading.Event(), []
    watcher = threading.Thread(target=col.watch, args=([tmp_path / "link"],),
                               kwargs={"progress": False, "debounce": 0.3, "stop": stop, "on_change": runs.append})
    watcher.start()
    try:
        reader = Collection.open(home / "db")
        assert wait_for(lambda: reader.catalog.counts()["files"] == 5)
        (home / "db" / "thumbs").mkdir()
        shutil.copy2(sorted((TINY_VAL / "n07747607").glob("*.JPEG"))[3], home / "db" / "thumbs" / "cached.jpg")
        shutil.copy2(sorted((TINY_VAL / "n07747607").glob("*.JPEG"))[4], home / "new.jpg")
        assert wait_for(lambda: reader.catalog.file(str(home / "new.jpg")) is not None, 60)
    finally:
        stop.set()
        watcher.join(timeout=30)
    assert set(reader.catalog.files_under([str(tmp_path)])) == {str(p) for p in home.rglob("*") if p.suffix
                                                                 in (".JPEG", ".jpg") and "db" not in p.parts}
    assert "inside the collection folder" not in capsys.readouterr().err
    assert runs and all(r.failed == 0 for r in runs)
