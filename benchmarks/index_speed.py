"""End-to-end `pixseek index` throughput against the raw encoder on the same photos, in one run.

    python benchmarks/index_speed.py [--limit N]

Raw encoder: every photo decoded and preprocessed into memory first, then only the ONNX model is
timed (batch 64). End-to-end: a fresh collection indexed by the real CLI in a subprocess (process
start, model load, scanning, hashing, decoding in workers, embedding, writing and committing).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from common import TINY, require  # noqa: E402

from pixseek.encoders.images import load_for_encoder  # noqa: E402
from pixseek.encoders.registry import load_image_encoder  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=0, help="use only the first N photos (0 = all 10,000)")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    files = sorted(require(TINY / "val").glob("*/*.JPEG"))
    if args.limit:
        files = files[: args.limit]
    folder = TINY / "val"
    enc = load_image_encoder()
    pixels = np.stack([load_for_encoder(str(f), enc.input_size)[0] for f in files])
    enc.embed(pixels[:64])  # warm-up
    t = time.perf_counter()
    for i in range(0, len(pixels), 64):
        enc.embed(pixels[i : i + 64])
    raw = len(pixels) / (time.perf_counter() - t)
    del pixels

    with tempfile.TemporaryDirectory() as tmp:
        src = folder
        if args.limit:  # index exactly the same photos
            src = os.path.join(tmp, "photos")
            os.makedirs(src)
            for f in files:
                os.symlink(f, os.path.join(src, f"{f.parent.name}_{f.name}"))
        cmd = [sys.executable, "-m", "pixseek", "index", str(src), "--db", os.path.join(tmp, "db"), "--json", "--no-progress"]
        if args.workers is not None:
            cmd += ["--workers", str(args.workers)]
        t = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, text=True, check=True)
        wall = time.perf_counter() - t
        report = json.loads(out.stdout)
    e2e = report["indexed"] / wall
    result = {"photos": len(files), "raw_encoder_img_s": round(raw, 1), "index_img_s": round(e2e, 1),
              "index_seconds_wall": round(wall, 1), "ratio": round(e2e / raw, 3), "cpus": os.cpu_count()}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"photos                 {len(files)}")
        print(f"raw encoder (model)    {raw:7.1f} img/s  (batch 64, preprocessed tensors in memory)")
        print(f"pixseek index (e2e)    {e2e:7.1f} img/s  ({wall:.1f} s wall, process start included)")
        print(f"ratio                  {e2e / raw:7.3f}")


if __name__ == "__main__":
    main()
