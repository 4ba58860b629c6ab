"""Build-once cache files for word data (GloVe tables, WordNet), so a cold `pixseek search` reads a few
pages of a compact file instead of parsing or unpickling everything.

A cache file is named by a key of its sources (path, size, mtime), so a changed source gets a new file.
It is written whole under a temp name and renamed into place (pixseek/atomic.py): two processes that
start cold at once each build and rename a complete file, and neither ever reads a half-written one.
A file that is there but damaged (truncated, overwritten) fails its check and is built again.

The WordNet cache is one SQLite file (read-only, immutable, so opening it costs ~1 ms and a lookup
a few microseconds); its tables read like the dicts of lexicon/wordnet.py through `SqlTable`.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from pixseek.atomic import atomic_path
from pixseek.errors import PixseekError

WORDNET_FORMAT = 2  # part of the WordNet cache's key: bump it when the tables' layout changes


def stamp(path: Path) -> str:
    """What identifies a source file's version: its real path, size and modification time."""
    st = path.stat()
    return f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}"


def key(*parts: str) -> str:
    return hashlib.sha1(":".join(parts).encode()).hexdigest()[:16]


def ensure(path: Path, build: Callable[[Path], None], valid: Callable[[Path], bool]) -> Path:
    """`path`, built first by `build(tmp)` if it is missing or fails `valid` (damaged): `build` writes a
    temp file that replaces `path` only when whole."""
    if path.exists() and valid(path):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, suffix=path.suffix) as tmp:
        build(tmp)
    if not valid(path):
        raise PixseekError(f"cannot build the cache file {path}")
    return path


_MISSING = object()


class SqlTable(Mapping[str, list[str]]):  # or Mapping[str, str] with split=False
    """One table of a read-only SQLite cache as a dict of word -> list of words (space-joined in the file)."""

    def __init__(self, db: sqlite3.Connection, table: str, column: str, split: bool = True) -> None:
        """`split`: values are lists (False: plain strings, as in the irregular plurals' table)."""
        self._db, self._split = db, split
        self._one = f"SELECT {column} FROM {table} WHERE k = ?"
        self._some = f"SELECT k, {column} FROM {table} WHERE k IN ({{}})"  # {}: one ? per key
        self._keys = f"SELECT k FROM {table} WHERE {column} IS NOT NULL"
        self._count = f"SELECT count(*) FROM {table} WHERE {column} IS NOT NULL"
        self._len: int | None = None
        self._seen: dict[str, object] = {}  # lookups already made: tagging walks the same subtrees often

    def __getitem__(self, k: str) -> list[str]:
        hit = self._seen.get(k, _MISSING) if isinstance(k, str) else None
        if hit is _MISSING:
            row = self._db.execute(self._one, (k,)).fetchone()
            hit = None if row is None or row[0] is None else (
                row[0] if not self._split else row[0].split(" ") if row[0] else [])
            self._seen[k] = hit
        if hit is None:
            raise KeyError(k)
        return list(hit) if self._split else hit  # type: ignore[return-value]  # a copy: callers may change it

    def get(self, k: str, default=None):
        try:
            return self[k]
        except KeyError:
            return default

    def many(self, keys: list[str]) -> dict[str, list[str]]:
        """{k: value} of the keys the table holds, read in a few queries (a collection's 1,000 class names
        one by one were ~10 ms of a cold search) and remembered like single lookups."""
        todo = [k for k in dict.fromkeys(keys) if k not in self._seen]
        for at in range(0, len(todo), 500):  # SQLite's default limit on bound parameters is 999
            part = todo[at : at + 500]
            found = dict(self._db.execute(self._some.format(",".join("?" * len(part))), part))
            for k in part:
                v = found.get(k)
                self._seen[k] = None if v is None else (v if not self._split else v.split(" ") if v else [])
        return {k: self[k] for k in keys if self._seen.get(k) is not None}

    def __contains__(self, k: object) -> bool:
        return self.get(k) is not None  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[str]:
        return (r[0] for r in self._db.execute(self._keys))

    def __len__(self) -> int:
        if self._len is None:
            self._len = self._db.execute(self._count).fetchone()[0]
        return self._len


def write_wordnet(tmp: Path, lemmas: Mapping[str, list[str]], hypernyms: Mapping[str, list[str]],
                  index: Mapping[str, list[str]], exceptions: Mapping[str, str]) -> None:
    """The WordNet tables (and each synset's children, which a query would otherwise derive from every
    hypernym list) into one SQLite file; the `done` row goes in last, with the row counts."""
    children: dict[str, list[str]] = {}
    for child, parents in hypernyms.items():
        for p in parents:
            children.setdefault(p, []).append(child)
    db = sqlite3.connect(tmp)
    try:
        db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
                         "CREATE TABLE synset (k TEXT PRIMARY KEY, lemmas TEXT, hypernyms TEXT, children TEXT)"
                         " WITHOUT ROWID;"
                         "CREATE TABLE lemma (k TEXT PRIMARY KEY, wnids TEXT, base TEXT) WITHOUT ROWID;"
                         "CREATE TABLE edge (parent TEXT, child TEXT, PRIMARY KEY (parent, child)) WITHOUT ROWID;"
                         "CREATE TABLE meta (k TEXT PRIMARY KEY, v TEXT);")
        db.executemany("INSERT OR IGNORE INTO edge VALUES (?, ?)", ((p, c) for p, cs in children.items() for c in cs))
        ids = set(lemmas) | set(hypernyms) | set(children)
        db.executemany("INSERT INTO synset VALUES (?, ?, ?, ?)", (
            (w, _join(lemmas.get(w)), _join(hypernyms.get(w)), " ".join(children.get(w, ())))
            for w in sorted(ids)))
        words = sorted(set(index) | set(exceptions))
        db.executemany("INSERT INTO lemma VALUES (?, ?, ?)",
                       ((w, _join(index.get(w)), exceptions.get(w)) for w in words))
        db.execute("INSERT INTO meta VALUES ('done', ?)", (f"{len(ids)}:{len(words)}",))
        db.commit()
    finally:
        db.close()


def descendants(db: sqlite3.Connection) -> Callable[[str], set[str]]:
    """wnid -> the synset and everything below it, walked inside SQLite (one query, not one per synset:
    tagging walks ~80,000 synsets)."""
    sql = ("WITH RECURSIVE d(k) AS (VALUES (?) UNION SELECT e.child FROM edge e JOIN d ON e.parent = d.k)"
           " SELECT k FROM d")

    def below(wnid: str) -> set[str]:
        return {r[0] for r in db.execute(sql, (wnid,))}

    return below


def _join(values: list[str] | None) -> str | None:
    if values is not None and any(" " in v for v in values):
        raise PixseekError("a WordNet entry holds a space, so it cannot be cached")
    return None if values is None else " ".join(values)


def open_sqlite(path: Path) -> sqlite3.Connection:
    """A read-only connection to an immutable cache file (no locking, no journal: it never changes)."""
    return sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False)


def wordnet_valid(path: Path) -> bool:
    """The file is a whole WordNet cache: SQLite opens it, its size is its pages' and the `done` row
    (written last) matches its tables' row counts."""
    try:
        db = open_sqlite(path)
        try:
            pages, size = (db.execute(f"PRAGMA {p}").fetchone()[0] for p in ("page_count", "page_size"))
            done = db.execute("SELECT v FROM meta WHERE k = 'done'").fetchone()
            if done is None or pages * size != path.stat().st_size:
                return False
            counts = ":".join(str(db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in ("synset", "lemma"))
            return counts == done[0]
        finally:
            db.close()
    except (sqlite3.Error, OSError):
        return False
