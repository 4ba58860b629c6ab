"""Interrupts: Ctrl-C and SIGTERM stop `pixseek index` and `reindex` cleanly, and the next run resumes exactly.

Each round starts `pixseek index` in its own process group (as a terminal runs it), waits until the run
has written something, and signals the whole group, as Ctrl-C does (or SIGTERM, as `kill` and service
managers do). The command must exit 130 / 143 with one "interrupted" line, no traceback from any
process (the parent or its decoding workers), no leaked semaphores, and no decoding process left
running. A last uninterrupted run must then give the catalog and vector bytes of a run that was never
interrupted. Rounds: PIXSEEK_INTERRUPT_ROUNDS (default 4, alternating SIGINT and SIGTERM; the figures
in docs/reliability.md come from 20 + 20 rounds on 6,000 photos).

Read-only commands on a collection whose index file is missing or damaged answer exactly and write
nothing; an interrupted `reindex` leaves a whole index serving.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import TINY_VAL, requires_data

ROUNDS = int(os.environ.get("PIXSEEK_INTERRUPT_ROUNDS", "4"))
STOP_BOUND_S = 20  # generous: the goal is 2 s (measured figures in the docs), this only catches hangs


def _cli(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pixseek", *args], capture_output=True, text=True, timeout=timeout)


def _copy_photos(dest: Path, n_classes: int) -> None:
    for d in sorted(p for p in TINY_VAL.iterdir() if p.is_dir())[:n_classes]:
        (dest / d.name).mkdir(parents=True)
        for f in sorted(d.glob("*.JPEG")):
            (dest / d.name / f.name).write_bytes(f.read_bytes())


def _committed(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db / 'catalog.sqlite'}?mode=ro", uri=True, timeout=5) as c:
            return c.execute("SELECT COUNT(*) FROM files").fetchone()[0]
    except sqlite3.Error:
        return 0


def _workers_of(pid: int) -> list[int]:
    """Live decoding processes started by `pid` (they run in sessions of their own)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                if ppid == pid and b"worker_main" in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                pass
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _snapshot(db: Path) -> tuple[list, dict]:
    """Catalog rows by path, and each path's vector bytes in every vector file (ids may differ between runs)."""
    with sqlite3.connect(f"file:{db / 'catalog.sqlite'}?mode=ro", uri=True) as c:
        rows = c.execute("SELECT path, size, mtime_ns, status, hash, content_id FROM files ORDER BY path").fetchall()
        n_rows = c.execute("SELECT COALESCE(MAX(id) + 1, 0) FROM contents").fetchone()[0]
        n_contents = c.execute("SELECT COUNT(*) FROM contents").fetchone()[0]
    vectors = {}
    for name in ("visual", "probs"):
        raw = np.fromfile(db / f"{name}.float16", np.uint16)
        assert raw.size % n_rows == 0, (name, raw.size, n_rows)  # no uncommitted tail left behind
        mat = raw.reshape(n_rows, -1)
        vectors[name] = {r[0]: mat[r[5]].tobytes() for r in rows}
    assert n_contents == n_rows == len({r[4] for r in rows})  # one row per distinct content, none lost or doubled
    return [r[:5] for r in rows], vectors


def _interrupt(args: list[str], sig: int, started, delay: float) -> tuple[subprocess.CompletedProcess, bool, list[int]]:
    """Run pixseek in a process group of its own, signal the group once `started()` (plus `delay`)."""
    proc = subprocess.Popen([sys.executable, "-m", "pixseek", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    deadline = time.time() + 120
    while proc.poll() is None and time.time() < deadline and not started():
        time.sleep(0.02)
    time.sleep(delay)
    workers = _workers_of(proc.pid)
    sent = proc.poll() is None
    if sent:
        os.killpg(proc.pid, sig)
    try:
        out, err = proc.communicate(timeout=STOP_BOUND_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"still running {STOP_BOUND_S} s after {signal.Signals(sig).name}: {err[-2000:]}")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), sent, workers


def _assert_clean_stop(done: subprocess.CompletedProcess, sig: int) -> None:
    err = done.stderr
    assert done.returncode == 128 + sig, (done.returncode, err)
    assert "Traceback" not in err and "leaked" not in err and "Error" not in err, err
    lines = [line for line in err.splitlines() if line.startswith("pixseek: interrupted;")]
    assert len(lines) == 1, err


@requires_data
def test_ctrl_c_and_sigterm_stop_cleanly_and_resume_exactly(tmp_path):
    rng = random.Random(18)
    photos = tmp_path / "photos"
    _copy_photos(photos, 6)  # 300 photos
    reference = tmp_path / "reference"
    assert _cli("index", str(photos), "--db", str(reference), "--no-progress").returncode == 0
    db = tmp_path / "db"
    interrupted = 0
    for rnd in range(ROUNDS):
        sig = (signal.SIGINT, signal.SIGTERM)[rnd % 2]
        before = _committed(db)
        args = ["index", str(photos), "--db", str(db), "--no-progress", "--batch-size", "16", "--workers", "2"]
        done, sent, workers = _interrupt(args, sig, lambda b=before: _committed(db) > b, rng.uniform(0, 0.5))
        if not sent or done.returncode == 0:
            continue  # finished before the signal: nothing to check in this round
        interrupted += 1
        _assert_clean_stop(done, sig)
        assert f"{_committed(db)} photos kept" in done.stderr, done.stderr
        deadline = time.time() + 5  # they exit on the closed pipe even if a signal had missed them
        while any(_alive(w) for w in workers) and time.time() < deadline:
            time.sleep(0.05)
        assert not [w for w in workers if _alive(w)], "decoding processes outlived the command"
    assert interrupted >= max(1, ROUNDS // 2), "most runs finished before the signal; nothing was interrupted"
    final = _cli("index", str(photos), "--db", str(db), "--no-progress", "--json")
    assert final.returncode == 0, final.stderr
    assert _snapshot(db) == _snapshot(reference)


def _search(db: Path, *extra: str) -> subprocess.CompletedProcess:
    return _cli("search", "goldfish", "-k", "10", "--db", str(db), "--json", *extra)


def _files(db: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(db)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(db.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def hnsw_collection(tmp_path_factory) -> Path:
    """300 photos behind an hnsw32 index file (auto would pick exact search for so few)."""
    if not TINY_VAL.is_dir():
        pytest.skip(f"{TINY_VAL} not present")
    root = tmp_path_factory.mktemp("hnsw")
    _copy_photos(root / "photos", 6)
    db = root / "db"
    done = _cli("index", str(root / "photos"), "--db", str(db), "--index", "hnsw32", "--no-progress")
    assert done.returncode == 0, done.stderr
    assert (db / "visual.ann").is_file()
    return db


def _copy_db(src: Path, dest: Path) -> Path:
    for p in src.rglob("*"):
        if p.is_file():
            (dest / p.relative_to(src)).parent.mkdir(parents=True, exist_ok=True)
            (dest / p.relative_to(src)).write_bytes(p.read_bytes())
    return dest


@requires_data
@pytest.mark.parametrize("damage", ["delete", "corrupt"])
def test_read_only_commands_search_exactly_without_an_index_and_write_nothing(hnsw_collection, tmp_path, damage):
    db = _copy_db(hnsw_collection, tmp_path / "db")
    exact = _copy_db(hnsw_collection, tmp_path / "exact")
    assert _cli("reindex", "--index", "flat", "--db", str(exact)).returncode == 0
    header = db / "visual.ann"
    if damage == "delete":
        header.unlink()
    else:
        (part,) = [p for p in db.glob("visual.ann.*.faiss")]
        data = bytearray(part.read_bytes())
        data[len(data) // 2] ^= 0xFF
        part.write_bytes(bytes(data))
    before = _files(db)
    photo = json.loads(_search(exact).stdout)["results"][0]["path"]
    want = {"search": _search(exact), "similar": _cli("similar", photo, "-k", "10", "--db", str(exact), "--json")}
    got = {"search": _search(db), "similar": _cli("similar", photo, "-k", "10", "--db", str(db), "--json")}
    for name, proc in got.items():
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout) == json.loads(want[name].stdout), name
        warnings = [line for line in proc.stderr.splitlines() if "image index" in line]
        assert len(warnings) == 1 and "searching exactly until `pixseek index` or `pixseek reindex`" in warnings[0]
        assert ("missing" if damage == "delete" else "damaged") in warnings[0]
    for args in (["status"], ["tag", photo], ["verify", "--check-only"]):
        proc = _cli(*args, "--db", str(db), "--json")
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, (args, proc.stderr)
    assert _files(db) == before  # nothing trained, rebuilt or written
    assert _cli("index", str(hnsw_collection.parent / "photos"), "--db", str(db), "--no-progress").returncode == 0
    assert (db / "visual.ann").is_file() and "image index" not in _search(db).stderr  # a writer rebuilt it


@requires_data
def test_interrupted_reindex_keeps_a_whole_index_serving(hnsw_collection, tmp_path):
    """Signals at random points of `reindex --index ...`: whatever the moment, search afterwards answers
    from a whole index (the old one or the new one) without a warning, and no temporary file is left."""
    from pixseek.store.ann import AnnIndex

    db = _copy_db(hnsw_collection, tmp_path / "db")
    rng = random.Random(7)
    stopped = 0
    for rnd, spec in enumerate(["lsh256", "hnsw16", "annoy20", "hnsw32"][: max(2, ROUNDS)]):
        sig = (signal.SIGINT, signal.SIGTERM)[rnd % 2]
        done, sent, _ = _interrupt(["reindex", "--index", spec, "--db", str(db)], sig, lambda: True, rng.uniform(0.8, 2.5))
        if sent and done.returncode == -sig and done.stdout.startswith("index:") and not done.stderr:
            pass  # the signal came after the work was done and printed, while Python shut down: the shell
            # sees the same 128 + signal, nothing is lost, and nothing was printed on stderr
        elif sent and done.returncode != 0:
            stopped += 1
            _assert_clean_stop(done, sig)
        else:
            assert done.returncode == 0, done.stderr
        AnnIndex.load(db / "visual.ann")  # whole: every part's size and checksum agree with the header
        assert not [p for p in db.iterdir() if ".tmp-" in p.name]
        after = _search(db)
        assert after.returncode == 0 and "image index" not in after.stderr, after.stderr
    print(f"\nreindex rounds: {max(2, ROUNDS)}, stopped by the signal: {stopped}")


@requires_data
def test_a_decoding_process_killed_mid_run_is_replaced_and_no_file_is_lost(tmp_path):
    """kill -9 of workers (a decoder crash, the OOM killer): the run goes on and accounts for every file."""
    photos, db = tmp_path / "photos", tmp_path / "db"
    _copy_photos(photos, 10)  # 500 photos
    proc = subprocess.Popen([sys.executable, "-m", "pixseek", "index", str(photos), "--db", str(db), "--no-progress",
                             "--workers", "2", "--batch-size", "16", "--json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    while proc.poll() is None and _committed(db) == 0:
        time.sleep(0.02)
    killed = 0
    for victim in _workers_of(proc.pid)[:1] * 2:  # the same worker twice: the second kill finds it gone
        if _alive(victim):
            os.kill(victim, signal.SIGKILL)
            killed += 1
        time.sleep(0.3)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0 and "Traceback" not in err, err
    report = json.loads(out)
    assert killed and report["indexed"] + report["failed"] == 500 and report["failed"] == 0, (report, err)
