"""Shared benchmark helpers: where the evaluation photos are and how Tiny ImageNet names its classes."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("PIXSEEK_TEST_DATA", ROOT.parent / "shared" / "data"))
TINY = DATA / "tiny-imagenet-200"
CACHE = ROOT / "benchmarks" / "cache"


def require(path: Path) -> Path:
    if not path.exists():
        sys.exit(f"benchmark data not found: {path} (set PIXSEEK_TEST_DATA to the shared data folder)")
    return path


def tiny_names() -> dict[str, str]:
    """wnid -> first name in words.txt, e.g. n01443537 -> goldfish."""
    out = {}
    for line in (require(TINY) / "words.txt").read_text().splitlines():
        wnid, names = line.split("\t")
        out[wnid] = names.split(",")[0].strip()
    return out


def tiny_files(split: str = "val") -> list[tuple[Path, str]]:
    """(photo, wnid) pairs for a split laid out as <split>/<wnid>/*.JPEG."""
    root = require(TINY / split)
    return [(p, p.parent.name) for p in sorted(root.glob("*/*.JPEG"))]
