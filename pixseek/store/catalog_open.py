"""Opening a collection's catalog when its disk is full: to read, as on a read-only mount.

Opening a WAL catalog to write creates its shared-memory file (and may checkpoint), which a full disk
refuses ("disk I/O error"); so every command, searches included, failed to open the collection. A
catalog without a pending -wal is read whole from its main file, so it is opened read-only instead:
searching, `status`, `similar` and `tag` work, and writers are refused with the one line `refusal` says.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from pixseek.store.catalog import Catalog

ROOM = 1 << 20  # bytes free below which a folder counts as full (a catalog's -shm alone is 32 KiB)


def open_catalog(path: Path, readonly: bool) -> Catalog:
    """The catalog at `path`, read-only where asked or where a full disk takes no write (see the module)."""
    try:
        return Catalog(path, readonly=readonly)
    except sqlite3.OperationalError:
        if readonly or not disk_full(path.parent) or _wal_pending(path):
            raise
    return Catalog(path, readonly=True)


def disk_full(folder: Path) -> bool:
    try:
        st = os.statvfs(folder)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < ROOM


def refusal(folder: Path) -> str:
    """Why a writer cannot use a collection opened read-only, in one line."""
    if disk_full(folder):
        return (f"cannot write to collection {folder}: No space left on device; searching works, "
                "free some space and re-run the command")
    return f"collection {folder} is read-only: searching works, indexing needs write access"


def _wal_pending(path: Path) -> bool:
    """Commits in a -wal not yet in the main file: reading the main file alone would miss them."""
    wal = path.with_name(path.name + "-wal")
    try:
        return wal.stat().st_size > 0
    except FileNotFoundError:
        return False
