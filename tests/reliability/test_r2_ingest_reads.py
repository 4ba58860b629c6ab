"""Reading photos reads regular files only, of bounded size: a file replaced by a FIFO between the scan
and the read is reported, not waited on forever; a link to /dev/zero is refused, not read until memory
runs out. Each read is run in a daemon thread so that a hang fails the test instead of stalling it."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest
from conftest import TINY_VAL, requires_data

from pixseek.ingest.decode import prepare
from pixseek.ingest.pipeline import _file_hash
from pixseek.ingest.readers import ProcessReader
from pixseek.media.exif import mtime_wall_ns, read_photo_info, taken_ns
from pixseek.media.images import ImageError, looks_like_image, open_image
from pixseek.media.preprocess import SquareCrop
from pixseek.regular_files import read_regular


def _within(seconds: float, fn, *args):
    """fn(*args), or a failure if it has not returned after `seconds` (it is left blocked in a daemon thread)."""
    out: list = []
    thread = threading.Thread(target=lambda: out.append(_call(fn, *args)), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"{fn.__name__} still blocked after {seconds} s"
    return out[0]


def _call(fn, *args):
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001 - returned for the test to look at
        return exc


@pytest.fixture
def odd(tmp_path):
    """A FIFO and a /dev/zero link, both named like photos; unblocks any reader left on the FIFO after."""
    fifo, zero = tmp_path / "fifo.jpg", tmp_path / "zero.jpg"
    os.mkfifo(fifo)
    zero.symlink_to("/dev/zero")
    yield fifo, zero
    try:  # a reader still blocked in open() is released by a writer
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    except OSError:
        pass


def test_every_photo_read_refuses_fifos_and_devices(odd):
    for path in odd:
        kind = "FIFO" if path.name == "fifo.jpg" else "character device"
        failed = _within(10, prepare, (str(path), 1000, 1, SquareCrop(224)))
        assert failed.error == f"cannot read: not a regular file (a {kind})", failed
        assert isinstance(_within(10, read_regular, path), OSError)
        assert _within(10, _file_hash, str(path)) is None
        assert _within(10, looks_like_image, path) is True  # by its name: the read then reports it
        unnamed = path.with_name(path.stem)  # no image extension: sniffed, refused unread
        os.link(path, unnamed) if path.name == "fifo.jpg" else unnamed.symlink_to("/dev/zero")
        assert _within(10, looks_like_image, unnamed) is False
        err = _within(10, open_image, path)
        assert isinstance(err, ImageError) and "not a regular file" in str(err)
        assert _within(10, read_photo_info, path).date_taken is None
        assert _within(10, taken_ns, path, 10**18) == mtime_wall_ns(10**18)


def test_a_file_grown_past_the_limit_is_refused_unread(tmp_path):
    big = tmp_path / "big.jpg"
    big.write_bytes(b"\xff\xd8\xff" + b"\0" * 5000)
    err = _call(read_regular, big, 4096)
    assert isinstance(err, OSError) and "file too large" in err.strerror


@requires_data
def test_the_decoding_workers_report_fifos_and_devices_and_decode_the_rest(tmp_path, odd):
    photos = sorted((TINY_VAL / "n01443537").glob("*.JPEG"))[:4]
    for p in photos:
        shutil.copy2(p, tmp_path / p.name)
    tasks = [(str(tmp_path / p.name), p.stat().st_size, p.stat().st_mtime_ns, SquareCrop(224)) for p in photos]
    tasks[1:1] = [(str(path), 1000, 1, SquareCrop(224)) for path in odd]  # as scanned before being replaced
    got = _within(60, lambda: list(ProcessReader(workers=2, window=2).read(tasks)))
    assert not isinstance(got, Exception), got
    errors = {Path(p.path).name: p.error for p in got}
    assert errors == {"fifo.jpg": "cannot read: not a regular file (a FIFO)",
                      "zero.jpg": "cannot read: not a regular file (a character device)",
                      **{p.name: None for p in photos}}
