"""`pixseek verify`: check that the catalog and the vector files agree row by row, and repair.

The catalog is the source of truth for which rows exist; each row's checksum and value rules
(store/checksums.py) say whether its vector is intact. Checking reads the files directly, so a cut-short
or missing vector file is a finding, not a failure to open. With `repair=False` nothing is written.
Repairs never invent data: rows written but never committed are cut off; a damaged or missing row is
re-embedded from a photo whose bytes still have the content's hash (through `reembed`, which the
ingest layer supplies), else its entry is removed and reported (the content is retired, its file
records dropped so the next `pixseek index` indexes whatever is there now); live flags are recomputed
from which files reference which contents. Retired contents (hash ending in ':bad') keep their rows but
are never checked, searched or revived again.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pixseek.errors import PixseekError
from pixseek.store.ann.files import header_meta
from pixseek.store.catalog import Catalog, from_db
from pixseek.store.catalog_open import refusal
from pixseek.store.checksums import append_sums, damaged, read_sums, row_sums, sums_path, values_ok, write_rows
from pixseek.store.class_postings import forget_postings
from pixseek.store.derived import DERIVED_DIR, derived_files, forget_derived
from pixseek.store.provenance import fingerprint_of, from_path, read_from, row_fingerprints, rows_fingerprint, stale_rows

CHUNK = 65536
# (content id, its hash, the paths the catalog says hold it) -> {kind: float32 vector} for those
# re-embedded from a file whose bytes still have that hash
Reembed = Callable[[list[tuple[int, str, list[str]]]], dict[int, dict[str, np.ndarray]]]


@dataclass
class VerifyReport:
    ok: bool = True
    problems: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    damaged: list[int] = field(default_factory=list)  # content ids whose vectors are damaged or missing

    def problem(self, text: str) -> None:
        self.ok = False
        self.problems.append(text)

    def to_dict(self) -> dict:
        return {"ok": self.ok, "problems": self.problems, "repaired": self.repaired, "damaged": self.damaged}


def _ids(ids: list[int]) -> str:
    return ", ".join(map(str, ids[:8])) + (f", ... ({len(ids)} in all)" if len(ids) > 8 else "")


def verify(folder: Path, catalog: Catalog, kinds: dict[str, tuple[int, str]], repair: bool = True,
           reembed: Reembed | None = None) -> VerifyReport:
    """kinds: vector file name -> (dim, dtype), e.g. {"visual": (2280, "float16"), "probs": (1000, "float16")}.
    A catalog opened read-only (a read-only mount, a full disk) is checked; repairing it is refused."""
    refused, repair = repair and catalog.readonly, repair and not catalog.readonly
    rep = _verify(folder, catalog, kinds, repair, reembed)
    if refused and not rep.ok:
        raise PixseekError(refusal(folder))
    return rep


def _verify(folder: Path, catalog: Catalog, kinds: dict[str, tuple[int, str]], repair: bool,
            reembed: Reembed | None) -> VerifyReport:
    rep = VerifyReport()
    check = catalog.db.execute("PRAGMA quick_check").fetchone()[0]
    if check != "ok":
        rep.problem(f"catalog.sqlite fails its integrity check: {check}")
        return rep  # nothing below can be trusted; restore from a backup or re-index
    db = catalog.db
    rows = catalog.counts()["rows"]
    retired = np.zeros(rows, bool)
    retired[[r[0] for r in db.execute("SELECT id FROM contents WHERE hash LIKE '%:bad%'")]] = True
    bad = np.zeros(rows, bool)
    files = {name: _check_file(folder, name, dim, dtype, rows, retired, bad, rep, repair)
             for name, (dim, dtype) in kinds.items()}
    bad &= ~retired
    rep.damaged = np.flatnonzero(bad).tolist()
    orphans = db.execute("SELECT COUNT(*) FROM contents c WHERE live=1 AND NOT EXISTS "
                         "(SELECT 1 FROM files f WHERE f.content_id=c.id)").fetchone()[0]
    dead = db.execute("SELECT COUNT(*) FROM contents c WHERE live=0 AND hash NOT LIKE '%:bad%' AND EXISTS "
                      "(SELECT 1 FROM files f WHERE f.content_id=c.id)").fetchone()[0]
    dangling = db.execute("SELECT COUNT(*) FROM files f WHERE status='ok' AND (content_id IS NULL OR NOT EXISTS "
                          "(SELECT 1 FROM contents c WHERE c.id=f.content_id))").fetchone()[0]
    for n, what in ((orphans, "live contents no file holds"), (dead, "removed contents still held by files"),
                    (dangling, "indexed files without a stored content")):
        if n:
            rep.problem(f"{n} {what}")
    dims = (kinds["visual"][0], kinds["probs"][0] if "probs" in kinds else None)
    stale = check_derived(folder, row_fingerprints(folder, rows, dims, catalog), rep, skip=bad | retired)
    stale_postings = _check_postings(folder, kinds, rows, rep)
    if not repair:
        return rep
    if stale_postings:
        forget_postings(folder)
        rep.repaired.append("probs.postings: removed; built again by the next open")
    if stale:
        forget_derived(folder, [p for p in stale if p.suffix == ".float16"])
        for index in (p for p in stale if p.suffix == ".ann"):
            index.unlink(missing_ok=True)  # its header: the next writer builds it again
        rep.repaired.append(f"{', '.join(p.name for p in stale)}: removed; derived again from the stored vectors")
    if bad.any():
        _repair_rows(folder, catalog, kinds, files, np.flatnonzero(bad), reembed, rep)
    if orphans or dead or dangling:
        catalog.begin()
        try:
            db.execute("DELETE FROM files WHERE status='ok' AND (content_id IS NULL OR NOT EXISTS "
                       "(SELECT 1 FROM contents c WHERE c.id=files.content_id))")  # `index` adds them anew
            db.execute("UPDATE contents SET live=0 WHERE live=1 AND NOT EXISTS "
                       "(SELECT 1 FROM files f WHERE f.content_id=contents.id)")
            db.execute("UPDATE contents SET live=1 WHERE live=0 AND hash NOT LIKE '%:bad%' AND EXISTS "
                       "(SELECT 1 FROM files f WHERE f.content_id=contents.id)")
            catalog.commit()
        except BaseException:
            catalog.rollback()
            raise
        rep.repaired.append("catalog live flags recomputed; files without a stored content will be indexed again "
                            "by `pixseek index`")
    if rep.repaired:
        next_generation(catalog)
    return rep


def next_generation(catalog: Catalog) -> None:
    """Count a change made to the collection's files outside a catalog transaction (rows repaired in place,
    derived files removed): committing it tells every process holding the catalog open (a server) to open
    its stores again (store/collection_folder.py data_version)."""
    catalog.begin()
    try:
        catalog.set_meta("generation", str(int(catalog.get_meta("generation", "0") or 0) + 1))
        catalog.commit()
    except BaseException:
        catalog.rollback()
        raise


def _check_postings(folder: Path, kinds: dict[str, tuple[int, str]], rows: int, rep: VerifyReport) -> bool:
    """Whether the class postings record being built over other stored rows than those there now."""
    if "probs" not in kinds:
        return False
    try:
        recorded = from_path(folder / "probs.postings").read_text()
        covered = int(recorded.split(":", 1)[0])
    except (OSError, ValueError):
        return False  # none, or from before postings recorded it (read as they are: class_postings.py)
    path = folder / f"probs.{np.dtype(kinds['probs'][1]).name}"
    if covered <= rows and recorded == rows_fingerprint(path, kinds["probs"][0] * np.dtype(kinds["probs"][1]).itemsize,
                                                        covered):
        return False
    rep.problem("probs.postings: built over other stored rows than those there now (a catalog restored or "
                "rolled back since)")
    return True


def check_derived(folder: Path, sources: np.ndarray, rep: VerifyReport, skip: np.ndarray | None = None) -> list[Path]:
    """Derived files (and the indexes over them) holding rows derived from other stored rows than those
    there now, or with no record of what they were derived from: each is a problem; returns them. Rows
    in `skip` (stored rows damaged or retired: never served, reported as such) are not compared."""
    stale: list[Path] = []
    for path in derived_files(folder):
        marks = read_from(path)  # written after the rows they describe: each names a row the file holds
        n = min(len(marks), len(sources))
        if not len(marks) and path.stat().st_size:
            rep.problem(f"{DERIVED_DIR}/{path.name}: no record of the stored rows its rows were derived from")
            stale.append(path)
            continue
        wrong = stale_rows(marks, sources, n)[:n]
        wrong = int((wrong & ~skip[:n]).sum() if skip is not None else wrong.sum())
        if wrong:
            rep.problem(f"{DERIVED_DIR}/{path.name}: {wrong} rows were derived from other stored rows than those "
                        "there now (a catalog restored or rolled back since), or from damaged ones")
            stale.append(path)
            continue
        index = path.with_suffix(".ann")
        meta = header_meta(index)
        covered = int(meta.get("rows", -1)) if meta else -1
        if meta and not (0 <= covered <= len(marks) and meta.get("from") == fingerprint_of(marks, covered)):
            rep.problem(f"{DERIVED_DIR}/{index.name}: an index over rows derived since")
            stale.append(index)
    return stale



def _check_file(folder: Path, name: str, dim: int, dtype: str, rows: int, retired: np.ndarray, bad: np.ndarray,
                rep: VerifyReport, repair: bool) -> Path:
    """Check one vector file and its sums; marks damaged rows in `bad`. Repair: cut uncommitted rows, pad
    missing ones with zeros (to be re-embedded) and compute the sums of rows written before sums existed."""
    path = folder / f"{name}.{np.dtype(dtype).name}"
    row_bytes = dim * np.dtype(dtype).itemsize
    size = path.stat().st_size if path.exists() else 0
    have = min(size // row_bytes, rows)
    if size > rows * row_bytes or size % row_bytes:
        rep.problem(f"{path.name}: {size} bytes, {size // row_bytes} rows, but the catalog committed {rows} rows")
    missing = np.arange(have, rows)
    missing = missing[~retired[missing]]
    if len(missing):
        rep.problem(f"{path.name}: {'missing' if not path.exists() else f'cut short at row {have}'}: "
                    f"vectors of {len(missing)} contents are missing")
        bad[missing] = True
    stored = read_sums(path, rows)
    found: list[int] = []
    if have:
        mat = np.memmap(path, np.dtype(dtype), "r", shape=(have, dim))
        for start in range(0, have, CHUNK):
            block = mat[start : start + CHUNK]
            hit = np.flatnonzero(damaged(name, block, start, stored)) + start
            found += hit[~retired[hit]].tolist()
        del mat
    if found:
        rep.problem(f"{path.name}: {len(found)} damaged rows (checksum or values out of range): contents {_ids(found)}")
        bad[found] = True
    if not repair:
        return path
    if size != rows * row_bytes:
        with open(path, "r+b" if path.exists() else "wb") as f:
            f.truncate(rows * row_bytes)
            os.fsync(f.fileno())
        rep.repaired.append(f"{path.name}: {'cut' if size > rows * row_bytes else 'padded'} to {rows} committed rows")
    sums_file = sums_path(path)
    sums_size = sums_file.stat().st_size if sums_file.exists() else 0
    if len(stored) < rows or sums_size != rows * 4:
        mat = np.memmap(path, np.dtype(dtype), "r", shape=(rows, dim)) if rows else np.zeros((0, dim), dtype)
        append_sums(path, row_sums(mat[len(stored):], len(stored)), len(stored))
        if len(stored) < rows:
            rep.repaired.append(f"{sums_file.name}: checksums computed for {rows - len(stored)} rows written "
                                "before checksums existed")
        del mat
    return path


def _repair_rows(folder: Path, catalog: Catalog, kinds: dict[str, tuple[int, str]], files: dict[str, Path],
                 ids: np.ndarray, reembed: Reembed | None, rep: VerifyReport) -> None:
    """Re-embed damaged rows in place from their photos, or retire their contents."""
    db = catalog.db
    asks = []
    for cid in ids.tolist():
        digest = db.execute("SELECT hash FROM contents WHERE id=?", (cid,)).fetchone()
        paths = [from_db(p) for (p,) in db.execute("SELECT path FROM files WHERE content_id=? AND status='ok' "
                                                   "ORDER BY path", (cid,))]
        asks.append((cid, digest[0] if digest else "", paths))
    fresh = reembed([a for a in asks if a[2] and a[1]]) if reembed is not None else {}
    fresh = {cid: vecs for cid, vecs in fresh.items()
             if set(vecs) >= set(kinds) and all(values_ok(k, np.atleast_2d(vecs[k]))[0] for k in kinds)}
    done = sorted(fresh)
    if done:
        for name, (_, dtype) in kinds.items():
            write_rows(files[name], np.dtype(dtype), np.array(done), np.stack([fresh[c][name] for c in done]))
        # rows derived from the damaged vectors recorded so (store/provenance.py): derived again by the
        # next writer, in memory by readers until then; postings left the damaged rows out: built again
        forget_postings(folder)
        rep.repaired.append(f"re-embedded {len(done)} contents from their photos: {_ids(done)}")
    gone = [cid for cid in ids.tolist() if cid not in fresh]
    if gone:
        marks = ",".join("?" * len(gone))
        catalog.begin()
        try:
            # the file records go: `pixseek index` indexes whatever is at those paths now, as new contents
            db.execute(f"DELETE FROM files WHERE content_id IN ({marks})", gone)
            db.execute(f"UPDATE contents SET live=0, hash=hash || ':bad' WHERE id IN ({marks}) "
                       "AND hash NOT LIKE '%:bad%'", gone)
            db.execute(f"UPDATE contents SET live=0 WHERE id IN ({marks})", gone)
            catalog.commit()
        except BaseException:
            catalog.rollback()
            raise
        rep.repaired.append(f"removed {len(gone)} entries whose photo is gone or changed (contents {_ids(gone)}); "
                            "`pixseek index` adds what is at their paths now")
