"""Text in photos: OCR throughput (gate on and off), indexing with --ocr against without, reading accuracy,
and the 1,000-photo goal (a sign found first by a word and by a 4-character substring).

    flock /tmp/pixseek-bench.lock python benchmarks/ocr.py [--part throughput|index|accuracy|goal|all]

Photos are real: Flickr8k (flickr8k-500, 200x150 to 500x375; flickr8k-train, 224x224) and Tiny ImageNet
val (64x64). "With text" photos are Flickr8k photos resized to 400x300 with a white sign drawn on them
(DejaVu/Liberation fonts, black letters). Accuracy: character accuracy = 1 - edit distance / length of
the true text (all lines read joined by spaces, case-insensitive, floored at 0); word accuracy = share of
the true words found among the words read. Every figure printed is one run on this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA, TINY, require  # noqa: E402

from pixseek import Collection  # noqa: E402
from pixseek.encoders.ocr import PPOCRReader, load_upright  # noqa: E402

FLICKR = DATA / "flickr8k-500" / "images"
FLICKR_TRAIN = DATA / "flickr8k-train" / "images"
FONTS = {"DejaVuSans-Bold": "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
         "DejaVuSerif": "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
         "LiberationMono": "/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf",
         "LiberationSans-Italic": "/usr/share/fonts/truetype/liberation/LiberationSans-Italic.ttf"}
WORDS = ("coffee bakery station market hotel pharmacy parking garden museum cinema library harbour bridge "
         "theatre airport exit open closed sale fresh bread pizza taxi police school bank office").split()


def sign(im: Image.Image, text: str, font: str, px: int, angle: float = 0.0, at: tuple[int, int] = (12, 12)) -> Image.Image:
    """`text` in black on a white sign, font size `px` (capitals ~0.73 px tall), turned by `angle` degrees."""
    f = ImageFont.truetype(FONTS[font], px)
    probe = ImageDraw.Draw(im)
    _, _, w, h = probe.textbbox((0, 0), text, font=f)
    card = Image.new("RGBA", (w + px, h + px // 2), (255, 255, 255, 255))
    ImageDraw.Draw(card).text((px // 2, px // 4), text, font=f, fill=(0, 0, 0, 255))
    card = card.rotate(angle, expand=True, resample=Image.BICUBIC)
    if at[0] + card.width > im.width or at[1] + card.height > im.height:
        raise ValueError(f"sign {text!r} at {px} px does not fit in a {im.width}x{im.height} photo")
    out = im.convert("RGB").copy()
    out.paste(card, at, card)
    return out


def plate(rng: random.Random) -> str:
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
    return "".join(rng.choice(letters) for _ in range(2)) + f"{rng.randint(10, 99)} " + "".join(
        rng.choice(letters) for _ in range(3))


def timed_reads(reader: PPOCRReader, files: list[Path]) -> tuple[float, int]:
    reader.read(load_upright(files[0]))  # models loaded, first-run costs paid
    start = time.perf_counter()
    found = sum(bool(reader.read(load_upright(f)).lines) for f in files)
    return len(files) / (time.perf_counter() - start), found


def part_throughput(tmp: Path, n: int) -> None:
    plain = sorted(require(FLICKR).glob("*.jpg"))[:n]
    texted = []
    rng = random.Random(1)
    (tmp / "texted").mkdir()
    for i, p in enumerate(sorted(FLICKR.glob("*.jpg"))[n:n + n // 2]):
        im = sign(Image.open(p).resize((400, 300)), f"{rng.choice(WORDS).upper()} {rng.choice(WORDS).upper()}",
                  "DejaVuSans-Bold", 30)
        im.save(tmp / "texted" / f"{i}.jpg", quality=92)
        texted.append(tmp / "texted" / f"{i}.jpg")
    big = [p for p in sorted((DATA / "photos").iterdir()) if p.name not in ("skimage_page.png", "skimage_text.png")]
    threads = os.cpu_count() or 1
    print(f"OCR throughput, one process, {threads} ONNX Runtime threads, decoding included (photos/s; photos with text found)")
    for name, files in ((f"flickr8k-500, no text ({len(plain)}, 200x150 typical)", plain),
                        (f"full-size photos/, no text ({len(big)}, 256x256 to 1411x1411)", big),
                        (f"Flickr8k 400x300 with a sign ({len(texted)})", texted)):
        for gate in (True, False):
            rate, found = timed_reads(PPOCRReader(threads=threads, gate=gate), files)
            print(f"  {name:52s} gate {'on ' if gate else 'off'}  {rate:6.1f} photos/s  text in {found}")


def index_cli(folder: Path, db: Path, *extra: str) -> float:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "pixseek", "index", str(folder), "--db", str(db), "--json",
                          "--no-progress", *extra], capture_output=True, text=True, check=True)
    took = time.perf_counter() - start
    report = json.loads(out.stdout)
    return took, report


def part_index(tmp: Path, n_tiny: int, n_flickr: int) -> None:
    sets = {"Tiny ImageNet val (64x64)": sorted(require(TINY / "val").rglob("*.JPEG"))[:n_tiny],
            "flickr8k-500 (200x150 typical)": sorted(require(FLICKR).glob("*.jpg"))[:n_flickr]}
    print("pixseek index end-to-end (CLI subprocess, fresh collection), photos without text")
    for name, files in sets.items():
        folder = tmp / f"set-{len(files)}"
        folder.mkdir()
        for f in files:
            shutil.copy2(f, folder / f.name)
        plain, _ = index_cli(folder, tmp / f"db-plain-{len(files)}")
        ocr, report = index_cli(folder, tmp / f"db-ocr-{len(files)}", "--ocr")
        print(f"  {name:32s} {len(files)} photos: without --ocr {len(files) / plain:6.1f} photos/s ({plain:.1f} s), "
              f"with --ocr {len(files) / ocr:6.1f} photos/s ({ocr:.1f} s): {plain / ocr:.2f} of the speed; "
              f"text found in {report['text']['with_text']}, gated {report['text']['gated']}")
        shutil.rmtree(folder)


def _distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def part_accuracy(per_cell: int) -> None:
    photos = sorted(require(FLICKR).glob("*.jpg"))
    reader = PPOCRReader(threads=os.cpu_count() or 1)
    rng = random.Random(7)
    sizes, angles = (14, 20, 28, 40), (0, 10, -20)
    rows: dict[tuple, list[tuple[float, float]]] = {}
    k = 0
    for font in FONTS:
        for px in sizes:
            for angle in angles:
                for _ in range(per_cell):
                    base = Image.open(photos[k % len(photos)]).resize((400, 300))
                    while True:  # two random words (or a plate) that fit on the photo whole
                        truth = plate(rng) if k % 3 == 2 else f"{rng.choice(WORDS)} {rng.choice(WORDS)}".upper()
                        truth = truth.title() if k % 4 == 1 else truth
                        try:
                            drawn = sign(base, truth, font, px, angle)
                            break
                        except ValueError:
                            continue
                    k += 1
                    read = " ".join(t.text for t in reader.read(np.asarray(drawn)).lines)
                    got, want = read.lower(), truth.lower()
                    chars = max(0.0, 1 - _distance(got, want) / len(want))
                    words = sum(w in got.split() for w in want.split()) / len(want.split())
                    rows.setdefault((font, px, angle), []).append((chars, words))
    print(f"OCR accuracy: {k} Flickr8k photos (400x300) with one sign each; {per_cell} per font x size x angle")
    for title, key, values in (("by font size (capitals about 0.73 x size px tall)", 1, sizes), ("by angle", 2, angles),
                               ("by font", 0, tuple(FONTS))):
        print(f"  {title}:")
        for value in values:
            v = [x for cell, xs in rows.items() if cell[key] == value for x in xs]
            print(f"    {value!s:22s} characters {np.mean([c for c, _ in v]):.3f}, words {np.mean([w for _, w in v]):.3f} "
                  f"({len(v)})")
    v = [x for (f, s, a), xs in rows.items() if s >= 28 for x in xs]
    print(f"  size >= 28 px (capitals >= 20 px), all fonts and angles: characters {np.mean([c for c, _ in v]):.3f}, "
          f"words {np.mean([w for _, w in v]):.3f} ({len(v)})")


SIGNS = [("CAFE PARIS", "paris", "ARIS"), ("RE16 TGK", "tgk", "RE16"), ("BAKERY", "bakery", "AKER"),
         ("ROYAL INN", "royal", "OYAL"), ("PHARMACY", "pharmacy", "HARM"), ("PARKING", "parking", "ARKI"),
         ("KY05 XWR", "xwr", "KY05"), ("MARKET ST", "market", "RKET"), ("CINEMA", "cinema", "INEM"),
         ("GARDENS", "gardens", "ARDE")]


def part_goal(tmp: Path, n: int) -> None:
    folder = tmp / "goal"
    folder.mkdir()
    photos = sorted(require(FLICKR_TRAIN).glob("*.jpg"))
    for p in photos[:n - len(SIGNS)]:
        shutil.copy2(p, folder / p.name)
    for i, (text, _, _) in enumerate(SIGNS):  # 224x224 photos, font 28 px: capitals ~20 px tall
        sign(Image.open(photos[n + i]), text, "DejaVuSans-Bold", 28, at=(8, 8 + 18 * (i % 5))).save(
            folder / f"sign-{i}.jpg", quality=92)
    took, report = index_cli(folder, tmp / "goal-db", "--ocr")
    print(f"1,000-photo goal: {n} Flickr8k photos (224x224; {len(SIGNS)} with a sign), indexed with --ocr in "
          f"{took:.1f} s; text found in {report['text']['with_text']} photos")
    col = Collection.open(tmp / "goal-db")
    firsts = 0
    for i, (text, word, sub) in enumerate(SIGNS):
        ranks = []
        for q in (word, sub):
            hits = col.search(q, k=10)
            names = [Path(h.path).name for h in hits]
            ranks.append(names.index(f"sign-{i}.jpg") + 1 if f"sign-{i}.jpg" in names else None)
        firsts += ranks == [1, 1]
        read = col.text(folder / f"sign-{i}.jpg")["lines"]
        print(f"  {text!r:16s} read {[t['text'] for t in read]!s:24s} by word {word!r}: rank {ranks[0]}, "
              f"by substring {sub!r}: rank {ranks[1]}")
    print(f"  found first by both: {firsts} of {len(SIGNS)}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--part", choices=["throughput", "index", "accuracy", "goal", "all"], default="all")
    p.add_argument("--photos", type=int, default=100, help="photos per set for throughput")
    p.add_argument("--tiny", type=int, default=2000)
    p.add_argument("--flickr", type=int, default=500)
    p.add_argument("--per-cell", type=int, default=3)
    p.add_argument("--goal", type=int, default=1000)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if args.part in ("throughput", "all"):
            part_throughput(tmp, args.photos)
        if args.part in ("index", "all"):
            part_index(tmp, args.tiny, args.flickr)
        if args.part in ("accuracy", "all"):
            part_accuracy(args.per_cell)
        if args.part in ("goal", "all"):
            part_goal(tmp, args.goal)
    return 0


if __name__ == "__main__":
    sys.exit(main())
