"""Sentence vectors of texts already encoded, kept in the cache folder, so a cold `pixseek search` for a
word or a query it has seen before opens no ONNX session (loading the 90 MB model took ~0.3 s of every
cold keyword search, since the default bridge blends the joint space in).

An honest cache: the first query of a text still runs the model; its vector is stored exactly as it was
computed (float32 bytes), so a repeat gives the same scores. One SQLite file per model version (its name
carries the export version and the model files' sizes and times); rows are keyed by a hash of the text,
not the text, and the oldest rows beyond LIMIT are dropped. Any trouble with the file (read-only folder,
a damaged or foreign file, a locked database) only means a miss: the text is encoded as without a cache.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from pathlib import Path

import numpy as np

LIMIT = 20_000  # rows kept: 20k x 384 float32 is about 31 MB
PRUNE_EVERY = 256  # rows added between two prunings


class KeptTexts:
    """text -> (dim,) float32 vector, in one SQLite file; opened on first use."""

    def __init__(self, path: Path, dim: int, limit: int = LIMIT) -> None:
        self.path, self.dim, self.limit = path, dim, limit
        self._db: sqlite3.Connection | None = None
        self._broken = False  # the file could not be used: every lookup misses in this process
        self._repaired = False
        self._lock = threading.Lock()

    @staticmethod
    def _key(text: str) -> bytes:
        return hashlib.sha256(text.encode("utf-8")).digest()[:16]

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=2.0, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")  # readers never wait for a writer
            db.execute("PRAGMA synchronous=NORMAL")  # a lost last row after a power cut costs one encoding
            db.execute("CREATE TABLE IF NOT EXISTS vec (k BLOB UNIQUE NOT NULL, v BLOB NOT NULL)")
            db.execute("SELECT count(*) FROM vec WHERE rowid = 1").fetchone()
        except BaseException:
            db.close()
            raise
        return db

    def _open(self) -> sqlite3.Connection | None:
        busy = 0
        while self._db is None and not self._broken:
            try:
                self._db = self._connect()
            except sqlite3.Error as exc:
                # two processes setting up a new file at once: switching it to WAL can be refused at once
                # (SQLite calls no busy handler there), so the setup is tried again for a while
                if getattr(exc, "sqlite_errorname", "").startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) and busy < 50:
                    busy += 1
                    time.sleep(0.1)
                    continue
                self._trouble(exc)
            except OSError:  # the cache folder cannot be made
                self._broken = True
        return self._db

    def _trouble(self, exc: sqlite3.Error) -> None:
        """A damaged or foreign file (SQLite says corrupt, not a database, or a short read of a truncated
        one) is started again, once per process; anything else (a read-only folder, a lock held too long,
        a full disk) is left alone and this process does without the cache."""
        if self._db is not None:
            self._db.close()
            self._db = None
        damaged = getattr(exc, "sqlite_errorname", "").startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB", "SQLITE_IOERR"))
        if not damaged or self._repaired:
            self._broken = True
            return
        self._repaired = True
        try:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        except OSError:
            self._broken = True

    def get(self, texts: list[str]) -> dict[str, np.ndarray]:
        """The kept vectors of those of `texts` that have one (fresh arrays)."""
        found: dict[str, np.ndarray] = {}
        if not texts:
            return found
        with self._lock:
            db = self._open()
            if db is None:
                return found
            keys = {self._key(t): t for t in dict.fromkeys(texts)}
            try:
                rows = db.execute(f"SELECT k, v FROM vec WHERE k IN ({','.join('?' * len(keys))})",
                                  list(keys)).fetchall()
            except sqlite3.Error as exc:
                self._trouble(exc)
                return found
        for k, v in rows:
            if isinstance(v, bytes) and len(v) == 4 * self.dim:
                vec = np.frombuffer(v, np.float32).copy()
                if np.isfinite(vec).all():
                    found[keys[k]] = vec
        return found

    def put(self, vectors: dict[str, np.ndarray]) -> None:
        """Keep these texts' vectors (replacing older ones); a failure to write is not an error."""
        rows = [(self._key(t), np.ascontiguousarray(v, np.float32).tobytes()) for t, v in vectors.items()
                if v.shape == (self.dim,) and np.isfinite(v).all()]
        if not rows:
            return
        with self._lock:
            db = self._open()
            if db is None:
                return
            try:
                with db:
                    before = db.execute("SELECT max(rowid) FROM vec").fetchone()[0] or 0
                    db.executemany("INSERT OR REPLACE INTO vec (k, v) VALUES (?, ?)", rows)
                    last = db.execute("SELECT max(rowid) FROM vec").fetchone()[0] or 0
                    if last // PRUNE_EVERY != before // PRUNE_EVERY:
                        db.execute("DELETE FROM vec WHERE rowid <= ?", (last - self.limit,))
            except sqlite3.Error as exc:
                self._trouble(exc)

    def forget(self, texts: list[str]) -> None:
        """Drop these texts' vectors: their next query is a first one again (benchmarks/cold_start.py)."""
        with self._lock:
            db = self._open()
            if db is None or not texts:
                return
            try:
                with db:
                    db.executemany("DELETE FROM vec WHERE k = ?", [(self._key(t),) for t in texts])
            except sqlite3.Error as exc:
                self._trouble(exc)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
