"""The SQLite catalog: which files exist, what they contain, and which vector row holds each content.

Identical files share one `contents` row (deduplication by hash). Rows are committed only after the
vectors they point at are on disk, so a crash at any point leaves a catalog that agrees with the
vector files up to the last commit. A failed COMMIT (disk full) leaves no transaction open and raises
only its own error. Schema 2 adds each file's inode and ctime, so a file replaced by another of the
same size and mtime is seen as changed; a schema-1 catalog migrates in place (those columns NULL until
the next index run fills them in), and one opened read-only is read as it is. Schema 3 adds `taken_ns`,
each file's date taken (EXIF DateTimeOriginal, else its mtime, as local wall-clock time in ns since
1970-01-01), for date filters; NULL until read (older catalogs are backfilled, see ingest/pipeline.py).
Schema 4 adds `places`: where each content was taken (store/places.py), one row per content read.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

SCHEMA_VERSION = 4

# File names are bytes on Linux; Python shows undecodable bytes as lone surrogates, which SQLite text
# cannot hold. They are stored as private-use characters U+F780..U+F7FF instead, reversibly.
_TO_DB = {0xDC80 + b: 0xF780 + b for b in range(128)}
_FROM_DB = {v: k for k, v in _TO_DB.items()}


def to_db(text: str) -> str:
    return text.translate(_TO_DB)


def from_db(text: str) -> str:
    return text.translate(_FROM_DB)

MIGRATIONS = {
    1: """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE contents (
        id INTEGER PRIMARY KEY,          -- also the row in the vector files
        hash TEXT NOT NULL UNIQUE,
        width INTEGER, height INTEGER,
        live INTEGER NOT NULL DEFAULT 1  -- 0 once no file holds this content (a tombstone)
    );
    CREATE TABLE files (
        path TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        hash TEXT,
        status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
        error TEXT,
        content_id INTEGER REFERENCES contents(id),
        indexed_at REAL NOT NULL
    );
    CREATE INDEX files_content ON files(content_id);
    """,
    2: """
    ALTER TABLE files ADD COLUMN inode INTEGER;
    ALTER TABLE files ADD COLUMN ctime_ns INTEGER
    """,
    3: """
    ALTER TABLE files ADD COLUMN taken_ns INTEGER
    """,
    4: """
    CREATE TABLE IF NOT EXISTS places (
        content_id INTEGER PRIMARY KEY,  -- contents(id), a row once its GPS was read (lat NULL: none)
        lat REAL, lon REAL, alt REAL, direction REAL,
        city TEXT, region TEXT, country TEXT, country_code TEXT
    );
    CREATE INDEX IF NOT EXISTS places_name ON places(country_code, region, city)
    """,
}


@dataclass
class FileRecord:
    path: str
    size: int
    mtime_ns: int
    status: str
    hash: str | None = None
    error: str | None = None
    content_id: int | None = None
    inode: int | None = None  # None: catalogued before schema 2, not yet seen by an index run
    ctime_ns: int | None = None
    taken_ns: int | None = None  # date taken (see the module docstring); None: not read yet


class Known(NamedTuple):
    """What the indexer compares a scanned file with."""

    size: int
    mtime_ns: int
    status: str
    hash: str | None
    inode: int | None
    ctime_ns: int | None


class Catalog:
    """Thin, typed access to catalog.sqlite. Writes are deferred until `commit()` so batches commit once."""

    def __init__(self, path: Path, readonly: bool = False) -> None:
        self.path = path
        self.readonly = readonly
        # immutable: a read-only folder cannot hold the WAL's shared-memory file, and nobody can write it
        uri = f"file:{path}?mode=ro&immutable=1" if readonly else f"file:{path}"
        self.db = sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA busy_timeout=30000")
        if not readonly:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
        self._in_tx = False
        # a read-only schema-1 catalog cannot migrate: its files have no inode or ctime to read
        new = self.db.execute("PRAGMA user_version").fetchone()[0] >= 2
        self._identity = "inode, ctime_ns" if new else "NULL, NULL"
        self.has_taken = self.db.execute("PRAGMA user_version").fetchone()[0] >= 3

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        for v in range(version + 1, SCHEMA_VERSION + 1):
            self.db.execute("BEGIN IMMEDIATE")
            for stmt in MIGRATIONS[v].split(";"):
                if stmt.strip():
                    self.db.execute(stmt)
            self.db.execute(f"PRAGMA user_version={v}")
            self.db.execute("COMMIT")

    # transactions -------------------------------------------------------------------------
    def begin(self) -> None:
        if not self._in_tx:
            self.db.execute("BEGIN IMMEDIATE")
            self._in_tx = True

    def commit(self) -> None:
        """Commit the open transaction. If COMMIT fails (disk full), SQLite may have rolled back already;
        either way none is left open and only COMMIT's own error is raised."""
        if self._in_tx:
            try:
                self.db.execute("COMMIT")
            except BaseException:
                self.rollback()
                raise
            self._in_tx = False

    def rollback(self) -> None:
        """Undo the open transaction, if SQLite still has one; never raises over the error that led here."""
        self._in_tx = False
        if self.db.in_transaction:
            try:
                self.db.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # nothing more to undo than what SQLite undoes itself

    def close(self) -> None:
        self.rollback()
        self.db.close()

    # meta -------------------------------------------------------------------------------
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, str(value)))

    # files ------------------------------------------------------------------------------
    def files_under(self, roots: list[str]) -> dict[str, Known]:
        """path -> Known(size, mtime_ns, status, hash, inode, ctime_ns) for catalogued files inside any root."""
        out = {}
        for root in roots:
            prefix = root.rstrip("/") + "/"
            rows = self.db.execute(
                f"SELECT path, size, mtime_ns, status, hash, {self._identity} FROM files WHERE path >= ? AND path < ?",
                (to_db(prefix), to_db(prefix[:-1] + "0")),  # "0" sorts right after "/"
            )
            out.update({from_db(p): Known(*rest) for p, *rest in rows})
        return out

    def file(self, path: str) -> FileRecord | None:
        row = self.db.execute(
            f"SELECT path, size, mtime_ns, status, hash, error, content_id, {self._identity} FROM files WHERE path=?",
            (to_db(path),),
        ).fetchone()
        return FileRecord(from_db(row[0]), *row[1:]) if row else None

    def put_file(self, rec: FileRecord) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO files(path, size, mtime_ns, hash, status, error, content_id, indexed_at, inode,"
            " ctime_ns, taken_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (to_db(rec.path), rec.size, rec.mtime_ns, rec.hash, rec.status, to_db(rec.error) if rec.error else None,
             rec.content_id, time.time(), rec.inode, rec.ctime_ns, rec.taken_ns),
        )

    # date taken (schema 3) ---------------------------------------------------------------------
    def untaken(self, limit: int) -> list[tuple[str, int]]:
        """Up to `limit` (path, mtime_ns) of indexed files whose date taken was never read (backfill)."""
        rows = self.db.execute("SELECT path, mtime_ns FROM files WHERE status='ok' AND taken_ns IS NULL LIMIT ?",
                               (limit,)).fetchall()
        return [(from_db(p), m) for p, m in rows]

    def count_untaken(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM files WHERE status='ok' AND taken_ns IS NULL").fetchone()[0]

    def set_taken(self, rows: list[tuple[str, int]]) -> None:
        """Record (path, taken_ns) for files read by the backfill."""
        self.db.executemany("UPDATE files SET taken_ns=? WHERE path=?", [(t, to_db(p)) for p, t in rows])

    def ids_where(self, folder: str | None = None, taken_from_ns: int | None = None, taken_to_ns: int | None = None,
                  extensions: list[str] | None = None) -> list[int]:
        """Content ids (live or not, maybe repeated) held by an indexed file matching every condition given:
        below `folder`, taken in [from, to) (a file not read yet counts by its mtime), its name ending in one
        of `extensions` (with the dot, letters and digits only, any case). Filters (search/filters.py) turn
        these into the ids a search may return (no join, no DISTINCT: 10,000 files in a few ms)."""
        where, args = ["f.status='ok'"], []
        if folder is not None:
            prefix = folder.rstrip("/") + "/"
            where.append("f.path >= ? AND f.path < ?")
            args += [to_db(prefix), to_db(prefix[:-1] + "0")]  # "0" sorts right after "/"
        taken = "COALESCE(f.taken_ns, f.mtime_ns)" if self.has_taken else "f.mtime_ns"
        if taken_from_ns is not None:
            where.append(f"{taken} >= ?")
            args.append(taken_from_ns)
        if taken_to_ns is not None:
            where.append(f"{taken} < ?")
            args.append(taken_to_ns)
        if extensions:  # LIKE is case-insensitive for ASCII; an extension holds no % or _ (filters.py checks)
            where.append("(" + " OR ".join("f.path LIKE ?" for _ in extensions) + ")")
            args += ["%" + ext for ext in extensions]
        rows = self.db.execute(f"SELECT f.content_id FROM files f WHERE {' AND '.join(where)}", args)
        return [r[0] for r in rows]

    def has_files_under(self, folder: str) -> bool:
        prefix = folder.rstrip("/") + "/"
        return self.db.execute("SELECT 1 FROM files WHERE status='ok' AND path >= ? AND path < ? LIMIT 1",
                               (to_db(prefix), to_db(prefix[:-1] + "0"))).fetchone() is not None

    def set_identity(self, rows: list[tuple[str, int, int]]) -> None:
        """Record (path, inode, ctime_ns) for files whose content is known unchanged (filled in after a
        migration, or re-hashed and found the same)."""
        self.db.executemany("UPDATE files SET inode=?, ctime_ns=? WHERE path=?",
                            [(ino, ct, to_db(p)) for p, ino, ct in rows])

    def remove_file(self, path: str) -> int | None:
        """Forget a file; returns the content id it held if no other file holds that content now."""
        row = self.db.execute("SELECT content_id FROM files WHERE path=?", (to_db(path),)).fetchone()
        self.db.execute("DELETE FROM files WHERE path=?", (to_db(path),))
        cid = row[0] if row else None
        return cid if cid is not None and self.release_content(cid) else None

    def release_content(self, cid: int) -> bool:
        """Tombstone a content no file holds any more; True if it was released."""
        if self.db.execute("SELECT 1 FROM files WHERE content_id=? LIMIT 1", (cid,)).fetchone():
            return False
        self.db.execute("UPDATE contents SET live=0 WHERE id=?", (cid,))
        return True

    def failed(self) -> list[tuple[str, str]]:
        rows = self.db.execute("SELECT path, error FROM files WHERE status='failed' ORDER BY path").fetchall()
        return [(from_db(p), from_db(e or "")) for p, e in rows]

    # contents ---------------------------------------------------------------------------
    def content_by_hash(self, digest: str) -> tuple[int, int] | None:
        """(content id, live) for a hash already stored."""
        row = self.db.execute("SELECT id, live FROM contents WHERE hash=?", (digest,)).fetchone()
        return (row[0], row[1]) if row else None

    def add_content(self, cid: int, digest: str, width: int, height: int) -> None:
        self.db.execute("INSERT INTO contents(id, hash, width, height, live) VALUES (?, ?, ?, ?, 1)",
                        (cid, digest, width, height))

    def revive_content(self, cid: int) -> None:
        self.db.execute("UPDATE contents SET live=1 WHERE id=?", (cid,))

    def live_ids(self) -> np.ndarray:
        """The live content ids, ascending (int64). Content ids are handed out in order, so a catalog
        whose ids have no gaps is read as its row count and its tombstones, not a million ids one by one."""
        one = self.db.execute
        rows = self.rows()
        if one("SELECT COUNT(*) FROM contents").fetchone()[0] == rows:
            live = np.ones(rows, bool)
            dead = [r[0] for r in one("SELECT id FROM contents WHERE live=0")]
            live[np.asarray(dead, np.int64)] = False
            return np.flatnonzero(live).astype(np.int64)
        return np.fromiter((r[0] for r in one("SELECT id FROM contents WHERE live=1 ORDER BY id")), np.int64)

    def rows(self) -> int:
        """Rows the vector files hold for this catalog: one past the largest content id."""
        return self.db.execute("SELECT COALESCE(MAX(id) + 1, 0) FROM contents").fetchone()[0]

    def paths_of(self, ids: list[int]) -> dict[int, str]:
        """content id -> one path holding it (the smallest, for stable output)."""
        if not ids:
            return {}
        q = ",".join("?" * len(ids))
        rows = self.db.execute(f"SELECT content_id, MIN(path) FROM files WHERE content_id IN ({q}) GROUP BY content_id", ids)
        return {cid: from_db(p) for cid, p in rows.fetchall()}

    def counts(self) -> dict[str, int]:
        one = self.db.execute
        return {
            "images": one("SELECT COUNT(*) FROM contents WHERE live=1").fetchone()[0],
            "files": one("SELECT COUNT(*) FROM files WHERE status='ok'").fetchone()[0],
            "failed": one("SELECT COUNT(*) FROM files WHERE status='failed'").fetchone()[0],
            "rows": one("SELECT COALESCE(MAX(id) + 1, 0) FROM contents").fetchone()[0],
        }

    def files_of_contents(self) -> dict[int, list[tuple[str, int, int]]]:
        """live content id -> its indexed files as (path, pixels, bytes), for choosing which copy to keep."""
        rows = self.db.execute("SELECT f.content_id, f.path, COALESCE(c.width * c.height, 0), f.size FROM files f "
                               "JOIN contents c ON c.id = f.content_id WHERE f.status='ok' AND c.live=1")
        out: dict[int, list[tuple[str, int, int]]] = {}
        for cid, path, pixels, size in rows.fetchall():
            out.setdefault(cid, []).append((from_db(path), pixels, size))
        return out
