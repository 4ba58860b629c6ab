"""Places: reverse-geocoding speed, and the time to backfill places of an already indexed collection.

1. Geocoding: load time of the gazetteer, then positions/s for 100,000 positions near real places (GeoNames
   points moved up to 20 km), one batch, as the backfill calls it.
2. Backfill: N Tiny ImageNet photos (train/) copied with a GPS block each (a real place, moved a little),
   indexed once; then the places table is dropped (a catalog from before places) and the next index run
   reads and names them all without re-embedding: its time is the backfill's.
3. Local time: the catalog's mark that its dates follow the local-time rule is removed (a catalog dated
   before it), and the next index run dates every photo again (a header read and a time zone lookup per
   photo, which hold a position and no date), without re-embedding: its time is that pass's.

    flock /tmp/pixseek-bench.lock python benchmarks/places.py [--n 10000]
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image
from PIL.TiffImagePlugin import IFDRational

from pixseek import Collection
from pixseek.lexicon.geocode import gazetteer, reverse_geocode

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "tiny-imagenet-200" / "train"


def _dms(x: float) -> tuple:
    x = abs(x)
    d, m = int(x), int((x - int(x)) * 60)
    s = round(((x - d) * 60 - m) * 60 * 100)
    return (IFDRational(d, 1), IFDRational(m, 1), IFDRational(s, 100))


def positions(n: int, seed: int = 0) -> np.ndarray:
    g = gazetteer()
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(g.city), n)
    lat = np.degrees(np.arcsin(g.xyz[pick, 2])) + rng.uniform(-0.18, 0.18, n)
    lon = np.degrees(np.arctan2(g.xyz[pick, 1], g.xyz[pick, 0])) + rng.uniform(-0.18, 0.18, n)
    return np.stack([np.clip(lat, -90, 90), (lon + 180) % 360 - 180], axis=1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10000)
    args = ap.parse_args()
    t = time.perf_counter()
    gazetteer()
    print(f"gazetteer load: {time.perf_counter() - t:.2f} s")
    pts = positions(100_000)
    t = time.perf_counter()
    reverse_geocode([tuple(p) for p in pts])
    dt = time.perf_counter() - t
    print(f"reverse geocoding: 100,000 positions in {dt:.2f} s = {100_000 / dt:,.0f} positions/s")

    files = sorted(DATA.glob("*/*.JPEG"))[: args.n]
    if len(files) < args.n:
        raise SystemExit(f"need {args.n} photos under {DATA}, found {len(files)}")
    where = positions(len(files), seed=1)
    with tempfile.TemporaryDirectory() as tmp:
        photos = Path(tmp) / "photos"
        photos.mkdir()
        for i, (f, (lat, lon)) in enumerate(zip(files, where)):
            exif = Image.Exif()
            gps = exif.get_ifd(0x8825)
            gps.update({1: "N" if lat >= 0 else "S", 2: _dms(lat), 3: "E" if lon >= 0 else "W", 4: _dms(lon)})
            Image.open(f).save(photos / f"{i:05d}.jpg", "JPEG", quality=90, exif=exif)
        col = Collection.open(Path(tmp) / "db")
        t = time.perf_counter()
        r = col.index([photos], progress=False)
        print(f"index {r.indexed} photos (embedding, reading and naming places): {time.perf_counter() - t:.1f} s")
        print(f"geotagged: {col.status()['geotagged']}")
        col.close()
        col, r, dt = index_again_after(Path(tmp) / "db", photos, "DROP TABLE places", "PRAGMA user_version=3")
        print(f"backfill run: indexed {r.indexed}, skipped {r.skipped}, {dt:.1f} s "
              f"({r.skipped / dt:,.0f} photos/s), geotagged after: {col.status()['geotagged']}")
        col.close()
        col, r, dt = index_again_after(Path(tmp) / "db", photos, "DELETE FROM meta WHERE key='date_rule'")
        print(f"dating again in local time: indexed {r.indexed}, skipped {r.skipped}, {dt:.1f} s "
              f"({r.skipped / dt:,.0f} photos/s)")
        t = time.perf_counter()
        hits = col.search("dog", k=10, min_score=0, near=f"{where[0][0]},{where[0][1]},50")
        print(f"search --near: {len(hits)} hits in {time.perf_counter() - t:.3f} s")
        col.close()


def index_again_after(folder: Path, photos: Path, *sql: str):
    """Turn the collection's catalog back (as an older pixseek left it) with `sql`, then time an index run
    of the same photos: (the collection, its report, seconds)."""
    db = sqlite3.connect(folder / "catalog.sqlite")
    for statement in sql:
        db.execute(statement)
    db.commit()
    db.close()
    col = Collection.open(folder)
    t = time.perf_counter()
    r = col.index([photos], progress=False)
    return col, r, time.perf_counter() - t


if __name__ == "__main__":
    main()
