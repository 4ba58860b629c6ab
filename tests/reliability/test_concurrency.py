"""Searches while an index run adds and removes images: no error, every hit a real catalogued file."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
from conftest import DATA, copy_tiny, requires_data

from pixseek import Collection


@requires_data
def test_search_while_indexing(tmp_path):
    photos, db = tmp_path / "photos", tmp_path / "db"
    classes = sorted(p.name for p in (DATA / "tiny-imagenet-200" / "val").iterdir())[:10]
    copy_tiny(photos, per_class=10, classes=classes[:2])
    Collection.open(db).index([photos], progress=False)
    copy_tiny(photos, per_class=50, classes=classes)  # 480 more to index while we search
    everything = {str(f) for f in photos.rglob("*.JPEG")}
    for f in sorted(photos.rglob("*.JPEG"))[:10]:
        f.unlink()  # and some to remove
    query = sorted(photos.rglob("*.JPEG"))[-1]
    reader = Collection.open(db)
    reader.search("animal", k=1)  # load word vectors and WordNet before the race starts
    reader.similar(query, k=1)
    proc = subprocess.Popen([sys.executable, "-m", "pixseek", "index", str(photos), "--db", str(db), "--batch-size", "8",
                             "--no-progress"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    searches, seen_sizes = 0, set()
    try:
        while proc.poll() is None:
            reader.refresh()
            for hits in (reader.search("animal", k=20), reader.similar(query, k=20)):
                assert all(np.isfinite(h.score) for h in hits)
                for h in hits:  # a file of the collection, old or new (a removed one may still be in the snapshot)
                    assert h.path in everything, h.path
                    rec = reader.catalog.file(h.path)
                    assert rec is None or rec.status == "ok", h.path
            seen_sizes.add(reader.status()["images"])
            searches += 1
            time.sleep(0.05)
    finally:
        proc.wait(timeout=600)
    assert proc.returncode == 0, proc.stderr.read()
    assert searches >= 3, "the index run ended before searches could overlap it"
    assert len(seen_sizes) >= 2, "searches never saw the collection change"
    reader.refresh()
    assert reader.status()["images"] == len(list(photos.rglob("*.JPEG")))
