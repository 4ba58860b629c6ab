"""Faces and people, kept inside the collection's catalog.sqlite (schema 6, store/catalog_schema.py).

A face is a box in a content, with the detector's score, a quality and its descriptor (a float32 blob in
the same row, so a face and its descriptor are written in one transaction: a killed run leaves both or
neither). `faces_read` marks the contents the face stage has looked at, so it resumes where it stopped.
People are ids (never reused) with an optional name. Rows of a content no file holds any more are left
out of every answer and deleted by `prune` (each face-stage run).

`descriptors` loads every live face's descriptor once per catalog change; search/people.py builds its
nearest-neighbour index over them (FAISS when large).
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

import numpy as np

from pixseek.errors import PixseekError

_LIVE = "content_id IN (SELECT id FROM contents WHERE live=1)"


@dataclass(frozen=True)
class StoredFace:
    id: int
    content_id: int
    box: tuple[int, int, int, int]
    score: float
    quality: float
    person_id: int | None


@dataclass(frozen=True)
class Person:
    id: int
    name: str | None
    count: int  # live photos with this person's face
    cover: int | None  # the face id of their best face (highest quality)


@dataclass
class Descriptors:
    """Every live face's id, content, person (-1: none) and descriptor, as arrays (see `descriptors`)."""

    ids: np.ndarray
    contents: np.ndarray
    people: np.ndarray
    vectors: np.ndarray  # float32, (n, 128)


def exists(db: sqlite3.Connection) -> bool:
    """False in a catalog older than schema 6 opened read-only (nothing was ever looked at there)."""
    return db.execute("SELECT 1 FROM sqlite_master WHERE name='faces_read'").fetchone() is not None


def unread(db: sqlite3.Connection) -> list[int]:
    """Live content ids the face stage has not looked at, in id order."""
    return [r[0] for r in db.execute(
        "SELECT id FROM contents WHERE live=1 AND id NOT IN (SELECT content_id FROM faces_read) ORDER BY id")]


def put(db: sqlite3.Connection, cid: int, faces: list, small: int, failed: bool) -> None:
    """Store one content's faces (encoders/faces.Face, replacing any earlier ones) and mark it read; the
    caller commits."""
    forget_contents(db, [cid])
    for f in faces:
        x0, y0, x1, y1 = (int(c) for c in f.box)
        db.execute("INSERT INTO faces(content_id, x0, y0, x1, y1, score, quality, vector) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   (cid, x0, y0, x1, y1, float(f.score), float(f.quality), np.asarray(f.vector, np.float32).tobytes()))
    db.execute("INSERT INTO faces_read(content_id, faces, small, failed, read_at) VALUES (?, ?, ?, ?, ?)",
               (cid, len(faces), int(small), int(failed), time.time()))


def forget_contents(db: sqlite3.Connection, cids: list[int]) -> None:
    for cid in cids:
        db.execute("DELETE FROM faces WHERE content_id=?", (cid,))
        db.execute("DELETE FROM faces_read WHERE content_id=?", (cid,))


def prune(db: sqlite3.Connection) -> int:
    """Delete the faces of contents no file holds any more, and people left without a face who have no
    name; the caller commits."""
    dead = [r[0] for r in db.execute("SELECT content_id FROM faces_read WHERE content_id NOT IN "
                                     "(SELECT id FROM contents WHERE live=1)")]
    forget_contents(db, dead)
    db.execute("DELETE FROM people WHERE name IS NULL AND id NOT IN "
               "(SELECT person_id FROM faces WHERE person_id IS NOT NULL)")
    return len(dead)


def faces_of(db: sqlite3.Connection, cid: int) -> list[StoredFace] | None:
    """One content's faces, largest first; None if the face stage never looked at it."""
    if db.execute("SELECT 1 FROM faces_read WHERE content_id=?", (cid,)).fetchone() is None:
        return None
    rows = db.execute("SELECT id, content_id, x0, y0, x1, y1, score, quality, person_id FROM faces WHERE content_id=? "
                      "ORDER BY (x1 - x0) * (y1 - y0) DESC, id", (cid,))
    return [StoredFace(i, c, (x0, y0, x1, y1), s, q, p) for i, c, x0, y0, x1, y1, s, q, p in rows]


def descriptors(db: sqlite3.Connection, pending_only: bool = False) -> Descriptors:
    """Live faces' descriptors (pending_only: those not anyone's yet), in the order of their photo's
    content hash, then place in it: the same photos come in the same order in any collection, whatever
    order they were indexed in."""
    pending = " AND f.person_id IS NULL" if pending_only else ""
    rows = db.execute("SELECT f.id, f.content_id, COALESCE(f.person_id, -1), f.vector FROM faces f JOIN contents c "
                      f"ON c.id = f.content_id WHERE c.live=1{pending} ORDER BY c.hash, f.x0, f.y0, f.id").fetchall()
    if not rows:
        return Descriptors(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 128), np.float32))
    ids, cids, people, blobs = zip(*rows)
    vectors = np.frombuffer(b"".join(blobs), np.float32).reshape(len(rows), -1)
    return Descriptors(np.array(ids, np.int64), np.array(cids, np.int64), np.array(people, np.int64), vectors.copy())


def assign(db: sqlite3.Connection, face_ids: list[int], person_id: int) -> None:
    db.executemany("UPDATE faces SET person_id=? WHERE id=?", [(person_id, int(f)) for f in face_ids])


def new_person(db: sqlite3.Connection) -> int:
    return db.execute("INSERT INTO people(created_at) VALUES (?)", (time.time(),)).lastrowid


def people(db: sqlite3.Connection) -> list[Person]:
    """Everyone with a live face or a name, most photos first, then by id."""
    rows = db.execute(f"""
        SELECT p.id, p.name, COUNT(DISTINCT f.content_id),
               (SELECT g.id FROM faces g WHERE g.person_id = p.id AND g.{_LIVE} ORDER BY g.quality DESC, g.id LIMIT 1)
        FROM people p LEFT JOIN faces f ON f.person_id = p.id AND f.{_LIVE}
        GROUP BY p.id HAVING COUNT(f.id) > 0 OR p.name IS NOT NULL
        ORDER BY COUNT(DISTINCT f.content_id) DESC, p.id""").fetchall()
    return [Person(i, n, c, cover) for i, n, c, cover in rows]


def person(db: sqlite3.Connection, person_id: int) -> Person:
    """One person, or a one-line error naming the id."""
    for p in people(db):
        if p.id == person_id:
            return p
    raise PixseekError(f"no person {person_id} in this collection (pixseek people lists them)")


def photos_of(db: sqlite3.Connection, person_id: int) -> list[int]:
    """Live content ids with this person's face, their best face first."""
    return [r[0] for r in db.execute(
        f"SELECT content_id FROM faces WHERE person_id=? AND {_LIVE} GROUP BY content_id ORDER BY MAX(quality) DESC, content_id",
        (person_id,))]


def names(db: sqlite3.Connection) -> dict[str, int]:
    """{name in lower case: person id} of the named people."""
    return {n.lower(): i for i, n in db.execute("SELECT id, name FROM people WHERE name IS NOT NULL")}


def set_name(db: sqlite3.Connection, person_id: int, name: str | None) -> None:
    """Name (or with None, unname) a person; a name another person holds is refused; the caller commits."""
    if name is not None:
        other = db.execute("SELECT id FROM people WHERE name=? AND id<>?", (name, person_id)).fetchone()
        if other is not None:
            raise PixseekError(f"{name!r} already names person {other[0]}: merge them with `pixseek people merge "
                               f"{other[0]} {person_id}`")
    db.execute("UPDATE people SET name=? WHERE id=?", (name, person_id))


def merge(db: sqlite3.Connection, keep: int, other: int) -> None:
    """`other`'s faces become `keep`'s, `keep` takes other's name if it had none; the caller commits."""
    name = db.execute("SELECT name FROM people WHERE id=?", (other,)).fetchone()[0]
    db.execute("UPDATE faces SET person_id=? WHERE person_id=?", (keep, other))
    db.execute("DELETE FROM people WHERE id=?", (other,))
    if name is not None and db.execute("SELECT name FROM people WHERE id=?", (keep,)).fetchone()[0] is None:
        db.execute("UPDATE people SET name=? WHERE id=?", (name, keep))


def forget_person(db: sqlite3.Connection, person_id: int) -> int:
    """Delete a person and their faces' descriptors (the photos stay read, so their faces do not come
    back); the number of faces deleted. The caller commits."""
    n = db.execute("DELETE FROM faces WHERE person_id=?", (person_id,)).rowcount
    db.execute("DELETE FROM people WHERE id=?", (person_id,))
    return n


def counts(db: sqlite3.Connection) -> dict[str, int]:
    """{"read": live photos looked at, "with_faces", "faces", "small": faces skipped as too small, "people"}."""
    if not exists(db):
        return {"read": 0, "with_faces": 0, "faces": 0, "small": 0, "people": 0}
    read, with_faces, small = db.execute(
        f"SELECT COUNT(*), COALESCE(SUM(faces > 0), 0), COALESCE(SUM(small), 0) FROM faces_read WHERE {_LIVE}").fetchone()
    n_faces = db.execute(f"SELECT COUNT(*) FROM faces WHERE {_LIVE}").fetchone()[0]
    return {"read": read, "with_faces": with_faces, "faces": n_faces, "small": small, "people": len(people(db))}
