"""Browsing a collection without words: its photos newest first (filtered or not), what it covers (the
dates and the folder its photos are in), and example searches drawn from its own tags.

A mixin of Collection (as teaching.py is): the home page and "filters without words" need these, the
search pipeline does not. Dates are the catalog's date taken (EXIF, else the file's time), as filters use.
"""

from __future__ import annotations

import os
from collections import Counter
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Unpack

import numpy as np

from pixseek.search.filter_options import FilterArgs, parse_filters
from pixseek.store.catalog import from_db
from pixseek.store.places import places_of

if TYPE_CHECKING:
    from pixseek.store.catalog import Catalog

EXAMPLE_PHOTOS = 24  # photos tagged to find the collection's example searches
EPOCH = datetime(1970, 1, 1)


def _day(ns: int | None) -> str | None:
    """A wall-clock ns value (the catalog's date taken) as an ISO date and time, no zone."""
    return None if ns is None else (EPOCH + timedelta(microseconds=ns // 1000)).isoformat(timespec="seconds")


class Browsing:
    """Collection methods for browsing; `catalog`, `searcher` and `tag` come from Collection."""

    catalog: Catalog
    _newest_kept: tuple[tuple[int, int], list[tuple[int, int]]] | None = None  # (catalog version, rows)

    def _newest(self) -> list[tuple[int, int]]:
        """(content id, date taken in wall-clock ns) of every live photo, newest first; read once per
        catalog version (another process's commit, or a change in the count of files), not once per page."""
        db = self.catalog.db
        version = (db.execute("PRAGMA data_version").fetchone()[0], self.catalog.counts()["files"])
        if self._newest_kept is not None and self._newest_kept[0] == version:
            return self._newest_kept[1]
        taken = "COALESCE(f.taken_ns, f.mtime_ns)" if self.catalog.has_taken else "f.mtime_ns"
        rows = db.execute(
            f"SELECT f.content_id, MAX({taken}) AS t FROM files f JOIN contents c ON c.id = f.content_id "
            "WHERE f.status='ok' AND c.live=1 GROUP BY f.content_id ORDER BY t DESC, f.content_id").fetchall()
        self._newest_kept = (version, rows)
        return rows

    def browse(self, k: int = 60, offset: int = 0, **filters: Unpack[FilterArgs]) -> dict:
        """{"results": [{"path", "taken", "place"}], "total"}: the photos the filters let through, newest
        first (the home page, and filters without words)."""
        rows = self._newest()
        if not rows:  # a new, empty collection: nothing to filter
            return {"results": [], "total": 0}
        narrow = parse_filters(**filters)
        allow = self.searcher.sources.allowed(narrow) if narrow else None
        if allow is not None:
            ok = allow.mask
            rows = [r for r in rows if r[0] < len(ok) and ok[r[0]]]
        page = rows[offset:offset + k]
        ids = [cid for cid, _ in page]
        paths, at = self.catalog.paths_of(ids), places_of(self.catalog, ids)
        return {"results": [{"path": paths[cid], "taken": _day(t), "place": at.get(cid)} for cid, t in page if cid in paths],
                "total": len(rows)}

    def root(self) -> str | None:
        """The deepest folder holding every photo (the smallest and largest paths share it), or None."""
        lo, hi = self.catalog.db.execute("SELECT MIN(path), MAX(path) FROM files WHERE status='ok'").fetchone()
        if lo is None:
            return None
        return os.path.commonpath([os.path.dirname(from_db(lo)), os.path.dirname(from_db(hi))])

    def coverage(self) -> dict:
        """{"photos", "first", "last", "root"}: how many photos, the dates of the oldest and newest, and the
        folder they are all in (a relative folder in a filter is taken below it)."""
        rows = self._newest()
        return {"photos": len(rows), "first": _day(rows[-1][1]) if rows else None,
                "last": _day(rows[0][1]) if rows else None, "root": self.root()}

    def examples(self, n: int = 6) -> list[str]:
        """Words to search for that the collection holds: the commonest top tags of photos spread over it."""
        rows = self._newest()
        if not rows:
            return []
        picks = sorted({rows[int(i)][0] for i in np.linspace(0, len(rows) - 1, min(EXAMPLE_PHOTOS, len(rows)))})
        paths = self.catalog.paths_of(picks)
        counts: Counter[str] = Counter()
        for cid in picks:
            if cid in paths:
                counts.update(t.tag for t in self.tag(paths[cid], k=2))
        return [word for word, _ in counts.most_common(n)]
