"""One writer per collection: `index`, `reindex` and `verify` hold this lock; a second one is refused at once.
Also the lock under which a catalog is created or migrated, which every opener waits for instead."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pixseek.errors import PixseekError


@contextmanager
def index_lock(folder: Path) -> Iterator[None]:
    """Refused rather than queued: a user who starts a second `pixseek index` should hear so, not wait."""
    with open(folder / "index.lock", "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise PixseekError(f"another `pixseek index` is running on {folder}; wait for it to finish") from None
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@contextmanager
def setup_lock(folder: Path) -> Iterator[None]:
    """Held while a catalog is created or its schema migrated: SQLite alone lets two processes that set WAL
    mode and create tables at once deadlock ("database is locked" at once, no busy wait). Waited for (a
    setup takes milliseconds); where no lock file can be made (read-only folder), nothing is held."""
    try:
        f = open(folder / "open.lock", "a+")  # noqa: SIM115 (closed below)
    except OSError:
        yield
        return
    with f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
