"""Text read in photos, kept inside the collection's catalog.sqlite beside the contents it belongs to.

Three tables, created by the catalog's schema version 7 (store/catalog_schema.py): which content ids were
read (so the OCR stage resumes; a row with no lines is a photo without text), their lines
with box and confidence, and an FTS5 index over each line's normalised text with the trigram tokenizer,
so any substring of three or more characters matches, case-insensitively. Normalising folds the OCR
confusions that cost nothing to fold (0/O, 1/l/I, 5/S) in stored text and queries alike. Rows of a
content no file holds any more are left out of every answer and deleted by `prune` (each OCR run).
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

_FOLD = str.maketrans({"0": "o", "1": "l", "i": "l", "|": "l", "5": "s"})
_LIVE = "content_id IN (SELECT id FROM contents WHERE live=1)"


def normalise(text: str) -> str:
    """Lower case, whitespace runs as one space, and 0/O, 1/l/I/|, 5/S folded together."""
    return " ".join(text.lower().split()).translate(_FOLD)


@dataclass(frozen=True)
class StoredLine:
    content_id: int
    text: str
    box: tuple[int, int, int, int]
    confidence: float


def exists(db: sqlite3.Connection) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE name='photo_text_read'").fetchone() is not None


def unread(db: sqlite3.Connection) -> list[int]:
    """Live content ids not read yet, in id order (the order they were indexed)."""
    return [r[0] for r in db.execute(
        "SELECT id FROM contents WHERE live=1 AND id NOT IN (SELECT content_id FROM photo_text_read) ORDER BY id")]


def put(db: sqlite3.Connection, cid: int, lines: list[tuple[str, tuple[int, int, int, int], float]]) -> None:
    """Store one content's lines (replacing any earlier reading) and mark it read; the caller commits."""
    forget(db, [cid])
    for text, (x0, y0, x1, y1), conf in lines:
        cur = db.execute("INSERT INTO photo_text_lines(content_id, text, x0, y0, x1, y1, confidence) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?)", (cid, text, x0, y0, x1, y1, conf))
        db.execute("INSERT INTO photo_text_fts(rowid, norm) VALUES (?, ?)", (cur.lastrowid, normalise(text)))
    db.execute("INSERT INTO photo_text_read(content_id, lines, read_at) VALUES (?, ?, ?)", (cid, len(lines), time.time()))


def forget(db: sqlite3.Connection, cids: list[int]) -> None:
    """Delete what was read in these contents; the caller commits."""
    for cid in cids:
        db.execute("DELETE FROM photo_text_fts WHERE rowid IN (SELECT id FROM photo_text_lines WHERE content_id=?)", (cid,))
        db.execute("DELETE FROM photo_text_lines WHERE content_id=?", (cid,))
        db.execute("DELETE FROM photo_text_read WHERE content_id=?", (cid,))


def prune(db: sqlite3.Connection) -> int:
    """Delete the readings of contents no file holds any more (released by the catalog); the caller commits."""
    dead = [r[0] for r in db.execute("SELECT content_id FROM photo_text_read WHERE content_id NOT IN "
                                     "(SELECT id FROM contents WHERE live=1)")]
    forget(db, dead)
    return len(dead)


def lines_of(db: sqlite3.Connection, cid: int) -> list[StoredLine] | None:
    """The lines read in one content, top to bottom; None if it was never read."""
    if not exists(db) or db.execute("SELECT 1 FROM photo_text_read WHERE content_id=?", (cid,)).fetchone() is None:
        return None
    rows = db.execute("SELECT content_id, text, x0, y0, x1, y1, confidence FROM photo_text_lines WHERE content_id=? "
                      "ORDER BY id", (cid,))
    return [StoredLine(c, t, (x0, y0, x1, y1), conf) for c, t, x0, y0, x1, y1, conf in rows]


def counts(db: sqlite3.Connection) -> dict[str, int]:
    """{"read": live photos read, "with_text": of those, photos with at least one line}."""
    if not exists(db):
        return {"read": 0, "with_text": 0}
    read, with_text = db.execute(f"SELECT COUNT(*), COALESCE(SUM(lines > 0), 0) FROM photo_text_read WHERE {_LIVE}").fetchone()
    return {"read": read, "with_text": with_text}


def has_text(db: sqlite3.Connection) -> bool:
    return exists(db) and db.execute(f"SELECT 1 FROM photo_text_lines WHERE {_LIVE} LIMIT 1").fetchone() is not None


def containing(db: sqlite3.Connection, needle: str, limit: int = 100_000) -> list[StoredLine]:
    """Lines of live contents whose text contains `needle` (normalised; any length, trigram index from 3)."""
    norm = normalise(needle)
    if not norm or not exists(db):
        return []
    cols = "l.content_id, l.text, l.x0, l.y0, l.x1, l.y1, l.confidence"
    live = "l." + _LIVE
    if len(norm) >= 3:
        rows = db.execute(f"SELECT {cols} FROM photo_text_fts f JOIN photo_text_lines l ON l.id = f.rowid "
                          f"WHERE photo_text_fts MATCH ? AND {live} LIMIT ?", ('"' + norm.replace('"', '""') + '"', limit))
    else:  # shorter than a trigram: a scan, still on the normalised text
        rows = db.execute(f"SELECT {cols} FROM photo_text_fts f JOIN photo_text_lines l ON l.id = f.rowid "
                          f"WHERE instr(f.norm, ?) > 0 AND {live} LIMIT ?", (norm, limit))
    return [StoredLine(c, t, (x0, y0, x1, y1), conf) for c, t, x0, y0, x1, y1, conf in rows]


class PhotoTextIndex:
    """One catalog's photo text as search reads it (search/photo_text_fusion.py PhotoText)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def has_text(self) -> bool:
        return has_text(self.db)

    def containing(self, needle: str) -> list[StoredLine]:
        return containing(self.db, needle)
