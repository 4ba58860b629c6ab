"""One writer per collection: `index`, `reindex` and `verify` hold this lock; a second one is refused at once."""

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
