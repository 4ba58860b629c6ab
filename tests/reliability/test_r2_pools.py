"""Every worker pool stops whole: Ctrl-C to the command's process group, Ctrl-C to the parent alone and
SIGTERM to the parent alone, in the middle of decoding and in the middle of the OCR stage, leave no
process behind (workers, a resource tracker) and print no "leaked semaphore" warning; the next run resumes.

Each round starts `pixseek index` in its own process group (as a terminal runs it), waits until it has
worker processes, records every descendant, signals, and then checks that each recorded descendant and
every member of the group is gone.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import DATA, TINY_VAL, cli_json, run_cli

SCENE = DATA / "scene-text" / "images"
STOP_BOUND_S = 30  # generous: only catches hangs
ROUNDS = [("group", signal.SIGINT), ("parent", signal.SIGINT), ("parent", signal.SIGTERM)]


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _descendants(root: int) -> set[int]:
    """Every live process below `root` (workers run in sessions of their own, so the group alone misses them)."""
    parent = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (st := _stat(int(entry.name))) is not None:
            parent[int(entry.name)] = int(st[1])
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, ppid in parent.items() if ppid in frontier} - found
        found |= frontier
    return found


def _group(pgid: int) -> set[int]:
    return {int(e.name) for e in Path("/proc").iterdir() if e.name.isdigit()
            and (st := _stat(int(e.name))) is not None and int(st[3]) == pgid and st[0] != "Z"}


def _alive(pid: int) -> bool:
    st = _stat(pid)
    return st is not None and st[0] != "Z"


def _interrupt(args: list[str], target: str, sig: int) -> tuple[subprocess.CompletedProcess, set[int], int]:
    """Run pixseek in a new process group; once it has worker processes, signal the group or the parent.
    Returns the finished command, its descendants when signalled, and its group id (its pid)."""
    proc = subprocess.Popen([sys.executable, "-m", "pixseek", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    deadline = time.monotonic() + 120
    seen: set[int] = set()
    while proc.poll() is None and time.monotonic() < deadline and not seen:
        seen = _descendants(proc.pid)
        time.sleep(0.05)
    time.sleep(1.0)  # the workers are at work (loading their model, reading)
    children = seen | _descendants(proc.pid)
    assert proc.poll() is None and children, "the command had no worker processes to stop: nothing was tested"
    if target == "group":
        os.killpg(proc.pid, sig)
    else:
        os.kill(proc.pid, sig)
    try:
        out, err = proc.communicate(timeout=STOP_BOUND_S)
    except subprocess.TimeoutExpired:  # it, or a process holding its output, still runs
        for pid in {proc.pid} | _descendants(proc.pid) | children:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        out, err = proc.communicate()
        pytest.fail(f"still running {STOP_BOUND_S} s after {signal.Signals(sig).name} (the command or a process "
                    f"holding its output): {err[-2000:]}")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), children, proc.pid


def _assert_nothing_left(done: subprocess.CompletedProcess, children: set[int], pgid: int, sig: int, what: str) -> None:
    """Exit status and one "interrupted" line; no traceback or leak warning; every recorded descendant and
    every member of the command's group gone."""
    err = done.stderr
    assert done.returncode == 128 + sig, (what, done.returncode, err)
    assert "leaked" not in err and "Traceback" not in err, (what, err)
    assert len([line for line in err.splitlines() if line.startswith("pixseek: interrupted;")]) == 1, (what, err)
    deadline = time.monotonic() + 5  # workers exit at once; a few seconds only absorb a loaded machine
    while (any(_alive(p) for p in children) or _group(pgid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = sorted({p for p in children if _alive(p)} | _group(pgid))
    assert not left, f"{what}: {len(left)} processes outlived the command: " + "; ".join(
        Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:120] for p in left)


def _read(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db / 'catalog.sqlite'}?mode=ro", uri=True, timeout=5) as con:
            return con.execute("SELECT COUNT(*) FROM photo_text_read").fetchone()[0]
    except sqlite3.Error:
        return 0


@pytest.mark.skipif(not SCENE.is_dir(), reason=f"needs the shared street photos in {SCENE}")
def test_interrupting_the_ocr_stage_leaves_no_process_and_resumes(tmp_path):
    photos, db = tmp_path / "photos", tmp_path / "db"
    photos.mkdir()
    names = sorted(SCENE.glob("img_*.jpg"), key=lambda p: int(p.stem[4:]))[:64]  # >= 48: read in worker processes
    for p in names:
        (photos / p.name).write_bytes(p.read_bytes())
    run_cli("index", str(photos), "--no-progress", db=db)  # embedded first: the OCR stage runs alone below
    for target, sig in ROUNDS:
        what = f"OCR, {signal.Signals(sig).name} to the {target}"
        done, children, pgid = _interrupt(["index", str(photos), "--ocr", "--no-progress", "--db", str(db)], target, sig)
        _assert_nothing_left(done, children, pgid, sig, what)
    before = _read(db)
    assert before < len(names)
    again = cli_json("index", str(photos), "--no-progress", db=db)  # the setting was kept: OCR goes on
    assert again["text"]["read"] == len(names) - before
    assert cli_json("status", db=db)["text"]["read"] == len(names)


@pytest.mark.skipif(not TINY_VAL.is_dir(), reason=f"needs {TINY_VAL}")
def test_interrupting_decoding_leaves_no_process_and_resumes(tmp_path):
    photos, db = tmp_path / "photos", tmp_path / "db"
    for d in sorted(p for p in TINY_VAL.iterdir() if p.is_dir())[:8]:  # 400 photos
        (photos / d.name).mkdir(parents=True)
        for f in sorted(d.glob("*.JPEG")):
            (photos / d.name / f.name).write_bytes(f.read_bytes())
    args = ["index", str(photos), "--no-progress", "--db", str(db), "--workers", "2", "--batch-size", "16"]
    for i, (target, sig) in enumerate(ROUNDS):  # each round decodes all 400 afresh: workers are always busy
        fresh = ["index", str(photos), "--no-progress", "--db", str(tmp_path / f"round{i}"), "--workers", "2",
                 "--batch-size", "16"]
        done, children, pgid = _interrupt(fresh, target, sig)
        _assert_nothing_left(done, children, pgid, sig, f"decoding, {signal.Signals(sig).name} to the {target}")
    done, children, pgid = _interrupt(args, "group", signal.SIGINT)  # the collection that resumes below
    _assert_nothing_left(done, children, pgid, signal.SIGINT, "decoding, SIGINT to the group, then resumed")
    kept = cli_json("status", db=db)["images"]
    assert kept < 400
    final = json.loads(run_cli(*args, "--json").stdout)
    assert final["indexed"] == 400 - kept
    assert cli_json("status", db=db)["images"] == 400
