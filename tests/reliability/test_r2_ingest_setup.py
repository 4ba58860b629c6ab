"""What surrounds indexing: a damaged cached model is built again (not a failure on every run), a
$PIXSEEK_CACHE that names a file is a one-line error, and photos of types pixseek cannot decode (HEIF,
AVIF) are listed by `status` with the reason, once, instead of being passed over in silence."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import cli_json, copy_tiny, requires_data, run_cli

from pixseek.config import cache_dir
from pixseek.encoders.efficientnet import EXPORT_VERSION

MODEL = f"efficientnet-lite0-v{EXPORT_VERSION}.onnx"


@requires_data
def test_a_truncated_cached_model_is_built_again(tmp_path, monkeypatch):
    photos = tmp_path / "photos"
    copy_tiny(photos, per_class=1)
    intact = cache_dir() / "models" / MODEL  # the shared cache's copy, if any: cut short as a full disk would
    cut = intact.read_bytes()[: intact.stat().st_size // 3] if intact.is_file() else b"\x08\x07\x12\x04onnx" * 99
    monkeypatch.setenv("PIXSEEK_CACHE", str(tmp_path / "cache"))
    (tmp_path / "cache" / "models").mkdir(parents=True)
    (tmp_path / "cache" / "models" / MODEL).write_bytes(cut)
    first = run_cli("index", str(photos), "--no-progress", "--json", db=tmp_path / "db")
    assert "damaged; building it again" in first.stderr and "Traceback" not in first.stderr
    again = run_cli("index", str(photos), "--no-progress", "--json", db=tmp_path / "db2")
    assert "building it again" not in again.stderr
    assert cli_json("status", db=tmp_path / "db2")["images"] == 5


def test_a_cache_setting_that_names_a_file_is_a_one_line_error(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("not a folder")
    photos = tmp_path / "photos"
    photos.mkdir()
    for cache in (tmp_path / "file", tmp_path / "file" / "below"):
        monkeypatch.setenv("PIXSEEK_CACHE", str(cache))
        proc = run_cli("index", str(photos), "--no-progress", db=tmp_path / "db", check=False)
        assert proc.returncode == 1
        assert proc.stderr.strip().splitlines() == [f"pixseek: error: $PIXSEEK_CACHE {cache} cannot be used as a "
                                                    f"folder: {'File exists' if cache.name == 'file' else 'Not a directory'}"]


@requires_data
def test_unsupported_image_types_are_listed_with_a_reason(tmp_path):
    photos = tmp_path / "photos"
    copy_tiny(photos, per_class=1)
    heif = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
    (photos / "phone.HEIC").write_bytes(heif)
    (photos / "web.avif").write_bytes(heif.replace(b"heic", b"avif"))
    (photos / "notes.txt").write_text("not a photo, not listed")
    shutil.copy2(next(photos.glob("n01443537/*")), photos / "renamed-jpeg.heic")  # a JPEG after all: indexed
    db = tmp_path / "db"
    report = cli_json("index", str(photos), "--no-progress", db=db)
    assert (report["indexed"], report["failed"]) == (6, 2), report
    failed = {Path(f["path"]).name: f["error"] for f in cli_json("status", db=db)["failed"]}
    assert set(failed) == {"phone.HEIC", "web.avif"}
    assert failed["phone.HEIC"].startswith("unsupported image type (HEIF)")
    assert failed["web.avif"].startswith("unsupported image type (AVIF)")
    again = cli_json("index", str(photos), "--no-progress", db=db)
    assert (again["indexed"], again["failed"], again["skipped"]) == (0, 0, 8), again
    assert len(cli_json("status", db=db)["failed"]) == 2
