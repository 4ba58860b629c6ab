"""Taught concepts in the catalog (schema 4): each name's examples and the model fitted on them.

An example keeps its own visual vector, so a concept outlives the files it was taught from and a new
file (never indexed) can be an example. The model is written in the same transaction as the examples it
was fitted on, so a concept read back is always whole: a kill -9 while teaching leaves the previous
state. Names match case-insensitively ("Rex" and "rex" are one concept).
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

import numpy as np


@dataclass
class Example:
    label: str  # what the user gave: a path (with its box), or "upload"
    vector: np.ndarray  # (dim,) float32 visual vector
    positive: bool = True
    content_id: int | None = None


@dataclass
class StoredConcept:
    name: str
    heads: dict[str, tuple[np.ndarray, float]]  # space ("visual", "joint") -> (float32 weights, bias)
    matches: int
    examples: int  # positive examples
    counter_examples: int
    updated_at: float


def _has_tables(db: sqlite3.Connection) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE name='concepts'").fetchone() is not None


def concepts(db: sqlite3.Connection) -> list[StoredConcept]:
    """Every taught concept, by name (none in a catalog older than schema 4). A head whose numbers are not
    finite is left out (teaching the name again rebuilds it), and so is a concept left with none."""
    if not _has_tables(db):
        return []
    rows = db.execute(
        "SELECT c.name, c.matches, c.updated_at,"
        " (SELECT COUNT(*) FROM concept_examples e WHERE e.concept = c.name AND e.positive = 1),"
        " (SELECT COUNT(*) FROM concept_examples e WHERE e.concept = c.name AND e.positive = 0)"
        " FROM concepts c ORDER BY c.name COLLATE NOCASE").fetchall()
    heads: dict[str, dict[str, tuple[np.ndarray, float]]] = {}
    for concept, space, blob, bias in db.execute("SELECT concept, space, weights, bias FROM concept_heads"):
        w = np.frombuffer(blob, np.float32)
        if len(w) and np.all(np.isfinite(w)) and np.isfinite(bias):
            heads.setdefault(concept.lower(), {})[space] = (w, float(bias))
    return [StoredConcept(name, heads[name.lower()], matches, pos, neg, updated)
            for name, matches, updated, pos, neg in rows if heads.get(name.lower())]


def examples(db: sqlite3.Connection, name: str) -> list[Example]:
    if not _has_tables(db):
        return []
    rows = db.execute("SELECT label, vector, positive, content_id FROM concept_examples WHERE concept = ? ORDER BY id",
                      (name,)).fetchall()
    return [Example(label, np.frombuffer(v, np.float32).copy(), bool(pos), cid) for label, v, pos, cid in rows]


def stored_name(db: sqlite3.Connection, name: str) -> str | None:
    """The concept's name as first taught, if `name` (any case) is one."""
    if not _has_tables(db):
        return None
    row = db.execute("SELECT name FROM concepts WHERE name = ?", (name,)).fetchone()
    return row[0] if row else None


def save(db: sqlite3.Connection, name: str, added: list[Example], heads: dict[str, tuple[np.ndarray, float]],
         matches: int) -> None:
    """Add examples to a concept and store the heads fitted on all of them, in one transaction."""
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute("INSERT INTO concepts(name, matches, updated_at) VALUES (?, ?, ?)"
                   " ON CONFLICT(name) DO UPDATE SET matches=excluded.matches, updated_at=excluded.updated_at",
                   (name, int(matches), time.time()))
        db.execute("DELETE FROM concept_heads WHERE concept = ?", (name,))
        db.executemany("INSERT INTO concept_heads(concept, space, weights, bias) VALUES (?, ?, ?, ?)",
                       [(name, space, np.ascontiguousarray(w, np.float32).tobytes(), float(b))
                        for space, (w, b) in heads.items()])
        db.executemany("INSERT INTO concept_examples(concept, positive, label, content_id, vector) VALUES (?, ?, ?, ?, ?)",
                       [(name, int(e.positive), e.label, e.content_id,
                         np.ascontiguousarray(e.vector, np.float32).tobytes()) for e in added])
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


def forget(db: sqlite3.Connection, name: str) -> bool:
    """Remove a concept and its examples; False if there was none by that name."""
    if not _has_tables(db):
        return False
    db.execute("BEGIN IMMEDIATE")
    try:
        gone = db.execute("DELETE FROM concepts WHERE name = ?", (name,)).rowcount
        db.execute("DELETE FROM concept_heads WHERE concept = ?", (name,))
        db.execute("DELETE FROM concept_examples WHERE concept = ?", (name,))
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    return gone > 0


def version(db: sqlite3.Connection) -> float:
    """Changes when any concept does (a searcher re-reads its concepts then)."""
    if not _has_tables(db):
        return 0.0
    row = db.execute("SELECT COUNT(*), COALESCE(MAX(updated_at), 0) FROM concepts").fetchone()
    return row[0] * 1e12 + row[1]
