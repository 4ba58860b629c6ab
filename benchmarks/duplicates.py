"""Near-duplicate detection on a labelled set built from real photos: pair precision and recall.

    flock /tmp/pixseek-bench.lock python benchmarks/duplicates.py [--per-set 200] [--json OUT]

Each original photo gets four copies: resized to half, recompressed as JPEG quality 40, cropped by
5-15% (a random side split), and 25% brighter. A pair is a true duplicate when both come from the same
original; every other pair (other photos of the same scene class included, the hard negatives) is
not. The threshold is chosen on the calibration set (MiniPlaces train and Flickr8k train-split
photos) and then measured once on the test set (MiniPlaces val and flickr8k-500 photos), through the
real `pixseek index` and `Collection.duplicates`.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA, require  # noqa: E402

from pixseek.interfaces.collection import Collection  # noqa: E402

GRID = [round(t, 3) for t in np.arange(0.60, 0.995, 0.005)]


def originals(kind: str, n: int) -> list[Path]:
    """n real photos: half MiniPlaces (two per class), half Flickr8k."""
    split = "train" if kind == "cal" else "val"
    places = sorted((DATA / "miniplaces" / split).iterdir())
    scenes = [p for c in places for p in sorted(c.iterdir())[:2]][: n // 2]
    if kind == "cal":
        rows = [line.split("\t") for line in (DATA / "flickr8k-train" / "split.tsv").read_text().splitlines()[1:]]
        names = sorted(r[0] for r in rows if len(r) > 1 and r[1].strip() == "train")
        flickr = [DATA / "flickr8k-train" / "images" / Path(f).name for f in names][: n - len(scenes)]
    else:
        flickr = sorted((DATA / "flickr8k-500" / "images").iterdir())[: n - len(scenes)]
    return scenes + flickr


def variants(src: Path, out: Path, rng: random.Random) -> list[Path]:
    im = Image.open(src).convert("RGB")
    w, h = im.size
    made = {"orig.png": im}
    made["half.png"] = im.resize((max(1, w // 2), max(1, h // 2)), Image.Resampling.LANCZOS)
    made["q40.jpg"] = im
    cut = rng.uniform(0.05, 0.15)
    left, top = rng.uniform(0, cut) * w, rng.uniform(0, cut) * h
    made["crop.png"] = im.crop((int(left), int(top), int(w - (cut * w - left)), int(h - (cut * h - top))))
    made["bright.png"] = ImageEnhance.Brightness(im).enhance(1.25)
    out.mkdir(parents=True)
    paths = []
    for name, picture in made.items():
        path = out / name
        picture.save(path, quality=40) if name.endswith(".jpg") else picture.save(path)
        paths.append(path)
    return paths


def build(kind: str, n: int, root: Path) -> tuple[Collection, dict[str, int]]:
    rng = random.Random(0 if kind == "cal" else 1)
    owner = {}
    for i, src in enumerate(originals(kind, n)):
        for p in variants(src, root / kind / f"{i:04d}", rng):
            owner[str(p)] = i
    col = Collection.open(root / f"{kind}-db")
    col.index([root / kind], progress=False)
    return col, owner


def pair_figures(sims: np.ndarray, same: np.ndarray, t: float) -> tuple[float, float]:
    found = sims >= t
    tp = int((found & same).sum())
    return tp / max(int(found.sum()), 1), tp / max(int(same.sum()), 1)


def all_pairs(col: Collection, owner: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    rows = col.catalog.db.execute("SELECT path, content_id FROM files WHERE status='ok' ORDER BY path").fetchall()
    ids = np.array([cid for _, cid in rows])
    who = np.array([owner[p] for p, _ in rows])
    v = col.visual.get(ids)
    dim, n_classes = col.layout.dims()
    if n_classes:  # pairs are scored on the features half, as Collection.duplicates does
        v = v[:, :dim] / np.linalg.norm(v[:, :dim], axis=1, keepdims=True)
    iu = np.triu_indices(len(ids), 1)
    return (v @ v.T)[iu], (who[:, None] == who[None, :])[iu]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--per-set", type=int, default=200, help="original photos per set (each gives 5 images)")
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    require(DATA / "miniplaces" / "train")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cal, cal_owner = build("cal", args.per_set, root)
        sims, same = all_pairs(cal, cal_owner)
        sweep = {t: pair_figures(sims, same, t) for t in GRID}
        for t, (prec, rec) in sweep.items():
            print(f"calibration  threshold {t:.3f}  pair precision {prec:.3f}  recall {rec:.3f}")
        good = [t for t, (prec, _) in sweep.items() if prec >= 0.97]
        chosen = min(good) if good else max(GRID)
        print(f"chosen on calibration: {chosen:.3f} (the lowest threshold with pair precision >= 0.97)")
        test, test_owner = build("test", args.per_set, root)
        sims, same = all_pairs(test, test_owner)
        prec, rec = pair_figures(sims, same, chosen)
        print(f"test pairs   threshold {chosen:.3f}  pair precision {prec:.3f}  recall {rec:.3f}  "
              f"({int(same.sum())} true pairs among {len(same)})")
        groups = test.duplicates(chosen, progress=False)
        grouped = {(a, b) for g in groups for a, b in itertools.combinations(sorted(g.paths), 2)}
        truth = {(a, b) for a, b in itertools.combinations(sorted(test_owner), 2) if test_owner[a] == test_owner[b]}
        g_prec = len(grouped & truth) / max(len(grouped), 1)
        g_rec = len(grouped & truth) / max(len(truth), 1)
        kept = sum(Path(g.keep).name == "orig.png" for g in groups)
        print(f"test groups  {len(groups)} groups; pairs inside groups: precision {g_prec:.3f}  recall {g_rec:.3f}; "
              f"keeper is the original in {kept} of {len(groups)}")
        per_kind = {}
        for kind in ("half.png", "q40.jpg", "crop.png", "bright.png"):
            hit = sum((str(Path(a).parent / "orig.png"), a) in grouped or (a, str(Path(a).parent / "orig.png")) in grouped
                      for a in test_owner if a.endswith(kind))
            per_kind[kind] = hit / args.per_set
        print("test recall of each copy against its original: " + ", ".join(f"{k} {v:.3f}" for k, v in per_kind.items()))
        result = {"threshold": chosen, "test_pairs": {"precision": prec, "recall": rec},
                  "test_groups": {"precision": g_prec, "recall": g_rec, "groups": len(groups)},
                  "per_kind": per_kind, "calibration": {str(t): v for t, v in sweep.items()}}
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
