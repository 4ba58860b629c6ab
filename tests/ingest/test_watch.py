"""A watched folder: photos copied in become searchable, deleted ones leave, moves are followed, and a
watcher killed with SIGKILL loses nothing and duplicates nothing when it starts again."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import threading
import time

from conftest import TINY_VAL, cli_json, copy_tiny, requires_data, wait_for

from pixseek import Collection


@requires_data
def test_added_moved_and_deleted_photos_follow_the_folder(tmp_path):
    photos = tmp_path / "photos"
    copy_tiny(photos, per_class=3)
    col = Collection.open(tmp_path / "db")
    stop, runs = threading.Event(), []
    watcher = threading.Thread(target=col.watch, args=([photos],), kwargs={"progress": False, "debounce": 0.5,
                                                                          "stop": stop, "on_change": runs.append})
    watcher.start()
    try:
        reader = Collection.open(tmp_path / "db")

        def images() -> int:
            return reader.catalog.counts()["images"]

        assert wait_for(lambda: images() == 15)
        new = sorted((TINY_VAL / "n01443537").glob("*.JPEG"))[10]
        shutil.copy2(new, photos / "n01443537" / "new-goldfish.JPEG")
        assert wait_for(lambda: images() == 16)
        reader.refresh()  # what a server does per request: the new photo is searchable now
        hits = reader.similar(new, k=16, min_score=0)  # every photo, however alike
        assert len(hits) == 15  # every other photo; the query itself is the new one, now indexed
        (photos / "n01443537" / "new-goldfish.JPEG").rename(photos / "moved.JPEG")
        assert wait_for(lambda: reader.catalog.file(str(photos / "moved.JPEG")) is not None)
        assert reader.catalog.file(str(photos / "n01443537" / "new-goldfish.JPEG")) is None
        shutil.rmtree(photos / "n02123045")
        assert wait_for(lambda: images() == 13)
    finally:
        stop.set()
        watcher.join(timeout=30)
    assert not watcher.is_alive()
    assert runs and all(r.failed == 0 for r in runs)


@requires_data
def test_a_killed_watcher_catches_up_on_restart(tmp_path):
    photos = tmp_path / "photos"
    copy_tiny(photos, per_class=2)
    db = tmp_path / "db"
    cmd = [sys.executable, "-c", "import sys; from pixseek import Collection; "
           "Collection.open(sys.argv[1]).watch([sys.argv[2]], progress=False, debounce=0.3)", str(db), str(photos)]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: db.joinpath("catalog.sqlite").exists()
                        and cli_json("status", db=db)["images"] == 10), "the first run never finished"
        for f in sorted((TINY_VAL / "n07747607").glob("*.JPEG"))[5:25]:
            shutil.copy2(f, photos / f.name)
        time.sleep(0.6)  # let the watcher start on them
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    restarted = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: cli_json("status", db=db)["images"] == 30), "the restart did not catch up"
    finally:
        restarted.send_signal(signal.SIGKILL)
        restarted.wait(timeout=30)
    assert cli_json("verify", "--check-only", db=db)["ok"]
    status = cli_json("status", db=db)
    assert (status["images"], status["files"]) == (30, 30)

