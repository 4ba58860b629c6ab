"""Opening a catalog: a new collection opened by many processes at once is created once, without an error
in any of them; a catalog made by a newer pixseek is refused, never read or written."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time

from conftest import run_cli

from pixseek.store.catalog import SCHEMA_VERSION

_OPEN = """
import sys, time
from pixseek.store.collection_folder import CollectionFolder
from pixseek.errors import PixseekError
start = float(sys.argv[2])
while time.time() < start:  # all processes open at the same moment
    pass
try:
    CollectionFolder.open(sys.argv[1], None, None, None).catalog.close()
except PixseekError as exc:
    print(exc, file=sys.stderr)
    sys.exit(1)
"""


def test_concurrent_first_opens_of_a_new_collection_all_succeed(tmp_path):
    """At the same moment ("table meta already exists"), and a few ms apart (two processes setting WAL mode
    and creating tables deadlocked in SQLite: "database is locked" at once)."""
    failures, rounds, procs = [], 10, 5
    for r in range(rounds):
        folder = tmp_path / f"new-{r}"
        start = time.time() + 1.5  # after every interpreter has started and imported
        apart = [0.0] * procs if r % 2 else [i * 0.004 for i in range(procs)]
        running = [subprocess.Popen([sys.executable, "-c", _OPEN, str(folder), str(start + a)], stderr=subprocess.PIPE,
                                    text=True) for a in apart]
        for p in running:
            _, err = p.communicate(timeout=120)
            if p.returncode:
                failures.append(err.strip())
        db = sqlite3.connect(folder / "catalog.sqlite")
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert db.execute("SELECT value FROM meta WHERE key='encoder'").fetchone() is not None
        db.close()
    assert failures == [], f"{len(failures)} of {rounds * procs} opens failed: {failures[:3]}"


def test_a_catalog_from_a_newer_pixseek_is_refused(tmp_path):
    db = tmp_path / "db"
    run_cli("status", "--json", db=db)
    catalog = sqlite3.connect(db / "catalog.sqlite")
    catalog.execute(f"PRAGMA user_version={SCHEMA_VERSION + 96}")
    catalog.close()
    photos = tmp_path / "photos"
    photos.mkdir()
    for args in (("status",), ("index", str(photos), "--no-progress")):
        proc = run_cli(*args, db=db, check=False)
        assert proc.returncode == 1, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and "made by a newer pixseek" in proc.stderr, proc.stderr
    catalog = sqlite3.connect(db / "catalog.sqlite")
    assert catalog.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 96  # left as it was
    assert catalog.execute("SELECT COUNT(*) FROM files").fetchone()[0] == 0
