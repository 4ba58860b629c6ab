"""`pixseek verify`: check that the catalog and the vector files agree, and repair from the catalog.

The catalog is the source of truth. Repairs never invent data: rows written but never committed are cut
off, contents whose vectors are missing or not finite are forgotten (their files are re-embedded by the
next `pixseek index`), and live flags are recomputed from which files reference which contents.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pixseek.store.catalog import Catalog


@dataclass
class VerifyReport:
    ok: bool = True
    problems: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)

    def problem(self, text: str) -> None:
        self.ok = False
        self.problems.append(text)

    def to_dict(self) -> dict:
        return {"ok": self.ok, "problems": self.problems, "repaired": self.repaired}


def verify(folder: Path, catalog: Catalog, kinds: dict[str, tuple[int, str]], repair: bool = True) -> VerifyReport:
    """kinds: vector file name -> (dim, dtype), e.g. {"visual": (2280, "float16"), "probs": (1000, "float16")}."""
    rep = VerifyReport()
    check = catalog.db.execute("PRAGMA quick_check").fetchone()[0]
    if check != "ok":
        rep.problem(f"catalog.sqlite fails its integrity check: {check}")
        return rep  # nothing below can be trusted; restore from a backup or re-index
    rows = catalog.counts()["rows"]
    bad: set[int] = set()
    for name, (dim, dtype) in kinds.items():
        path = folder / f"{name}.{np.dtype(dtype).name}"
        row_bytes = dim * np.dtype(dtype).itemsize
        size = path.stat().st_size if path.exists() else 0
        have = size // row_bytes
        if size % row_bytes or have > rows:
            rep.problem(f"{path.name}: {size} bytes, {have} rows, but the catalog committed {rows} rows")
            if repair:
                with open(path, "r+b") as f:
                    f.truncate(min(have, rows) * row_bytes)
                    os.fsync(f.fileno())
                rep.repaired.append(f"{path.name}: cut to {min(have, rows)} committed rows")
        if have < rows:
            rep.problem(f"{path.name}: vectors of contents {have}..{rows - 1} are missing")
            bad.update(range(have, rows))
        have = min(have, rows)
        if have:
            mat = np.memmap(path, np.dtype(dtype), "r", shape=(have, dim))
            for start in range(0, have, 65536):
                block = np.asarray(mat[start : start + 65536], np.float32)
                nonfinite = np.flatnonzero(~np.isfinite(block).all(axis=1))
                bad.update((nonfinite + start).tolist())
    db = catalog.db
    if bad:
        rep.problem(f"{len(bad)} contents have missing or non-finite vectors")
    orphans = db.execute("SELECT COUNT(*) FROM contents c WHERE live=1 AND NOT EXISTS "
                         "(SELECT 1 FROM files f WHERE f.content_id=c.id)").fetchone()[0]
    dead = db.execute("SELECT COUNT(*) FROM contents c WHERE live=0 AND EXISTS "
                      "(SELECT 1 FROM files f WHERE f.content_id=c.id)").fetchone()[0]
    dangling = db.execute("SELECT COUNT(*) FROM files f WHERE status='ok' AND (content_id IS NULL OR NOT EXISTS "
                          "(SELECT 1 FROM contents c WHERE c.id=f.content_id))").fetchone()[0]
    for n, what in ((orphans, "live contents no file holds"), (dead, "removed contents still held by files"),
                    (dangling, "indexed files without a stored content")):
        if n:
            rep.problem(f"{n} {what}")
    if repair and (bad or orphans or dead or dangling):
        catalog.begin()
        try:
            if bad:
                marks = ",".join("?" * len(bad))
                ids = sorted(bad)
                # forget the files' size/mtime so the next index run re-reads and re-embeds them
                db.execute(f"UPDATE files SET size=-1, content_id=NULL WHERE content_id IN ({marks})", ids)
                db.execute(f"UPDATE contents SET live=0, hash=hash || ':bad' WHERE id IN ({marks})", ids)
            db.execute("UPDATE files SET size=-1, content_id=NULL WHERE status='ok' AND (content_id IS NULL OR NOT EXISTS "
                       "(SELECT 1 FROM contents c WHERE c.id=files.content_id))")
            db.execute("UPDATE contents SET live=0 WHERE live=1 AND NOT EXISTS "
                       "(SELECT 1 FROM files f WHERE f.content_id=contents.id)")
            db.execute("UPDATE contents SET live=1 WHERE live=0 AND hash NOT LIKE '%:bad' AND EXISTS "
                       "(SELECT 1 FROM files f WHERE f.content_id=contents.id)")
            catalog.commit()
        except BaseException:
            catalog.rollback()
            raise
        rep.repaired.append("catalog live flags recomputed; damaged contents will be re-embedded by `pixseek index`")
    return rep
