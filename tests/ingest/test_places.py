"""Places: GPS positions read at index time from real camera and phone photos (a broken GPS block costs that
value, never the photo), named offline (Lund -> Sweden), stored in the catalog, backfilled for collections
indexed before places existed, and searched with --place and --near before the top k."""

from __future__ import annotations

import math
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from conftest import DATA, cli_json, run_cli
from PIL import Image
from PIL.TiffImagePlugin import IFDRational as R

from pixseek import Collection
from pixseek.errors import PixseekError
from pixseek.lexicon.geocode import distance_km, reverse_geocode
from pixseek.media.exif import read_position
from pixseek.media.gps import position_from_gps
from pixseek.search.filter_options import Filters
from pixseek.search.filters import allowed
from pixseek.search.place_words import place_in_query
from pixseek.search.request import SearchRequest
from pixseek.store.places import count_unplaced

GEOTAGGED = DATA / "geotagged"
requires_geotagged = pytest.mark.skipif(not GEOTAGGED.is_dir(), reason=f"geotagged photos not found at {GEOTAGGED}")


def _with_gps(dest: Path, gps: dict) -> None:
    """A real photo, shrunk, carrying this GPS block (tag number -> value) and nothing else."""
    exif = Image.Exif()
    exif.get_ifd(0x8825).update(gps)
    Image.open(GEOTAGGED / "lund_01.jpg").convert("RGB").resize((320, 240)).save(dest, "JPEG", exif=exif)


BROKEN = {1: "N", 2: (R(123, 1), R(1, 0), R(0, 1)), 3: "E", 4: (R(0, 0), R(0, 0), R(0, 1)), 5: b"\x00", 6: R(5, 0)}


# reading positions ---------------------------------------------------------------------------------------
@requires_geotagged
def test_positions_are_read_from_real_photos():
    tuscany = read_position(GEOTAGGED / "DSCN0010.jpg")
    assert abs(tuscany.lat - 43.4674) < 1e-3 and abs(tuscany.lon - 11.8851) < 1e-3
    madrid = read_position(GEOTAGGED / "iphone_hdr_YES.jpg")  # west of Greenwich: the W reference is applied
    assert abs(madrid.lat - 40.447) < 1e-3 and abs(madrid.lon + 3.7248) < 1e-3 and 600 < madrid.alt < 700
    assert 0 <= madrid.direction < 360
    lund = [read_position(p) for p in sorted(GEOTAGGED.glob("lund_*.jpg"))]
    assert len(lund) == 29 and all(abs(p.lat - 55.698) < 0.01 and abs(p.lon - 13.195) < 0.01 for p in lund)


@requires_geotagged
@pytest.mark.parametrize("fmt", ["webp", "tiff", "png"])
def test_positions_are_read_from_other_formats(tmp_path, fmt):
    with Image.open(GEOTAGGED / "iphone_hdr_YES.jpg") as im:
        im.convert("RGB").resize((200, 150)).save(tmp_path / f"photo.{fmt}", exif=im.getexif())
    pos = read_position(tmp_path / f"photo.{fmt}")
    assert pos is not None and abs(pos.lat - 40.447) < 1e-3 and abs(pos.lon + 3.7248) < 1e-3


@pytest.mark.parametrize("gps, expected", [
    ({1: "S", 2: (R(33, 1), R(52, 1)), 3: "E", 4: (R(151, 1), R(12, 1))}, (-33.866667, 151.2)),  # no seconds
    ({1: b"N\x00", 2: (R(55, 1), R(30, 1), R(0, 1)), 3: b"w", 4: (R(3, 1), R(0, 1), R(36, 1))}, (55.5, -3.01)),
    ({2: R(-12, 2), 4: R(1, 4)}, (-6.0, 0.25)),  # one decimal value each, the sign in the value, no references
    ({1: "N", 2: (R(10, 1), R(0, 1), R(0, 1)), 3: "E", 4: (R(20, 1), R(0, 1), R(0, 1)), 6: R(1, 0), 17: R(400, 1)},
     (10.0, 20.0)),  # a NaN altitude and a heading of 400 cost those values only
])
def test_gps_blocks_in_the_shapes_writers_use(gps, expected):
    pos = position_from_gps(gps)
    assert pos is not None and (round(pos.lat, 6), round(pos.lon, 6)) == expected
    if 6 in gps:
        assert pos.alt is None and pos.direction is None


@pytest.mark.parametrize("gps", [
    BROKEN,  # latitude 123 and NaN minutes, a NaN longitude
    {1: "N", 2: (R(0, 1), R(0, 1), R(0, 1)), 3: "E", 4: (R(0, 1), R(0, 1), R(0, 1))},  # 0,0: no fix yet
    {1: "N", 2: (R(45, 1), R(75, 1), R(0, 1)), 3: "E", 4: (R(9, 1), R(0, 1), R(0, 1))},  # 75 minutes
    {1: "N", 2: (R(45, 1),), 3: "E", 4: (R(181, 1),)},  # longitude past 180
    {1: "X", 2: (R(45, 1),), 3: "E", 4: (R(9, 1),)},  # a reference that is no direction
    {1: "N", 2: "45 deg", 3: "E", 4: b"\x00\x01"},  # text where numbers belong
    {1: "N", 2: (R(45, 1),)},  # a latitude alone
    {}, None, "garbage",
])
def test_broken_gps_gives_no_position_and_never_raises(gps):
    assert position_from_gps(gps) is None


def test_a_photo_with_broken_gps_reads_as_no_position(tmp_path):
    if not GEOTAGGED.is_dir():
        pytest.skip(f"geotagged photos not found at {GEOTAGGED}")
    _with_gps(tmp_path / "broken.jpg", BROKEN)
    assert read_position(tmp_path / "broken.jpg") is None
    (tmp_path / "not_an_image.jpg").write_bytes(b"\xff\xd8\xff\xe1garbage")
    assert read_position(tmp_path / "not_an_image.jpg") is None
    assert read_position(tmp_path / "missing.jpg") is None


# naming places ------------------------------------------------------------------------------------------
def test_positions_are_named_as_people_name_them():
    names = reverse_geocode([(55.6982, 13.1954), (40.4470, -3.7248), (60.1467, 24.9068), (43.4674, 11.8851),
                             (41.8986, 12.4769), (51.5007, -0.1246), (0.5, -30.0)])
    assert [(p.city, p.country) for p in names[:6]] == [
        ("Lund", "Sweden"), ("Madrid", "Spain"), ("Helsinki", "Finland"), ("Arezzo", "Italy"), ("Rome", "Italy"),
        ("London", "United Kingdom")]  # inside Madrid and Rome: the city, not the district nearest the point
    assert names[3].region == "Tuscany" and names[5].region == "England"
    assert names[6].country is None  # mid-Atlantic: a position, no name


def test_distances_are_great_circle_kilometres():
    km = distance_km(np.array([55.7047, 48.8566]), np.array([13.1910, 2.3522]), 55.6050, 13.0038)  # from Malmö
    assert 15 < km[0] < 17 and 1000 < km[1] < 1100
    assert math.isclose(distance_km(np.array([0.0]), np.array([179.9]), 0.0, -179.9)[0], 22.24, rel_tol=0.01)


# the collection ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def world(tmp_path_factory):
    if not GEOTAGGED.is_dir():
        pytest.skip(f"geotagged photos not found at {GEOTAGGED}")
    root = tmp_path_factory.mktemp("places")
    photos = root / "photos"
    shutil.copytree(GEOTAGGED, photos, ignore=shutil.ignore_patterns("*.md", "*.txt"))
    _with_gps(photos / "broken_gps.jpg", BROKEN)
    Image.open(GEOTAGGED / "DSCN0010.jpg").convert("RGB").resize((200, 150)).save(photos / "no_gps.png")
    col = Collection.open(root / "db")
    report = col.index([photos], progress=False, workers=0)
    assert report.failed == 0 and report.indexed == 43
    yield {"col": col, "photos": photos, "root": root}
    col.close()


def _paths(hits) -> set[str]:
    return {Path(h.path).name for h in hits}


def test_places_are_stored_and_counted(world):
    col = world["col"]
    assert col.status()["geotagged"] == 41
    counts = {(p["city"], p["country"]): p["photos"] for p in col.places()}
    assert counts == {("Lund", "Sweden"): 29, ("Arezzo", "Italy"): 9, ("Madrid", "Spain"): 2, ("Helsinki", "Finland"): 1}


def test_place_filter_restricts_before_the_top_k(world):
    col = world["col"]
    lund = {f"lund_{i:02d}.jpg" for i in range(1, 30)}
    for name in ("Sweden", "sweden", "Lund", "Skane", "Lund, Sweden"):
        assert _paths(col.search("building", k=43, min_score=0, place=name)) == lund
    assert _paths(col.search("building", k=3, min_score=0, place="Spain")) == {"iphone_hdr_YES.jpg", "iphone_hdr_NO.jpg"}
    assert _paths(col.similar(world["photos"] / "lund_03.jpg", k=20, min_score=0, place="Italy")) == {
        p.name for p in GEOTAGGED.glob("DSCN*.jpg")}
    with pytest.raises(PixseekError, match="no photos taken in 'UK'"):
        col.search("building", place="UK")
    with pytest.raises(PixseekError, match="Lund, Spain"):  # both parts must hold
        col.search("building", place="Lund, Spain")


def test_near_keeps_exactly_the_photos_within_the_radius(world):
    col = world["col"]
    hits = col.search("building", k=43, min_score=0)
    everywhere = {Path(h.path).name: h.place for h in hits}
    assert everywhere["broken_gps.jpg"] is None and everywhere["no_gps.png"] is None
    for lat, lon, km in ((55.6985, 13.1950, 0.02), (40.44, -3.72, 5), (50.0, 10.0, 1500), (43.4674, 11.8851, 0.15)):
        want = {n for n, p in everywhere.items()
                if p and distance_km(np.array([p["lat"]]), np.array([p["lon"]]), lat, lon)[0] <= km}
        got = _paths(col.search("building", k=43, min_score=0, near=f"{lat},{lon},{km}"))
        assert got == want and want
    assert _paths(col.search("building", k=43, min_score=0, near=(0.0, 0.0, 100))) == set()
    for bad in ("100,2,3", "1,2", "a,b,c", "1,2,-5", "1,2,nan"):
        with pytest.raises(PixseekError, match="near wants LAT,LON,KM"):
            col.search("building", near=bad)


def test_only_a_folder_alone_reaches_a_self_filtering_store_as_a_folder(world):
    """Milvus filters on its own folder field only when the folder is the whole filter; a place, a radius
    (or a folder with either) reaches it as the ids they leave (store/milvus/store.py search_within)."""
    col, photos = world["col"], world["photos"]
    shape = col._stores.shape
    sub = photos / "sub"
    sub.mkdir(exist_ok=True)
    shutil.copy(photos / "lund_01.jpg", sub / "copy.jpg")
    try:
        col.index([photos], progress=False, workers=0)
        shape = col._stores.shape
        under = allowed(col.catalog, shape.rows, shape.live, Filters(under=str(sub)))
        assert under.folder == str(sub) and len(under.ids) == 1
        for f in (Filters(place="Lund"), Filters(near=(55.7, 13.19, 5.0)), Filters(under=str(sub), place="Lund")):
            got = allowed(col.catalog, shape.rows, shape.live, f)
            assert got.folder is None and 0 < len(got.ids) < len(shape.live)
    finally:
        shutil.rmtree(sub)
        col.index([photos], progress=False, workers=0)


def test_cli_json_hits_carry_the_place(world):
    db = world["root"] / "db"
    hits = cli_json("search", "building", "--place", "Finland", "--min-score", "0", db=db)["results"]
    assert [Path(h["path"]).name for h in hits] == ["HMD_Nokia_8.3_5G.jpg"]
    assert hits[0]["place"]["city"] == "Helsinki" and set(hits[0]["place"]) == {"city", "region", "country", "lat", "lon"}
    unplaced = cli_json("similar", str(world["photos"] / "no_gps.png"), "--min-score", "0", "-k", "43", db=db)
    assert {"place": None}.items() <= next(h for h in unplaced if h["path"].endswith("broken_gps.jpg")).items()
    places = cli_json("places", db=db)
    assert {"city": "Lund", "region": "Skåne", "country": "Sweden", "photos": 29} in places
    assert cli_json("status", db=db)["geotagged"] == 41
    wrong = run_cli("search", "building", "--place", "Atlantis", db=db, check=False)
    assert wrong.returncode != 0 and "no photos taken in 'Atlantis'" in wrong.stderr and "Traceback" not in wrong.stderr


def test_an_older_catalog_gains_places_without_re_embedding(world):
    col, root = world["col"], world["root"]
    db = sqlite3.connect(root / "db" / "catalog.sqlite")
    db.execute("DROP TABLE places")
    db.execute("PRAGMA user_version=4")  # the schema before places
    db.commit()
    db.close()
    old = Collection.open(root / "db")  # migrates: the table is there, nothing read yet
    try:
        assert count_unplaced(old.catalog) == 43 and old.status()["geotagged"] == 0
        with pytest.raises(PixseekError, match="no photos taken in 'Sweden'"):
            old.search("building", place="Sweden")
        report = old.index([world["photos"]], progress=False, workers=0)
        assert report.indexed == 0 and report.skipped == 43 and count_unplaced(old.catalog) == 0
        assert len(old.search("building", k=43, min_score=0, place="Sweden")) == 29
    finally:
        old.close()
    col.refresh()


def test_http_filters_by_place_and_lists_places(world):
    pytest.importorskip("fastapi", reason="the web extras are not installed")
    from fastapi.testclient import TestClient

    from pixseek.interfaces.http import create_app

    client = TestClient(create_app(world["root"] / "db"), raise_server_exceptions=False)
    found = client.get("/api/search", params={"q": "building", "place": "Spain", "min_score": 0}).json()["results"]
    assert {Path(h["path"]).name for h in found} == {"iphone_hdr_YES.jpg", "iphone_hdr_NO.jpg"}
    assert all(h["place"]["country"] == "Spain" for h in found)
    near = client.get("/api/similar", params={"path": str(world["photos"] / "lund_03.jpg"), "near": "60.15,24.9,10",
                                              "min_score": 0}).json()
    assert [Path(h["path"]).name for h in near] == ["HMD_Nokia_8.3_5G.jpg"]
    bad = client.get("/api/search", params={"q": "building", "near": "north"})
    assert bad.status_code == 400 and "near wants LAT,LON,KM" in bad.json()["error"]
    assert {"city": "Madrid", "region": "Madrid", "country": "Spain", "photos": 2} in client.get("/api/places").json()


def test_a_place_inside_the_query_is_the_place_filter(world):
    col = world["col"]
    lund = {f"lund_{i:02d}.jpg" for i in range(1, 30)}
    assert _paths(col.search('building place:Sweden', k=43, min_score=0)) == lund
    assert _paths(col.search('place:"Lund, Sweden"', k=43)) == lund  # a place alone lists its photos
    assert _paths(col.search('place:Madrid', k=1)) <= {"iphone_hdr_YES.jpg", "iphone_hdr_NO.jpg"}
    assert _paths(col.search('building place:Italy', k=43, min_score=0, place="Arezzo")) == {
        p.name for p in GEOTAGGED.glob("DSCN*.jpg")}
    with pytest.raises(PixseekError, match="place: needs a name"):
        col.search('building place:""')
    hits = cli_json("search", 'place:"Helsinki"', db=world["root"] / "db")["results"]
    assert [Path(h["path"]).name for h in hits] == ["HMD_Nokia_8.3_5G.jpg"]


def test_place_words_in_a_query_rank_that_place_first(world):
    col = world["col"]
    madrid = {"iphone_hdr_YES.jpg", "iphone_hdr_NO.jpg"}
    assert _paths(col.search("Madrid", k=2)) == madrid  # a place name alone: its photos first
    assert _paths(col.search("building in Spain", k=2, min_score=0)) == madrid
    hits = col.search("Skane church", k=43, min_score=0)
    assert _paths(hits[:29]) == {f"lund_{i:02d}.jpg" for i in range(1, 30)} and len(hits) == 43
    # no place word: the ranking is the plain one; a place no photo was taken in is an ordinary word
    plain = [h.id for h in col.searcher.ranked(SearchRequest("church", 10, min_score=0), "church", Filters()).hits]
    paths = col.catalog.paths_of(plain)
    assert [h.path for h in col.search("church", k=10, min_score=0)] == [paths[i] for i in plain]
    assert place_in_query(col.catalog, "beach Paris") is None and place_in_query(col.catalog, '"Madrid" -dog') is None
    assert place_in_query(col.catalog, "old town, Lund Sweden") == ("old town", "Lund, Sweden")  # both narrow it
    assert place_in_query(col.catalog, "church Madrid Sweden") == ("church Madrid", "Sweden")  # no photo is in both


def test_http_map_dots_and_the_detail_place(world):
    pytest.importorskip("fastapi", reason="the web extras are not installed")
    from fastapi.testclient import TestClient

    from pixseek.interfaces.http import create_app

    client = TestClient(create_app(world["root"] / "db"), raise_server_exceptions=False)
    dots = client.get("/api/places/map").json()["dots"]
    assert sum(d["photos"] for d in dots) == 41  # every geotagged photo, none without a position
    assert {(d["city"], d["country"]) for d in dots} == {("Lund", "Sweden"), ("Arezzo", "Italy"),
                                                         ("Madrid", "Spain"), ("Helsinki", "Finland")}
    assert all(round(d["lat"], 2) == d["lat"] and round(d["lon"], 2) == d["lon"] for d in dots)
    assert dots == sorted(dots, key=lambda d: -d["photos"]) and len(client.get("/api/places/map?limit=2").json()["dots"]) == 2
    info = client.get("/api/info", params={"path": str(world["photos"] / "HMD_Nokia_8.3_5G.jpg"), "k": 0}).json()
    assert info["place"]["city"] == "Helsinki" and abs(info["place"]["lat"] - 60.17) < 0.05
    assert client.get("/api/info", params={"path": str(world["photos"] / "no_gps.png"), "k": 0}).json()["place"] is None
