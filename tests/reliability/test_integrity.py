"""Damaged vector files on a real collection of 300 photos: random byte flips (seeded), a cut-short or
missing file, a NaN row under an IVF index, a 0-byte or foreign catalog. `verify --check-only` must find
every damaged row and write nothing; `verify` must repair so that results equal an undamaged copy's."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import CLASSES, copy_tiny, requires_data

from pixseek.interfaces.collection import Collection

pytestmark = requires_data
SIX = {**CLASSES, "n02099601": "golden retriever"}  # 6 x 50 val photos = 300
WORDS = ["goldfish", "cat", "orange", "bus", "dog", "car"]


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pixseek", *args], capture_output=True, text=True, timeout=600)


def _check(db: Path) -> tuple[int, dict]:
    proc = _cli("verify", "--check-only", "--json", "--db", str(db))
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def _results(db: Path, photos: list[Path]) -> list[list[tuple[str, float]]]:
    with Collection.open(db) as col:
        out = [[(h.path, h.score) for h in col.similar(p, k=10)] for p in photos]
        out += [[(h.path, h.score) for h in col.search(w, k=10)] for w in WORDS]
    return out


def _same(got, want) -> None:
    for g, w in zip(got, want, strict=True):
        assert [p for p, _ in g] == [p for p, _ in w]
        assert np.allclose([s for _, s in g], [s for _, s in w], atol=1e-3)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    root = tmp_path_factory.mktemp("integrity")
    photos = copy_tiny(root / "photos", per_class=50, classes=SIX)
    db = root / "base"
    proc = _cli("index", str(root / "photos"), "--db", str(db), "--no-progress")
    assert proc.returncode == 0 and "damaged" not in proc.stderr, proc.stderr
    queries = photos[::15]
    return db, root / "photos", queries, _results(db, queries)


def _copy(base, tmp_path) -> Path:
    db = tmp_path / "db"
    shutil.copytree(base[0], db)
    return db


def _flip(path: Path, n: int, rng: np.random.Generator, row_bytes: int) -> set[int]:
    data = bytearray(path.read_bytes())
    where = rng.choice(len(data), n, replace=False)
    for i in where:
        data[i] ^= int(rng.integers(1, 256))
    path.write_bytes(bytes(data))
    return set((where // row_bytes).tolist())


def _row_bytes(db: Path) -> dict[str, int]:
    con = sqlite3.connect(db / "catalog.sqlite")
    meta = dict(con.execute("SELECT key, value FROM meta"))
    con.close()
    dim, classes = int(meta["dim"]), int(meta["classes"])
    return {"visual.float16": 2 * (dim + classes), "probs.float16": 2 * classes}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_byte_flips_are_all_found_and_repaired(base, tmp_path, seed):
    db = _copy(base, tmp_path)
    rng = np.random.default_rng(seed)
    sizes = _row_bytes(db)
    hit = _flip(db / "visual.float16", 30, rng, sizes["visual.float16"])
    hit |= _flip(db / "probs.float16", 30, rng, sizes["probs.float16"])
    rc, report = _check(db)
    assert rc == 3 and set(report["damaged"]) == hit
    damaged = _results(db, base[2])  # served meanwhile: never a damaged row's score
    assert all(s <= 1.001 for r in damaged[: len(base[2])] for _, s in r)
    proc = _cli("verify", "--db", str(db))
    assert proc.returncode == 0 and "re-embedded" in proc.stdout, proc.stdout + proc.stderr
    assert _check(db) == (0, {"ok": True, "problems": [], "repaired": [], "damaged": []})
    _same(_results(db, base[2]), base[3])


@pytest.mark.parametrize("damage", ["truncate", "delete"])
def test_a_cut_short_or_missing_vector_file_is_repaired(base, tmp_path, damage):
    db = _copy(base, tmp_path)
    if damage == "truncate":
        with open(db / "visual.float16", "r+b") as f:
            f.truncate(1_000_000)  # 219 of 300 rows
        expect = set(range(1_000_000 // _row_bytes(db)["visual.float16"], 300))
    else:
        (db / "probs.float16").unlink()
        expect = set(range(300))
    status = _cli("status", "--db", str(db))
    assert status.returncode == 0 and "Traceback" not in status.stderr, status.stderr
    rc, report = _check(db)
    assert rc == 3 and set(report["damaged"]) == expect
    assert _cli("verify", "--db", str(db)).returncode == 0
    assert _check(db)[0] == 0
    _same(_results(db, base[2]), base[3])


def test_a_nan_row_with_an_ivf_index(base, tmp_path):
    db = _copy(base, tmp_path)
    row = _row_bytes(db)["visual.float16"]
    mat = np.memmap(db / "visual.float16", np.float16, "r+", shape=(300, row // 2))
    mat[17, :4] = np.nan
    mat.flush()
    del mat
    for args in (["reindex", "--index", "ivf1024,pq32"], ["status"], ["search", "dog"], ["similar", str(base[2][0])],
                 ["index", str(base[1]), "--no-progress"], ["verify"]):
        proc = _cli(*args, "--db", str(db))
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, (args, proc.stderr)
        assert "NaN" not in proc.stdout + proc.stderr
    assert _check(db)[0] == 0
    _same(_results(db, base[2])[len(base[2]):], base[3][len(base[2]):])


def _snapshot(folder: Path) -> dict[str, tuple[int, bytes]]:
    return {str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.read_bytes())
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("index", ["flat", "hnsw32"])
def test_check_only_writes_nothing(base, tmp_path, index):
    db = _copy(base, tmp_path)
    assert _cli("reindex", "--index", index, "--db", str(db)).returncode == 0
    for p in (db / "visual.float16.sums", db / "probs.float16.sums"):
        p.unlink()  # a collection from before checksums: check-only must not write them either
    clean = _snapshot(db)
    assert _check(db)[0] == 0
    assert _snapshot(db) == clean
    _flip(db / "visual.float16", 20, np.random.default_rng(7), _row_bytes(db)["visual.float16"])
    with open(db / "probs.float16", "r+b") as f:
        f.truncate(100_000)
    damaged = _snapshot(db)
    assert _check(db)[0] == 3
    assert _snapshot(db) == damaged


def test_a_damaged_row_whose_photo_is_gone_is_removed(base, tmp_path):
    db = _copy(base, tmp_path)
    gone = base[2][1]
    con = sqlite3.connect(db / "catalog.sqlite")
    (cid,) = con.execute("SELECT content_id FROM files WHERE path=?", (str(gone),)).fetchone()
    con.close()
    photos = tmp_path / "photos"
    shutil.copytree(base[1], photos)
    row = _row_bytes(db)["visual.float16"]
    with open(db / "visual.float16", "r+b") as f:
        f.seek(cid * row + 100)
        f.write(b"\x7f\x7f")
    gone.rename(tmp_path / "away.jpg")  # the photo the row came from is no longer there
    try:
        proc = _cli("verify", "--json", "--db", str(db))
        report = json.loads(proc.stdout)
        assert proc.returncode == 0 and any("removed 1 entries" in r for r in report["repaired"]), report
        assert _check(db)[0] == 0
        with Collection.open(db) as col:
            assert str(gone) not in [h.path for h in col.similar(base[2][0], k=300)]
    finally:
        (tmp_path / "away.jpg").rename(gone)


def test_an_empty_or_foreign_catalog_beside_vectors_is_an_error(base, tmp_path):
    db = _copy(base, tmp_path)
    (db / "catalog.sqlite").write_bytes(b"")
    for args in (["status"], ["verify", "--check-only"], ["search", "dog"]):
        proc = _cli(*args, "--db", str(db))
        assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert "holds vector files" in proc.stderr and "catalog is empty" in proc.stderr
    assert (db / "catalog.sqlite").stat().st_size == 0
    (db / "catalog.sqlite").unlink()
    con = sqlite3.connect(db / "catalog.sqlite")
    con.execute("CREATE TABLE recipes (name TEXT)")
    con.commit()
    con.close()
    proc = _cli("status", "--db", str(db))
    assert proc.returncode == 1 and "not a pixseek catalog" in proc.stderr and "Traceback" not in proc.stderr
    con = sqlite3.connect(db / "catalog.sqlite")
    assert [r[0] for r in con.execute("SELECT name FROM sqlite_master")] == ["recipes"]
    con.close()
