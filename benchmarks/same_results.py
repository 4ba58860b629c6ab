"""Do two versions of pixseek answer the same? Runs a fixed set of CLI queries (`--json`) against two
collections and writes each answer to OUT/NN.json; `--compare A B` lists the answers that differ byte for byte.

    python benchmarks/same_results.py --photos DB_TINY --text DB_TEXT --out OUT   # with the code under test
    python benchmarks/same_results.py --compare OUT_BEFORE OUT_AFTER

DB_TINY: the 10,000 Tiny ImageNet val photos (`pixseek index .../tiny-imagenet-200/val`); DB_TEXT: the
scene-text and geotagged photos indexed with --ocr (photo text, place words and place filters). Run it
from the checkout being measured (`python -m pixseek` there). Queries cover keywords, negatives, weights,
phrases, sentences, misspellings, unknown words, every bridge, filters, min_score, similar and "more like
this", `text:`, photo-text words, place words and place/near filters.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import DATA  # noqa: E402

VAL = DATA / "tiny-imagenet-200" / "val"
ONE = str(VAL / "n01443537" / "val_1230.JPEG")
PHOTOS = [
    ["search", "dog"], ["search", "dog beach"], ["search", "dog -grass"], ["search", "2:sunset ocean"],
    ["search", "a cat sitting on a sofa"], ["search", "two children playing in the snow"],
    ["search", '"golden retriever"'], ["search", "dgo"], ["search", "dgo", "--exact"], ["search", "fish qwzxv"],
    ["search", "car", "-k", "50"], ["search", "bridge", "--bridge", "conse"], ["search", "bridge", "--bridge", "joint"],
    ["search", "bus", "--under", str(VAL / "n01443537")], ["search", "mountain", "--type", "jpg", "-k", "20"],
    ["search", "orange", "--min-score", "0.3"], ["search", "red car -truck 0.5:street"],
    ["search", "a man riding a bicycle down the street"], ["search", "butterfly flower"], ["search", "teddy bear"],
    ["search", "pizza", "--after", "2000-01-01"], ["similar", ONE],
    ["similar", ONE, "--under", str(VAL / "n01443537"), "-k", "5"],
    ["search", "dog", "--like", ONE],
]
TEXT = [
    ["search", "theatre"], ["search", 'text:"carpark"'], ["search", "street text:HOTEL"], ["search", "Helsinki"],
    ["search", "street Madrid"], ["search", 'place:"Italy"'], ["search", "building", "--place", "Spain"],
    ["search", "tree", "--near", "43.3,11.3,100"], ["search", "sign"], ["search", "open shop"],
]


def run(photos: str, text: str, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for n, (db, args) in enumerate([(photos, a) for a in PHOTOS] + [(text, a) for a in TEXT]):
        r = subprocess.run([sys.executable, "-m", "pixseek", *args, "--db", db, "--json"], capture_output=True, text=True)
        (out / f"{n:02d}.json").write_text(f"rc={r.returncode}\n{r.stdout}\n--stderr--\n{r.stderr}")
    print(f"{len(PHOTOS) + len(TEXT)} answers written to {out}")


def compare(a: Path, b: Path) -> None:
    names = sorted({p.name for p in a.glob("*.json")} | {p.name for p in b.glob("*.json")})
    differ = [n for n in names if not (a / n).is_file() or not (b / n).is_file()
              or (a / n).read_bytes() != (b / n).read_bytes()]
    tail = f"; differ: {', '.join(differ)}" if differ else ""
    print(f"{len(names) - len(differ)} of {len(names)} answers byte-identical{tail}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", help="collection of the 10,000 Tiny ImageNet val photos")
    ap.add_argument("--text", help="collection of scene-text + geotagged photos, indexed with --ocr")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    args = ap.parse_args()
    if args.compare:
        compare(*args.compare)
    elif args.photos and args.text and args.out:
        run(args.photos, args.text, args.out)
    else:
        ap.error("give --photos, --text and --out, or --compare BEFORE AFTER")


if __name__ == "__main__":
    main()
