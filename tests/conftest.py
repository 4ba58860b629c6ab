"""Shared fixtures: real photos from ../shared/data (or generated stand-ins, with a note), and CLI runners."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

DATA = Path(os.environ.get("PIXSEEK_TEST_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
TINY_VAL = DATA / "tiny-imagenet-200" / "val"
PHOTOS = DATA / "photos"
HAVE_DATA = TINY_VAL.is_dir() and PHOTOS.is_dir()
# A handful of visually distinct Tiny ImageNet classes used across tests.
CLASSES = {"n01443537": "goldfish", "n02123045": "tabby", "n02814533": "beach wagon",
           "n07747607": "orange", "n04487081": "trolleybus"}

requires_data = pytest.mark.skipif(not HAVE_DATA, reason=f"real photos not found at {DATA}")


def pytest_report_header(config):
    return f"pixseek test photos: {DATA if HAVE_DATA else 'NOT FOUND - data-dependent tests are skipped, generated images used'}"


def copy_tiny(dest: Path, per_class: int = 10, classes=CLASSES) -> list[Path]:
    """Copy the first `per_class` val photos of each class into dest/<wnid>/ (tests may modify the copies)."""
    out = []
    for wnid in classes:
        files = sorted((TINY_VAL / wnid).glob("*.JPEG"))[:per_class]
        (dest / wnid).mkdir(parents=True, exist_ok=True)
        for f in files:
            shutil.copy2(f, dest / wnid / f.name)
            out.append(dest / wnid / f.name)
    return out


def generated_images(dest: Path, n: int = 20) -> list[Path]:
    """Fallback when the shared photos are absent: distinct synthetic pictures."""
    rng = np.random.default_rng(0)
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        a = (rng.random((96, 96, 3)) * 255).astype(np.uint8)
        a[: 20 + i * 3, :, i % 3] = 255
        p = dest / f"gen_{i:03d}.png"
        Image.fromarray(a).save(p)
        out.append(p)
    return out


@pytest.fixture
def photo_dir(tmp_path) -> Path:
    folder = tmp_path / "photos"
    if HAVE_DATA:
        copy_tiny(folder, per_class=6)
        for name in ("skimage_chelsea.png", "skimage_coffee.png", "skimage_rocket.jpg", "skimage_motorcycle_left.png"):
            shutil.copy2(PHOTOS / name, folder / name)
    else:
        generated_images(folder)
    return folder


def run_cli(*args: str, db: Path | None = None, check: bool = True, timeout: int = 600) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "pixseek", *args] + (["--db", str(db)] if db else [])
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{cmd} failed ({proc.returncode}):\n{proc.stderr}")
    return proc


def cli_json(*args: str, db: Path | None = None):
    return json.loads(run_cli(*args, "--json", db=db).stdout)


def wait_for(check, timeout: float = 60.0, retry_on: tuple[type[BaseException], ...] = ()):
    """Poll `check` until it returns something true (returned) or `timeout` seconds pass (None); exceptions
    in `retry_on` (a server not up yet) count as not yet."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if got := check():
                return got
        except retry_on:
            pass
        time.sleep(0.2)
    return None


def fake_wordnet_folder(folder: Path, data: str, index: str, monkeypatch) -> Path:
    """A tiny WordNet (data.noun, index.noun, noun.exc) at `folder`, used by pixseek through PIXSEEK_WORDNET."""
    folder.mkdir()
    (folder / "data.noun").write_text(data)
    (folder / "index.noun").write_text(index)
    (folder / "noun.exc").write_text("geese goose\n")
    monkeypatch.setenv("PIXSEEK_WORDNET", str(folder))
    return folder


@contextlib.contextmanager
def watching(col, roots: list, **options):
    """`col.watch(roots)` in a thread until the block ends; yields (thread, errors): every exception the
    watcher raised, for the test to report."""
    stop, errors = threading.Event(), []

    def watch() -> None:
        try:
            col.watch(roots, progress=False, debounce=0.3, stop=stop, **options)
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            errors.append(exc)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        yield watcher, errors
    finally:
        stop.set()
        watcher.join(timeout=30)


@pytest.fixture(scope="module")
def space():
    """The classifier's class space over the real GloVe vectors and WordNet (search/concepts.py)."""
    from pixseek.encoders.imagenet import imagenet_wnids
    from pixseek.lexicon.wordnet import load_wordnet
    from pixseek.lexicon.words import load_words
    from pixseek.search.concepts import ConceptSpace

    wn = load_wordnet()
    if wn is None:
        pytest.skip("WordNet not installed (apt-get install wordnet-base)")
    return ConceptSpace(imagenet_wnids(), load_words(), wn)
