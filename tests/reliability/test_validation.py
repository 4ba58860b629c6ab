"""Hostile input and the cases an attack round found: bad boxes and weights, strict JSON, uploads that
would need gigabytes to decode, /docs offline, files replaced by others of the same size and mtime,
schema-1 catalogs, and a full disk under the catalog and the thumbnail cache.

Disk tests mount a small tmpfs (needs root; skipped otherwise).
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import shutil
import sqlite3
import struct
import subprocess
import threading
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import DATA, PHOTOS, TINY_VAL, requires_data, run_cli
from fastapi.testclient import TestClient
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from pixseek.encoders.visual import visual_vectors
from pixseek.errors import PixseekError
from pixseek.interfaces.collection import Collection
from pixseek.interfaces.http import create_app
from pixseek.media.formats import content_hash
from pixseek.media.images import MAX_PIXELS, check_decoded_size, decoded_bytes, to_rgb
from pixseek.store.catalog import MIGRATIONS, Catalog

pytestmark = requires_data
BAD_BOXES = ["0,0,inf,inf", "0,0,1e309,10", "nan,0,10,10", "0,0,10,-inf", "0,0,10", "1,2,3,4,5", "10,10,5,20"]
HUGE = "1" + "0" * 40  # the attack round's weight: 1e40


def _strict(text: str):
    """JSON as a strict parser reads it: NaN and Infinity are not JSON."""
    return json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c} in {text[:200]}"))


def _error(resp, status: int) -> str:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error"} and "Traceback" not in body["error"]
    return body["error"]


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def deep_png_header(width: int = 14100, height: int = 14100) -> bytes:
    """A few hundred bytes claiming a 16-bit grey image under the pixel limit that needs ~1.7 GB decoded.
    Its data is far too short: decoding it would fail with "truncated", so a refusal naming memory proves
    the refusal came before decoding."""
    ihdr = struct.pack(">IIBBBBB", width, height, 16, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", zlib.compress(b"\0" * 1000)) \
        + _png_chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("validation")
    photos = root / "photos"
    shutil.copytree(PHOTOS, photos)
    col = Collection.open(root / "db")
    assert col.index([photos], progress=False, workers=0).failed == 0
    files = sorted(str(p) for p in photos.iterdir())
    return {"db": root / "db", "col": col, "files": files, "photos": photos}


@pytest.fixture(scope="module")
def client(world) -> TestClient:
    return TestClient(create_app(world["db"]), raise_server_exceptions=False)


# boxes ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("box", BAD_BOXES)
def test_bad_box_is_a_400_on_every_route(client, world, box):
    path = world["files"][0]
    assert "box" in _error(client.get("/api/similar", params={"path": path, "box": box}), 400)
    upload = {"file": ("q.png", Path(path).read_bytes(), "image/png")}
    assert "box" in _error(client.post("/api/similar", params={"box": box}, files=upload), 400)


def test_box_outside_the_image_is_a_400_and_a_box_past_its_edge_is_clipped(client, world):
    path = world["files"][0]
    w, h = Image.open(path).size
    msg = _error(client.get("/api/similar", params={"path": path, "box": f"{w + 10},{h + 10},{w + 90},{h + 90}"}), 400)
    assert f"cannot use {path} as a query" in msg and f"outside the {w}x{h} image" in msg
    clipped = client.get("/api/similar", params={"path": path, "box": f"0,0,{w * 1000},1e300", "k": 3})
    whole = client.get("/api/similar", params={"path": path, "box": f"0,0,{w},{h}", "k": 3})
    assert clipped.status_code == 200 and clipped.json() == whole.json()


@pytest.mark.parametrize("box", [(0, 0, math.inf, math.inf), (math.nan, 0, 10, 10), (0, 0, 1e309, 5), (1, 2, 3), "a,b,c,d"])
def test_bad_box_in_the_python_api(world, box):
    with pytest.raises(PixseekError, match="box"):
        world["col"].similar(world["files"][0], k=3, box=box)


@pytest.mark.parametrize("box", ["0,0,inf,inf", "0,0,1e309,10", "nan,0,10,10"])
def test_bad_box_in_the_cli_is_a_usage_error(world, box):
    proc = run_cli("similar", world["files"][0], f"--box={box}", db=world["db"], check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "argument --box: box wants X0,Y0,X1,Y1: four finite numbers" in proc.stderr.splitlines()[-1]


def test_box_outside_the_image_in_the_cli_is_one_line(world):
    proc = run_cli("similar", world["files"][0], "--box=5000,5000,6000,6000", db=world["db"], check=False)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1
    assert proc.stderr.startswith("pixseek: error: ") and "outside the" in proc.stderr


# weights and strict JSON ----------------------------------------------------------------------
@pytest.mark.parametrize("q", [f"{HUGE}:dog cat", f"dog -{HUGE}:cat", "101:dog", "9" * 400 + ":dog"])
def test_out_of_range_weight_is_a_400_and_a_cli_error(client, world, q):
    assert "weights go from -100 to 100" in _error(client.get("/api/search", params={"q": q}), 400)
    proc = run_cli("search", *q.split(), "--json", db=world["db"], check=False)
    assert proc.returncode == 1 and proc.stdout == "" and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("pixseek: error: weight of ")


@pytest.mark.parametrize("q", ["100:dog -100:cat", "100:dog 100:cat -100:grass", "0.001:dog cat"])
def test_extreme_allowed_weights_give_finite_scores(client, world, q):
    body = _strict(client.get("/api/search", params={"q": q, "k": 17, "min_score": 0}).text)  # negative scores too
    assert body["results"] and all(math.isfinite(r["score"]) for r in body["results"])
    out = _strict(run_cli("search", *q.split(), "--json", "-k", "17", "--min-score", "0", db=world["db"]).stdout)
    assert [r["path"] for r in out["results"]] == [r["path"] for r in body["results"]]


# uploads limited by decoded memory ------------------------------------------------------------
def test_upload_needing_gigabytes_is_refused_before_decoding(client):
    data = deep_png_header()
    assert len(data) < 1000 and 14100 * 14100 < MAX_PIXELS  # the pixel count alone lets it through
    for route in ("/api/similar", "/api/tag"):
        msg = _error(client.post(route, files={"file": ("deep.png", data, "image/png")}), 400)
        assert re.search(r"14100x14100 I;16 pixels need about [\d,]+ MB of memory, the limit is 1,024 MB", msg), msg


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_the_estimate_reads_only_the_header(tmp_path, fmt):
    """A valid file: after the estimate its pixel data is still undecoded (PIL keeps `tile` until load)."""
    src = Image.open(PHOTOS / "skimage_rocket.jpg")
    exif = Image.Exif()
    exif[0x0112] = 6  # turned a quarter: the estimate counts the upright copy
    src.save(tmp_path / f"x.{fmt}", fmt, exif=exif.tobytes())
    im = Image.open(tmp_path / f"x.{fmt}")
    check_decoded_size(im)
    assert im.tile, "the estimate decoded the image"
    w, h = im.size
    assert decoded_bytes(im) == w * h * (3 + 3) if fmt == "JPEG" else decoded_bytes(im) >= w * h * 3


def test_a_real_16_bit_photo_still_works_and_converts_as_before(client, world):
    grey = np.asarray(Image.open(PHOTOS / "skimage_camera.png").convert("L"), np.uint16) * 257 + 3
    buf = io.BytesIO()
    Image.fromarray(grey).save(buf, "PNG")  # a 16-bit greyscale PNG
    im = Image.open(io.BytesIO(buf.getvalue()))
    assert im.mode.startswith("I;16")
    check_decoded_size(im)
    lo, hi = float(grey.min()), float(grey.max())
    reference = ((grey.astype(np.float64) - lo) / (hi - lo) * 255.0).astype(np.uint8)  # the old whole-image formula
    assert np.array_equal(np.asarray(to_rgb(im))[..., 0], reference)
    hits = client.post("/api/similar", files={"file": ("g.png", buf.getvalue(), "image/png")},
                       params={"k": 3, "min_score": 0})  # three results whatever their scores
    assert hits.status_code == 200 and len(hits.json()) == 3


def test_upload_is_embedded_outside_the_collection_lock(world):
    """While one upload waits for the embedding slot, the collection answers health and searches."""
    app = create_app(world["db"])
    svc, client = app.state.service, TestClient(app, raise_server_exceptions=False)
    data = next((TINY_VAL / "n07747607").glob("*.JPEG")).read_bytes()  # not in the collection: embedded
    done: list = []
    with svc.work:  # as if another upload were being decoded right now
        t = threading.Thread(target=lambda: done.append(client.post("/api/tag", files={"file": ("c.png", data)})))
        t.start()
        t.join(1.0)
        assert t.is_alive()  # the upload waits for the slot ...
        assert client.get("/api/health").status_code == 200  # ... and health does not wait for the upload
        assert client.get("/api/search", params={"q": "cup"}).status_code == 200
        assert t.is_alive() and not done
    t.join(60)
    assert done and done[0].status_code == 200 and isinstance(done[0].json(), list)  # tags (may be none sure)


# /docs ----------------------------------------------------------------------------------------
def test_docs_pages_are_off_and_nothing_loads_from_outside(client):
    _error(client.get("/docs"), 404)
    _error(client.get("/redoc"), 404)
    assert "/api/search" in client.get("/openapi.json").json()["paths"]
    page = client.get("/").text
    assets = [a for a in re.findall(r'(?:src|href)="([^"]+)"', page) if not a.startswith("#")]  # in-page links load nothing
    assert assets and all(a.startswith("/") and not a.startswith("//") for a in assets), assets
    for a in assets:
        body = client.get(a).text
        assert not re.search(r"(?:src|href|url|import)\W+(?:https?:)?//", body), a


# same size, same mtime, other content ---------------------------------------------------------
def _same_size_pngs(sources: list[Path], dest: list[Path]) -> None:
    """Real photos as PNGs padded (a tEXt chunk) to one byte size."""
    raw = []
    for src in sources:
        buf = io.BytesIO()
        Image.open(src).convert("RGB").save(buf, "PNG")
        raw.append(len(buf.getvalue()))
    target = max(raw) + 64
    for src, out, size in zip(sources, dest, raw):
        info = PngInfo()
        info.add_text("pad", "x" * (target - size - 16))  # 12 bytes of chunk, "pad" and its NUL
        Image.open(src).convert("RGB").save(out, "PNG", pnginfo=info)
    assert len({p.stat().st_size for p in dest}) == 1


@pytest.mark.parametrize("how", ["in place", "renamed over"])
def test_same_size_same_mtime_replacement_is_re_embedded(tmp_path, how):
    folder = tmp_path / "photos"
    shutil.copytree(PHOTOS, folder)
    victim, other = folder / "victim.png", tmp_path / "other.png"
    _same_size_pngs([next((TINY_VAL / "n01443537").glob("*.JPEG")), next((TINY_VAL / "n04487081").glob("*.JPEG"))],
                    [victim, other])
    col = Collection.open(tmp_path / "db")
    col.index([folder], progress=False, workers=0)
    app = TestClient(create_app(tmp_path / "db"), raise_server_exceptions=False)
    before, st = col.catalog.file(str(victim)), os.stat(victim)
    if how == "in place":
        with open(victim, "r+b") as f:
            f.write(other.read_bytes())
    else:
        shutil.copyfile(other, folder / "new.tmp")
        os.replace(folder / "new.tmp", victim)
    os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (os.stat(victim).st_size, os.stat(victim).st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    assert "changed since" in _error(app.get("/api/original", params={"path": str(victim)}), 404)
    report = col.index([folder], progress=False, workers=0)
    assert (report.indexed, report.duplicates) == (1, 0)
    after = col.catalog.file(str(victim))
    assert after.hash == content_hash(other.read_bytes()) != before.hash and after.content_id != before.content_id
    stored = col.visual.get(np.array([after.content_id]))[0].astype(np.float32)
    fresh = visual_vectors(col.embed(other.read_bytes()))[0]
    assert float(stored @ fresh) > 0.999
    assert app.get("/api/original", params={"path": str(victim)}).content == other.read_bytes()


def test_chmod_or_restored_copy_is_re_hashed_not_re_embedded(tmp_path):
    folder = tmp_path / "photos"
    shutil.copytree(PHOTOS, folder)
    col = Collection.open(tmp_path / "db")
    n = col.index([folder], progress=False, workers=0).indexed
    rows = col.catalog.counts()["rows"]
    a, b = folder / "skimage_coffee.png", folder / "skimage_rocket.jpg"
    os.chmod(a, 0o600)  # a new ctime, same inode, same bytes
    shutil.copy2(b, tmp_path / "backup")
    os.replace(tmp_path / "backup", b)  # a restored copy: a new inode, same size, mtime and bytes
    report = col.index([folder], progress=False, workers=0)
    assert (report.indexed, report.skipped) == (0, n) and col.catalog.counts()["rows"] == rows
    assert col.catalog.file(str(b)).inode == os.stat(b).st_ino
    assert col.catalog.file(str(a)).ctime_ns == os.stat(a).st_ctime_ns
    again = col.index([folder], progress=False, workers=0)
    assert (again.indexed, again.skipped) == (0, n)


# a schema-1 catalog ---------------------------------------------------------------------------
def _downgrade_to_schema_1(catalog: Path) -> None:
    con = sqlite3.connect(catalog)
    con.execute("ALTER TABLE files DROP COLUMN inode")
    con.execute("ALTER TABLE files DROP COLUMN ctime_ns")
    con.execute("ALTER TABLE files DROP COLUMN taken_ns")  # schema 3
    con.execute("PRAGMA user_version=1")
    con.commit()
    con.close()


def _columns(catalog: Path) -> list[str]:
    con = sqlite3.connect(catalog)
    try:
        return [r[1] for r in con.execute("PRAGMA table_info(files)")]
    finally:
        con.close()


def test_schema_1_catalog_migrates_in_place_and_is_not_re_embedded(world, tmp_path):
    folder, db = tmp_path / "photos", tmp_path / "db"
    shutil.copytree(world["photos"], folder)
    with Collection.open(db) as col:
        n = col.index([folder], progress=False, workers=0).indexed
        expect = [h.to_dict() for h in col.search("cat", k=5)], [h.to_dict() for h in col.similar(world["files"][3], k=5)]
    _downgrade_to_schema_1(db / "catalog.sqlite")
    v1 = [c.split()[0] for c in MIGRATIONS[1].split("CREATE TABLE files (")[1].split(");")[0].strip().splitlines()]
    assert _columns(db / "catalog.sqlite") == v1
    old = Catalog(db / "catalog.sqlite", readonly=True)  # read as it is, no migration
    rec = old.file(str(folder / "skimage_coffee.png"))
    assert rec.status == "ok" and rec.inode is None and len(old.files_under([str(folder)])) == n
    old.db.close()
    with Collection.open(db) as col:
        assert _columns(db / "catalog.sqlite") == v1 + ["inode", "ctime_ns", "taken_ns"]
        got = [h.to_dict() for h in col.search("cat", k=5)], [h.to_dict() for h in col.similar(world["files"][3], k=5)]
        assert got == expect
        rows = col.catalog.counts()["rows"]
        report = col.index([folder], progress=False, workers=0)
        assert (report.indexed, report.skipped) == (0, n) and col.catalog.counts()["rows"] == rows
        assert all(col.catalog.file(str(p)).inode == os.stat(p).st_ino for p in folder.iterdir())


# a full disk ----------------------------------------------------------------------------------
@pytest.fixture
def small_fs(tmp_path):
    target = tmp_path / "fs"
    target.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1000k", "tmpfs", str(target)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    yield target
    subprocess.run(["umount", "-l", str(target)], capture_output=True)


def _fill(folder: Path) -> Path:
    """Take every free byte of the file system holding `folder`."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as f:
        for block in (1 << 16, 4096, 512, 1):
            try:
                while True:
                    f.write(b"\0" * block)
            except OSError:
                pass
    return filler


def test_catalog_commit_on_a_full_disk_raises_once_and_keeps_what_was_committed(small_fs):
    cat = Catalog(small_fs / "catalog.sqlite")
    cat.begin()
    cat.add_content(0, "a" * 32, 1, 1)
    cat.commit()
    filler = _fill(small_fs)
    with pytest.raises(sqlite3.OperationalError, match="full") as caught:
        cat.begin()
        for i in range(1, 5000):  # far more than the WAL can take
            cat.add_content(i, f"{i:032d}", 1, 1)
        cat.commit()
    assert caught.value.__context__ is None  # no "cannot rollback" chained over it
    cat.rollback()  # what the caller's except does: a no-op now, never a second error
    assert not cat.db.in_transaction and cat.counts()["rows"] == 1
    filler.unlink()
    cat.begin()
    cat.add_content(1, "b" * 32, 1, 1)
    cat.commit()
    cat.close()
    assert Catalog(small_fs / "catalog.sqlite", readonly=True).counts()["rows"] == 2


def test_index_on_a_full_disk_is_one_line(small_fs):
    """1000 KB: with 500 photos the catalog's COMMIT is what finds the disk full (in this version)."""
    proc = run_cli("index", str(DATA / "flickr8k-500" / "images"), "--no-progress", "--batch-size", "16",
                   db=small_fs / "db", check=False)
    errors = [line for line in proc.stderr.splitlines() if line.startswith("pixseek: error")]
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert len(errors) == 1 and errors[0].startswith("pixseek: error: cannot write to collection ")
    assert re.search(r"database or disk is full|No space left on device", errors[0])


def test_thumbnail_on_a_full_disk_is_served_from_memory_without_temp_files(small_fs, tmp_path):
    subprocess.run(["mount", "-o", "remount,size=20m", str(small_fs)], check=True)
    photos = tmp_path / "photos"
    shutil.copytree(PHOTOS, photos)
    db = small_fs / "db"
    Collection.open(db).index([photos], progress=False, workers=0)
    client = TestClient(create_app(db), raise_server_exceptions=False)
    files = sorted(str(p) for p in photos.iterdir())
    filler = _fill(small_fs)
    for path in files:
        resp = client.get("/api/thumb", params={"path": path})
        assert resp.status_code == 200 and resp.headers["content-type"] == "image/jpeg"
        assert max(Image.open(io.BytesIO(resp.content)).size) <= 256
    thumbs = db / "thumbs"
    assert not [p for p in thumbs.rglob("*") if p.is_file()] if thumbs.exists() else True
    filler.unlink()
    assert client.get("/api/thumb", params={"path": files[0]}).status_code == 200
    cached = [p for p in thumbs.rglob("*") if p.is_file()]
    assert len(cached) == 1 and cached[0].stat().st_size > 0 and ".tmp" not in cached[0].name
