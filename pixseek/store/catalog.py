"""The SQLite catalog: which files exist, what they contain, and which vector row holds each content.

Identical files share one `contents` row (deduplication by hash). Rows are committed only after the
vectors they point at are on disk, so a crash at any point leaves a catalog that agrees with the
vector files up to the last commit. A failed COMMIT (disk full) leaves no transaction open and raises
only its own error. Schema 2 adds each file's inode and ctime, so a file replaced by another of the
same size and mtime is seen as changed; a schema-1 catalog migrates in place (those columns NULL until
the next index run fills them in), and one opened read-only is read as it is. Schema 3 adds `taken_ns`,
each file's date taken (the local time where it was taken, media/local_time.py, as wall-clock ns since
1970-01-01), for date filters; NULL until read (older catalogs are backfilled, see ingest/pipeline.py).
Schema 4 adds taught concepts: a name, its examples' vectors and the small model fitted on them
(store/taught.py). Schema 5 adds `places`: where each content was taken (store/places.py), one row per
content read. A catalog whose schema is newer than SCHEMA_VERSION is refused on open, never read or written. Creating
or migrating one happens under a file lock (store/lock.py), so any number of processes may open a new
collection at once.
"""

from __future__ import annotations

import re
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from pixseek.store.catalog_schema import MIGRATIONS, SCHEMA_VERSION
from pixseek.store.lock import setup_lock

# File names are bytes on Linux; Python shows undecodable bytes as lone surrogates U+DC80..U+DCFF, which
# SQLite text cannot hold. They are stored as the private-use characters U+F780..U+F7FF (as since schema 1),
# and a real character of U+F77F..U+F7FF in a name is stored behind the escape U+F77F, so that every name
# reads back as itself. A name stored before the escape existed reads the same unless it held U+F77F..U+F7FF
# itself (then it was ambiguous already: the next index run sees it as removed and added again).
_ESCAPE = "\uf77f"
_SHIFT = 0xF780 - 0xDC80
_TO_DB = re.compile("[\udc80-\udcff\uf77f-\uf7ff]")
_FROM_DB = re.compile("\uf77f([\uf77f-\uf7ff])|[\uf780-\uf7ff]")


def _to_db_char(m: re.Match) -> str:
    c = m.group(0)
    return chr(ord(c) + _SHIFT) if c < "\ue000" else _ESCAPE + c


def _from_db_char(m: re.Match) -> str:
    return m.group(1) or chr(ord(m.group(0)) - _SHIFT)


def to_db(text: str) -> str:
    """A name (or text naming files) as the catalog stores it; prefix-preserving, so folder ranges hold."""
    return _TO_DB.sub(_to_db_char, text)


def from_db(text: str) -> str:
    return _FROM_DB.sub(_from_db_char, text)




MAX_ERROR_CHARS = 1000  # of a failed file's reason (an exception's text can hold a whole file)
_INT64 = (-(2**63), 2**63 - 1)


def _int64(value: int | None) -> int | None:
    """A number SQLite can store, or None (unknown) for one it cannot."""
    return value if value is None or _INT64[0] <= value <= _INT64[1] else None


def _clamp(value: int) -> int:
    return min(max(value, _INT64[0]), _INT64[1])


class NewerCatalogError(sqlite3.DatabaseError):
    """The catalog's schema is newer than this pixseek knows: reading or writing it could lose data."""


def _refuse_newer(path: Path, version: int) -> int:
    if version > SCHEMA_VERSION:
        raise NewerCatalogError(f"{path} was made by a newer pixseek (catalog schema {version}, this pixseek "
                                f"knows up to {SCHEMA_VERSION}); upgrade pixseek to use it")
    return version


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
        try:
            self.db.execute("PRAGMA busy_timeout=30000")
            if not readonly:
                if _refuse_newer(path, self.db.execute("PRAGMA user_version").fetchone()[0]) < SCHEMA_VERSION:
                    with setup_lock(path.parent):  # new or old: one process at a time sets it up
                        self.db.execute("PRAGMA journal_mode=WAL")
                        self._migrate()
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=NORMAL")
            else:
                _refuse_newer(path, self.db.execute("PRAGMA user_version").fetchone()[0])
        except BaseException:
            self.db.close()
            raise
        self._in_tx = False
        # a read-only schema-1 catalog cannot migrate: its files have no inode or ctime to read
        new = self.db.execute("PRAGMA user_version").fetchone()[0] >= 2
        self._identity = "inode, ctime_ns" if new else "NULL, NULL"
        self.has_taken = self.db.execute("PRAGMA user_version").fetchone()[0] >= 3

    def _migrate(self) -> None:
        """Bring the schema up to SCHEMA_VERSION, each step in its own BEGIN IMMEDIATE that reads the version
        again first: any number of processes opening a new collection at once all end up at the same
        schema, each step applied once (the one that takes the write lock applies it, the others see it)."""
        for _ in range(SCHEMA_VERSION):
            if _refuse_newer(self.path, self.db.execute("PRAGMA user_version").fetchone()[0]) >= SCHEMA_VERSION:
                return
            self.db.execute("BEGIN IMMEDIATE")
            try:
                version = _refuse_newer(self.path, self.db.execute("PRAGMA user_version").fetchone()[0])
                if version < SCHEMA_VERSION:
                    for stmt in MIGRATIONS[version + 1].split(";"):
                        if stmt.strip():
                            self.db.execute(stmt)
                    self.db.execute(f"PRAGMA user_version={version + 1}")
                self.db.execute("COMMIT")
            except BaseException:
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
                raise

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
        """Every number is bounded here, the last line of defence: one file's odd value costs that value
        (stored as unknown, or clamped), never the batch it is committed with."""
        error = to_db(rec.error[:MAX_ERROR_CHARS]) if rec.error else None
        self.db.execute(
            "INSERT OR REPLACE INTO files(path, size, mtime_ns, hash, status, error, content_id, indexed_at, inode,"
            " ctime_ns, taken_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (to_db(rec.path), _clamp(rec.size), _clamp(rec.mtime_ns), rec.hash, rec.status, error, rec.content_id,
             time.time(), _int64(rec.inode), _int64(rec.ctime_ns), _int64(rec.taken_ns)),
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
        self.db.executemany("UPDATE files SET taken_ns=? WHERE path=?", [(_int64(t), to_db(p)) for p, t in rows])

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
                            [(_int64(ino), _int64(ct), to_db(p)) for p, ino, ct in rows])

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
