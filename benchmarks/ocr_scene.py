"""Text in real street photos: what the OCR stage keeps of what its model reads, on ICDAR 2015 photos.

    flock /tmp/pixseek-bench.lock python benchmarks/ocr_scene.py [--photos 1-100,101-150]

../shared/data/scene-text/: 150 ICDAR 2015 incidental-text photos (1280x720, small, slanted, blurred
words), gt/gt_img_N.txt one word per line (`x1,y1,...,x4,y4,transcription`, `###` illegible). A word
counts when it is legible and, with leading and trailing punctuation stripped, made of 5 or more letters
only; each photo's words are counted once (case-insensitive). A word is read where its normalised text
(store/photo_text.py: lower case, 0/O, 1/l/I, 5/S folded) is a substring of a normalised line read.

Three figures per range of photos, in one run:
- direct: rapidocr 3.10 called on each file with its defaults (only the model paths given, the same
  ONNX files pixseek uses, so nothing is downloaded);
- stage: `pixseek index --ocr` (CLI, fresh collection), then each photo's stored lines (`pixseek text`);
- search: `text:"WORD"` through Collection.search (k=50): the photo is among the results.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's pixseek, as the CLI runs it
from common import DATA, require  # noqa: E402

from pixseek import Collection  # noqa: E402
from pixseek.encoders.ocr import MODELS  # noqa: E402
from pixseek.store.photo_text import normalise  # noqa: E402

SCENE = DATA / "scene-text"


def legible_words(n: int) -> set[str]:
    """Photo n's legible words of 5+ letters, lower case."""
    out = set()
    for line in (require(SCENE) / "gt" / f"gt_img_{n}.txt").read_text(encoding="utf-8-sig").splitlines():
        parts = line.split(",", 8)
        if len(parts) < 9 or parts[8].strip() == "###":
            continue
        word = re.sub(r"^\W+|\W+$", "", parts[8].strip())
        if word.isalpha() and len(word) >= 5:
            out.add(word.lower())
    return out


def read_in(words: set[str], lines: list[str]) -> set[str]:
    norm = [normalise(t) for t in lines]
    return {w for w in words if any(normalise(w) in line for line in norm)}


def direct_engine():
    """rapidocr with its defaults; only the model paths are given (the wheel's files pixseek uses)."""
    import rapidocr
    from rapidocr import RapidOCR

    root = Path(rapidocr.__file__).parent / "models"
    return RapidOCR(params={"Global.log_level": "error", **{f"{k.title()}.model_path": str(root / name)
                                                             for k, name in MODELS.items()}})


def ranges(spec: str) -> list[tuple[int, int]]:
    out = []
    for part in spec.split(","):
        a, _, b = part.partition("-")
        out.append((int(a), int(b or a)))
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--photos", default="1-100,101-150", help="ranges of photo numbers, each reported on its own")
    p.add_argument("--workers", type=int, help="pixseek index --workers (default: one per core)")
    p.add_argument("--misses", action="store_true", help="list the words the direct call reads and the stage does not")
    args = p.parse_args()
    spans = ranges(args.photos)
    numbers = sorted({n for a, b in spans for n in range(a, b + 1)})
    engine = direct_engine()
    engine(str(SCENE / "images" / f"img_{numbers[0]}.jpg"))  # models loaded before timing
    direct, took = {}, time.perf_counter()
    for n in numbers:
        out = engine(str(SCENE / "images" / f"img_{n}.jpg"))
        direct[n] = read_in(legible_words(n), [str(t) for t in (out.txts or ())])
    direct_s = time.perf_counter() - took
    with tempfile.TemporaryDirectory() as d:
        folder, db = Path(d) / "photos", Path(d) / "db"
        folder.mkdir()
        for n in numbers:
            shutil.copy2(SCENE / "images" / f"img_{n}.jpg", folder)
        cmd = [sys.executable, "-m", "pixseek", "index", str(folder), "--db", str(db), "--ocr", "--json", "--no-progress"]
        cmd += ["--workers", str(args.workers)] if args.workers else []
        took = time.perf_counter()
        report = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True,
                                           cwd=Path(__file__).resolve().parents[1]).stdout)
        index_s = time.perf_counter() - took
        col = Collection.open(db)
        stage, search = {}, {}
        for n in numbers:
            path = folder / f"img_{n}.jpg"
            stage[n] = read_in(legible_words(n), [line["text"] for line in col.text(path)["lines"]])
            search[n] = {w for w in legible_words(n)
                         if str(path) in {h.path for h in col.search(f'text:"{w}"', k=50)}}
        col.close()
    print(f"scene text (ICDAR 2015, 1280x720): {len(numbers)} photos; direct rapidocr {direct_s / len(numbers):.2f} s "
          f"a photo; pixseek index --ocr {index_s:.1f} s in all (text in {report['text']['with_text']}, "
          f"gated {report['text']['gated']})")
    for a, b in spans:
        ns = range(a, b + 1)
        total = sum(len(legible_words(n)) for n in ns)
        got = {name: sum(len(found[n]) for n in ns) for name, found in (("d", direct), ("s", stage), ("q", search))}
        kept = sum(len(direct[n] & stage[n]) for n in ns)
        print(f"  img_{a}..img_{b}: {total} legible words of 5+ letters")
        print(f"    direct rapidocr call   {got['d']:4d}  recall {got['d'] / total:.3f}")
        print(f"    stage (pixseek text)   {got['s']:4d}  recall {got['s'] / total:.3f}; of the direct call's words "
              f"{kept} ({kept / max(1, got['d']):.3f})")
        print(f"    text:\"WORD\" search    {got['q']:4d}  recall {got['q'] / total:.3f}")
        if args.misses:
            for n in ns:
                if direct[n] - stage[n]:
                    print(f"      img_{n}: stage misses {sorted(direct[n] - stage[n])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
