"""The catalog's schema versions (store/catalog_schema.py): every table a collection uses comes with them."""

from __future__ import annotations

import sqlite3

from pixseek import Collection
from pixseek.store import photo_text
from pixseek.store.catalog_schema import SCHEMA_VERSION


def _tables(path) -> set[str]:
    con = sqlite3.connect(path)
    try:
        return {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'index')")}
    finally:
        con.close()


def test_photo_text_tables_come_with_the_schema_and_an_older_catalog_keeps_its_text(tmp_path):
    db = tmp_path / "db"
    Collection.open(db).close()
    assert {"photo_text_read", "photo_text_lines", "photo_text_fts"} <= _tables(db / "catalog.sqlite")
    con = sqlite3.connect(db / "catalog.sqlite")  # as a catalog of version 6 whose OCR stage made these tables
    con.execute("INSERT INTO contents (id, hash) VALUES (0, 'abc')")
    con.execute("INSERT INTO photo_text_read VALUES (0, 1, 0)")
    con.execute("INSERT INTO photo_text_lines VALUES (1, 0, 'CAFE PARIS', 0, 0, 10, 10, 0.9)")
    con.execute("INSERT INTO photo_text_fts (rowid, norm) VALUES (1, ?)", (photo_text.normalise("CAFE PARIS"),))
    con.execute("PRAGMA user_version=6")
    con.commit()
    con.close()
    with Collection.open(db) as col:
        assert col.catalog.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 7
        assert [line.text for line in photo_text.containing(col.catalog.db, "paris")] == ["CAFE PARIS"]
