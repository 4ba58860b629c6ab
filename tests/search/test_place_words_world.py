"""A place name alone ranks exactly that place's photos first, for 20 cities, regions and countries across
the world: Flickr photos given GPS blocks at real places (a little off their centres), indexed with the
real geotagged photos and with Flickr photos that have no GPS at all."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import DATA
from PIL import Image
from PIL.TiffImagePlugin import IFDRational as R

from pixseek import Collection

FLICKR = DATA / "flickr8k-500" / "images"
GEOTAGGED = DATA / "geotagged"
pytestmark = pytest.mark.skipif(not (FLICKR.is_dir() and GEOTAGGED.is_dir()),
                                reason=f"flickr8k-500 or geotagged photos not found under {DATA}")

# where each written photo was taken: (lat, lon), and every name a person may call it
PLACES = {
    "rome": ((41.9028, 12.4964), {"Rome", "Italy"}),
    "milan": ((45.4642, 9.1900), {"Milan", "Italy"}),
    "florence": ((43.7696, 11.2558), {"Italy"}),
    "paris": ((48.8566, 2.3522), {"Paris", "France"}),
    "nice": ((43.7102, 7.2620), {"France"}),
    "berlin": ((52.5200, 13.4050), {"Berlin", "Germany"}),
    "munich": ((48.1351, 11.5820), {"Germany", "Bavaria"}),
    "dublin": ((53.3498, -6.2603), {"Dublin"}),
    "port_louis": ((-20.1609, 57.5012), {"Mauritius"}),
    "grand_baie": ((-20.0133, 57.5806), {"Mauritius"}),
    "oslo": ((59.9139, 10.7522), {"Norway"}),
    "bergen": ((60.3913, 5.3221), {"Norway"}),
    "london": ((51.5074, -0.1278), {"London", "United Kingdom"}),
    "edinburgh": ((55.9533, -3.1883), {"Scotland", "United Kingdom"}),
    "san_francisco": ((37.7749, -122.4194), {"California"}),
    "los_angeles": ((34.0522, -118.2437), {"California"}),
    "tokyo": ((35.6762, 139.6503), {"Tokyo"}),
    "new_york": ((40.7128, -74.0060), {"New York"}),
    "lisbon": ((38.7223, -9.1393), {"Lisbon"}),
    "split": ((43.5081, 16.4402), {"Croatia"}),
    "sydney": ((-33.8688, 151.2093), {"Sydney"}),
}
NAMES = ["Rome", "Paris", "Berlin", "Dublin", "Milan", "Mauritius", "Norway", "Germany", "Italy", "France",
         "United Kingdom", "California", "London", "Tokyo", "New York", "Lisbon", "Croatia", "Sydney", "Bavaria",
         "Scotland"]
PER_PLACE = 2
SHARED = {"DSCN": {"Italy"}}  # the real Tuscany photos answer to Italy too (Lund, Madrid, Helsinki: to none here)


def _dms(x: float) -> tuple:
    x = abs(x)
    d, m = int(x), int((x - int(x)) * 60)
    return (R(d, 1), R(m, 1), R(round(((x - d) * 60 - m) * 60 * 100), 100))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("placewords")
    photos = root / "photos"
    photos.mkdir()
    flickr = sorted(FLICKR.glob("*.jpg"))
    names: dict[str, set[str]] = {}
    for i, (place, ((lat, lon), called)) in enumerate(PLACES.items()):
        for j in range(PER_PLACE):
            exif = Image.Exif()
            lat_j, lon_j = lat + 0.004 * (j + 1), lon - 0.003 * (j + 1)  # within a kilometre or so of the centre
            exif.get_ifd(0x8825).update({1: "N" if lat_j >= 0 else "S", 2: _dms(lat_j),
                                         3: "E" if lon_j >= 0 else "W", 4: _dms(lon_j)})
            name = f"{place}_{j}.jpg"
            Image.open(flickr[400 + PER_PLACE * i + j]).convert("RGB").save(photos / name, "JPEG", exif=exif)
            names[name] = called
    for f in flickr[:150]:  # no GPS
        shutil.copy(f, photos / f.name)
        names[f.name] = set()
    for f in GEOTAGGED.glob("*.jpg"):
        shutil.copy(f, photos / f.name)
        names[f.name] = next((called for prefix, called in SHARED.items() if f.name.startswith(prefix)), set())
    col = Collection.open(root / "db")
    report = col.index([photos], progress=False, workers=0)
    assert report.failed == 0 and report.indexed == len(names)
    yield col, names
    col.close()


def test_each_place_name_alone_ranks_exactly_its_photos_first(world):
    col, names = world
    wrong = {}
    for name in NAMES:
        want = {n for n, called in names.items() if name in called}
        hits = [Path(h.path).name for h in col.search(name, k=len(names), min_score=0)]
        if set(hits[:len(want)]) != want:
            wrong[name] = (sorted(want), hits[:len(want)])
    assert not wrong, f"{len(NAMES) - len(wrong)}/{len(NAMES)} names rank their photos first; not: {wrong}"


def test_aliases_and_native_names_rank_the_same_photos(world):
    col, names = world
    uk = {n for n, called in names.items() if "United Kingdom" in called}
    for alias in ("UK", "Britain", "great britain"):
        assert {Path(h.path).name for h in col.search(alias, k=len(uk))} == uk
    italy = {n for n, called in names.items() if "Italy" in called}
    assert {Path(h.path).name for h in col.search("Italia", k=len(italy))} == italy
    for native, place in (("Roma", "rome"), ("Milano", "milan"), ("München", "munich"), ("Bayern", "munich"),
                          ("Lisboa", "lisbon"), ("NYC", "new_york"), ("Toscana", "florence")):
        want = {f"{place}_{j}.jpg" for j in range(PER_PLACE)}
        if native == "Toscana":  # the real Tuscany photos were taken there too
            want |= {n for n in names if n.startswith("DSCN")}
        assert {Path(h.path).name for h in col.search(native, k=len(want))} == want, native


def test_a_city_and_its_country_together_rank_that_city_first(world):
    col, names = world
    for query, place in (("Rome Italy", "rome"), ("Bergen, Norway", "bergen"), ("Munich Germany", "munich"),
                         ("Edinburgh UK", "edinburgh"), ("beach Mauritius Grand Baie", "grand_baie")):
        want = {f"{place}_{j}.jpg" for j in range(PER_PLACE)}
        assert {Path(h.path).name for h in col.search(query, k=len(want), min_score=0)} == want, query
