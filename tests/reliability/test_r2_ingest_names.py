"""File names are stored reversibly for every byte sequence: undecodable bytes (Python's surrogate
escapes U+DC80-U+DCFF) and real private-use characters (U+F77F-U+F7FF, where the escapes are kept) never
collide, so three such files are three catalog rows, found again by the next run."""

from __future__ import annotations

import os
import shutil

from conftest import TINY_VAL, cli_json, requires_data

from pixseek.store.catalog import Catalog, FileRecord, from_db, to_db

ESCAPES = [chr(c) for c in range(0xDC80, 0xDD00)]  # every byte that is not UTF-8 (0x80-0xFF)
PRIVATE = [chr(c) for c in range(0xF700, 0xF800)]  # around and in the range the escapes are stored as


def test_every_escape_and_private_use_name_round_trips_and_stays_distinct(tmp_path):
    names = [f"/p/{c}.jpg" for c in ESCAPES + PRIVATE]
    names += [f"/p/{a}{b}" for a in ("\uf77f", "\uf780", "\udc80", "a") for b in ("\uf77f", "\uf7ff", "\udcff", "")]
    names += ["/p/x\uf77f\uf77f\uf77f", "/p/\udcff\uf7ff\uf77f\uf780", "/p/\uf77f\uf77fa"]
    names = list(dict.fromkeys(names))
    assert len({to_db(n) for n in names}) == len(names)
    assert [from_db(to_db(n)) for n in names] == names
    catalog = Catalog(tmp_path / "catalog.sqlite")
    catalog.begin()
    for n in names:
        catalog.put_file(FileRecord(n, 1, 1, "failed", error=f"cannot read {n}"))
    catalog.commit()
    assert set(catalog.files_under(["/p"])) == set(names)
    assert all(catalog.file(n).path == n for n in names)
    assert sorted(catalog.failed()) == sorted((n, f"cannot read {n}") for n in names)


def test_names_stored_by_earlier_versions_read_the_same(tmp_path):
    """Escapes were stored as U+F780-U+F7FF before: those rows still name the same files."""
    for c in ESCAPES:
        assert from_db(f"/p/{chr(ord(c) + 0x1B00)}.jpg") == f"/p/{c}.jpg"


@requires_data
def test_three_files_whose_names_collided_are_three_photos(tmp_path):
    photos = tmp_path / "photos"
    os.makedirs(photos)
    sources = sorted((TINY_VAL / "n01443537").glob("*.JPEG"))[:3]
    names = [b"a\xf7.jpg", "a\uf7f7.jpg".encode(), "a\uf77f\uf7f7.jpg".encode()]
    for src, name in zip(sources, names):
        shutil.copy2(src, os.path.join(os.fsencode(photos), name))
    db = tmp_path / "db"
    first = cli_json("index", str(photos), "--no-progress", db=db)
    assert (first["indexed"], first["removed"]) == (3, 0), first
    again = cli_json("index", str(photos), "--no-progress", db=db)
    assert (again["indexed"], again["skipped"], again["removed"]) == (0, 3, 0), again
    status = cli_json("status", db=db)
    assert status["files"] == 3
    catalog = Catalog(db / "catalog.sqlite", readonly=True)
    stored = {os.fsencode(p) for p, in ((from_db(r[0]),) for r in catalog.db.execute("SELECT path FROM files"))}
    assert stored == {os.path.join(os.fsencode(photos), n) for n in names}
