"""How soon a photo copied into a watched folder is searchable.

    flock /tmp/pixseek-bench.lock python benchmarks/watch.py [--photos 1000] [--rounds 10]

A watcher (`Collection.watch`, debounce 1 s) runs in its own process over a folder of real Tiny ImageNet
photos; each round copies one new photo in and polls, from this process, until the catalog holds it as
indexed (what the server's next request sees). Prints the seconds per round.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import TINY, require  # noqa: E402

from pixseek import Collection  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--photos", type=int, default=1000)
    p.add_argument("--rounds", type=int, default=10)
    args = p.parse_args()
    files = sorted(require(TINY / "val").rglob("*.JPEG"))
    with tempfile.TemporaryDirectory() as tmp:
        folder, db = Path(tmp) / "photos", Path(tmp) / "db"
        folder.mkdir()
        for f in files[: args.photos]:
            shutil.copy2(f, folder / f.name)
        cmd = [sys.executable, "-c", "import sys; from pixseek import Collection; "
               "Collection.open(sys.argv[1]).watch([sys.argv[2]], progress=False)", str(db), str(folder)]
        watcher = subprocess.Popen(cmd)
        try:
            while not (db / "catalog.sqlite").exists() or Collection.open(db).catalog.counts()["files"] < args.photos:
                time.sleep(0.5)
            reader = Collection.open(db)
            times = []
            for i in range(args.rounds):
                new = folder / f"new-{i}.JPEG"
                start = time.perf_counter()
                shutil.copy2(files[args.photos + i], new)
                while (rec := reader.catalog.file(str(new))) is None or rec.status != "ok":
                    time.sleep(0.05)
                times.append(time.perf_counter() - start)
                print(f"round {i + 1}: searchable after {times[-1]:.2f} s", flush=True)
                time.sleep(1.5)
        finally:
            watcher.terminate()
            watcher.wait(timeout=30)
    print(f"{args.rounds} photos copied into a watched folder of {args.photos}: searchable after "
          f"median {statistics.median(times):.2f} s, max {max(times):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
