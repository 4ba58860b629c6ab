"""The hostile-file corpus mixed with 1,000 real photos: every real photo indexed, every bad file recorded
with a reason, memory bounded, no crash."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import DATA, copy_tiny, requires_data
from hostile import BAD, GOOD, make_extra_hostile, make_odd_files

# Runs the command from a small process and records its peak memory (with its workers'). A child forked
# straight from pytest would count pytest's own memory at the fork, which grows over a long test session.
MEASURE = """import os, subprocess, sys
p = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(p.pid, 0)
open(sys.argv[1], "w").write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


@requires_data
def test_hostile_corpus_with_1000_real_photos(tmp_path):
    photos = tmp_path / "photos"
    classes = sorted(p.name for p in (DATA / "tiny-imagenet-200" / "val").iterdir())[:20]
    real = copy_tiny(photos / "real", per_class=50, classes=classes)
    assert len(real) == 1000
    make_odd_files(photos / "odd")
    extra = make_extra_hostile(photos / "extra")
    db = tmp_path / "db"
    out, err, peak = tmp_path / "out.txt", tmp_path / "err.txt", tmp_path / "peak.txt"
    with open(out, "w") as o, open(err, "w") as e:
        code = subprocess.call([sys.executable, "-c", MEASURE, str(peak), sys.executable, "-m", "pixseek", "index",
                                str(photos), "--db", str(db), "--json", "--no-progress"], stdout=o, stderr=e, timeout=900)
    assert code == 0, err.read_text()
    peak_mb = int(peak.read_text()) / 1024
    report = json.loads(out.read_text())
    n_bad = len(BAD) + sum(v == "fail" for v in extra.values())
    n_good = 1000 + len(GOOD) + sum(v == "ok" for v in extra.values())
    assert report["indexed"] == n_good and report["failed"] == n_bad, report
    status = json.loads(subprocess.run([sys.executable, "-m", "pixseek", "status", "--db", str(db), "--json"],
                                       capture_output=True, text=True).stdout)
    failed = {Path(f["path"]).name: f["error"] for f in status["failed"]}
    assert set(failed) == BAD | {k for k, v in extra.items() if v == "fail"}
    assert all(reason and len(reason) < 300 for reason in failed.values())
    indexed_real = {r[0] for r in __import__("sqlite3").connect(db / "catalog.sqlite").execute(
        "SELECT path FROM files WHERE status='ok' AND path LIKE ?", (str(photos / "real") + "/%",))}
    assert indexed_real == {str(p) for p in real}
    assert peak_mb < 1500, f"indexing peaked at {peak_mb:.0f} MB"
    print(f"\nhostile corpus: {report['indexed']} indexed ({len(real)} real photos), {report['failed']} failed with "
          f"reasons, peak RSS {peak_mb:.0f} MB")
