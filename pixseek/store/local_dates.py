"""Dates taken kept under the local-time rule (media/local_time.py) in catalogs dated before it.

A catalog's `files.taken_ns` once held the camera's clock, else the file's mtime in this machine's time
zone. Under the local-time rule a photo with a GPS position or a UTC offset in its EXIF may get another
date, so the indexer reads every file's header again once, in `files` row order, a batch per transaction
with the position reached kept in `meta`: an interrupted pass resumes there, nothing is re-embedded, and
every date stays usable by filters meanwhile (the old one until its file is read again). A catalog whose
`meta` says DATE_RULE is done; a new one is marked so before its first file.
"""

from __future__ import annotations

from pixseek.store.catalog import Catalog, from_db

DATE_RULE = "local-time"  # meta 'date_rule' once every file's date taken follows media/local_time.py
_RULE_KEY, _CURSOR_KEY = "date_rule", "date_rule_cursor"


def dates_current(catalog: Catalog) -> bool:
    return catalog.get_meta(_RULE_KEY) == DATE_RULE


def mark_new_catalog(catalog: Catalog) -> None:
    """Mark a catalog with no indexed file yet as dated by the rule (every date it gets follows it)."""
    if dates_current(catalog) or catalog.db.execute("SELECT 1 FROM files LIMIT 1").fetchone():
        return
    catalog.begin()
    try:
        catalog.set_meta(_RULE_KEY, DATE_RULE)
        catalog.commit()
    except BaseException:
        catalog.rollback()
        raise


def _cursor(catalog: Catalog) -> int:
    try:
        return int(catalog.get_meta(_CURSOR_KEY, "0") or 0)
    except ValueError:
        return 0


def count_outdated(catalog: Catalog) -> int:
    """Indexed files whose date taken was not yet read under the rule (0 once the catalog is current)."""
    if dates_current(catalog):
        return 0
    return catalog.db.execute("SELECT COUNT(*) FROM files WHERE status='ok' AND rowid > ?",
                              (_cursor(catalog),)).fetchone()[0]


def outdated(catalog: Catalog, limit: int) -> list[tuple[int, str, int]]:
    """The next `limit` (row, path, mtime_ns) of indexed files to date again, in row order."""
    rows = catalog.db.execute("SELECT rowid, path, mtime_ns FROM files WHERE status='ok' AND rowid > ? "
                              "ORDER BY rowid LIMIT ?", (_cursor(catalog), limit)).fetchall()
    return [(row, from_db(p), m) for row, p, m in rows]


def redate(catalog: Catalog, rows: list[tuple[int, str, int]], dates: list[int], last: bool) -> None:
    """Store the dates of a batch of `outdated` rows with the position reached (or, for the `last`
    batch, the catalog's mark that every date follows the rule), in one transaction."""
    catalog.begin()
    try:
        catalog.set_taken([(path, taken) for (_, path, _), taken in zip(rows, dates)])
        if last:
            catalog.set_meta(_RULE_KEY, DATE_RULE)
            catalog.db.execute("DELETE FROM meta WHERE key=?", (_CURSOR_KEY,))
        elif rows:
            catalog.set_meta(_CURSOR_KEY, str(rows[-1][0]))
        catalog.commit()
    except BaseException:
        catalog.rollback()
        raise
