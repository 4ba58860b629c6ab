"""The labelled near-duplicate set: look-alike distinct photos, planted copies and planted bursts.

Distinct photos that look alike: photos of one Tiny ImageNet class, of one MiniPlaces scene class, of one
person (faces/), Flickr8k photos, full-size photos, and consecutive street shots of one walk (geotagged/
lund_*, no date taken: near scenes, not bursts). A third of them get planted copies: resized to half,
re-encoded as JPEG quality 40, cropped by 6% (a random share of each side), and 25% brighter; one gets a
byte-identical copy. Bursts: consecutive lund shots written with EXIF dates 2 s apart. The calibration
and test sets share no source photo.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

from common import DATA
from PIL import Image, ImageEnhance

COPIES = ("resized", "re-encoded", "cropped", "edited")
EXIF_IFD, DATE_TAKEN = 0x8769, 0x9003


def sources(kind: str) -> list[tuple[Path, str]]:
    """(photo, look-alike family) of one set; families are the classes, persons and walks."""
    half = 0 if kind == "cal" else 1
    out: list[tuple[Path, str]] = []
    tiny = sorted(c for c in (DATA / "tiny-imagenet-200" / "val").iterdir() if c.is_dir())[half::2][:12]
    out += [(p, f"tiny-{c.name}") for c in tiny for p in sorted(c.glob("*.JPEG"))[:5]]
    places = sorted((DATA / "miniplaces" / "val").iterdir())[half::2][:10]
    out += [(p, f"place-{c.name}") for c in places for p in sorted(c.iterdir())[:4]]
    rows = [r.split("\t") for r in (DATA / "faces" / "labels.tsv").read_text().splitlines()[1:]]
    people = sorted({r[1] for r in rows})[half::2][:8]
    for person in people:
        out += [(DATA / "faces" / "images" / r[0], f"face-{person}") for r in rows if r[1] == person][:4]
    out += [(p, "flickr") for p in sorted((DATA / "flickr8k-500" / "images").iterdir())[half::2][:30]]
    out += [(p, "photos") for p in sorted((DATA / "photos").iterdir())[half::2]]
    lund = sorted((DATA / "geotagged").glob("lund_*.jpg"))
    out += [(p, "walk") for p in (lund[:8] if half == 0 else lund[12:20])]
    return out


def copies(im: Image.Image, out: Path, stem: str, rng: random.Random) -> dict[str, Path]:
    """The four planted copies of one photo: {kind: path}."""
    w, h = im.size
    made = {"resized": (out / f"{stem}-half.png", im.resize((max(1, w // 2), max(1, h // 2)),
                                                              Image.Resampling.LANCZOS))}
    made["re-encoded"] = (out / f"{stem}-q40.jpg", im)
    cut_x, cut_y = 0.06 * w, 0.06 * h
    left, top = rng.uniform(0, cut_x), rng.uniform(0, cut_y)
    made["cropped"] = (out / f"{stem}-crop.png", im.crop((round(left), round(top), round(w - cut_x + left),
                                                          round(h - cut_y + top))))
    made["edited"] = (out / f"{stem}-bright.png", ImageEnhance.Brightness(im).enhance(1.25))
    for path, picture in made.values():
        picture.save(path, quality=40) if path.suffix == ".jpg" else picture.save(path)
    return {k: p for k, (p, _) in made.items()}


def build(kind: str, root: Path) -> dict[str, dict]:
    """Write one set under root/kind; returns {path: {"photo": original number, "family", "copy": kind or
    None for an original, "burst": burst number or None}}."""
    rng = random.Random(0 if kind == "cal" else 1)
    folder = root / kind
    folder.mkdir(parents=True)
    labels: dict[str, dict] = {}
    photos = sources(kind)
    planted = set(rng.sample(range(len(photos)), len(photos) // 3))
    for i, (src, family) in enumerate(photos):
        dest = folder / f"{i:03d}-{src.name}"
        shutil.copyfile(src, dest)
        labels[str(dest)] = {"photo": i, "family": family, "copy": None, "burst": None}
        if i in planted:
            im = Image.open(src).convert("RGB")
            for copy, path in copies(im, folder, f"{i:03d}", rng).items():
                labels[str(path)] = {"photo": i, "family": family, "copy": copy, "burst": None}
        if i == min(planted):
            same = folder / f"{i:03d}-same{src.suffix}"
            shutil.copyfile(src, same)
            labels[str(same)] = {"photo": i, "family": family, "copy": "same bytes", "burst": None}
    lund = sorted((DATA / "geotagged").glob("lund_*.jpg"))
    for n, burst in enumerate([lund[8:12], lund[20:24]] if kind == "cal" else [lund[24:27], lund[27:29]]):
        for j, src in enumerate(burst):
            i = len(photos) + 100 * n + j
            im = Image.open(src)
            exif = im.getexif()
            exif.get_ifd(EXIF_IFD)[DATE_TAKEN] = f"2024:05:0{n + 1} 10:00:{2 * j:02d}"
            dest = folder / f"burst{n}-{j}.jpg"
            im.save(dest, quality=92, exif=exif)
            labels[str(dest)] = {"photo": i, "family": f"burst{n}", "copy": None, "burst": n}
    return labels
