"""An AnnIndex's file format: generations of payload files, fsynced, named by a small JSON header written last.

    <name>                  JSON header: format, spec, dim, generation, parts {key: file, size, crc32}, meta
    <name>.<gen>.faiss      the library's index (.annoy for Annoy), absent while everything is in the side buffer
    <name>.<gen>.ids.npz    id map, tombstones and the exact side buffer

A save writes generation max+1 beside the current one, fsyncs each payload, then replaces the header
(fsynced, with its folder), and only then removes the older generations: a crash at any point leaves
the previous header and its files intact. Reading checks every size and CRC32; a large payload whose
checksum this user has already verified, and that has not changed since (same inode, size and
modification time), is not read again: a million photos' indexes are 0.9 GB, and checking them cost a
cold `pixseek search` 0.6 s (docs/million.md). The memos are empty files in the cache folder.
"""

from __future__ import annotations

import hashlib
import json
import re
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from pixseek.atomic import atomic_path, atomic_write
from pixseek.config import cache_dir
from pixseek.errors import PixseekError

FORMAT_VERSION = 1
MEMO_ABOVE = 32 * 2**20  # payloads at least this large keep a memo of their verified checksum


class IndexFileError(PixseekError):
    """The index file is missing, truncated, corrupt or of another format; rebuild it from the vectors."""


class IndexWriteError(PixseekError):
    """A new index could not be written (a full disk, say); the previous generation is whole and kept."""


def save_npz(path: Path, **arrays: np.ndarray) -> None:
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def _crc32(path: Path) -> int:
    crc = 0
    with open(path, "rb") as f:
        while block := f.read(1 << 22):
            crc = zlib.crc32(block, crc)
    return crc


def _write_part(final: Path, write: Callable[[Path], None]) -> dict:
    """Write one payload file under a temporary name, fsync, rename; return its size and checksum.
    (The temp name `<final>.tmp-...` carries the generation, so a crash's leftover goes with it.)"""
    with atomic_path(final) as tmp:
        write(tmp)
        info = {"file": final.name, "size": tmp.stat().st_size, "crc32": _crc32(tmp)}
    _remember(final, info)  # the rename kept inode and time: the writer's own readers need not check again
    return info


def write_index_files(path: Path, spec: str, dim: int, meta: dict,
                      payloads: dict[str, tuple[str, Callable[[Path], None]]]) -> None:
    """Save one generation: payloads maps a part's key to (file suffix, function writing the file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    gen = _max_generation(path) + 1  # never overwrite a file the current header may name
    try:
        parts = {key: _write_part(path.parent / f"{path.name}.{gen}.{suffix}", write)
                 for key, (suffix, write) in payloads.items()}
        header = {"format": FORMAT_VERSION, "spec": spec, "dim": dim, "generation": gen, "parts": parts, "meta": meta}
        atomic_write(path, json.dumps(header, indent=1).encode())  # fsynced, folder too: the save is now durable
    except BaseException:  # a full disk, an interrupt: drop this generation's finished parts, keep the old one
        for suffix, _ in payloads.values():
            (path.parent / f"{path.name}.{gen}.{suffix}").unlink(missing_ok=True)
        raise
    for stale in path.parent.glob(f"{path.name}.*"):
        if not stale.name.startswith(f"{path.name}.{gen}.") and _generation_of(path, stale) is not None:
            stale.unlink(missing_ok=True)


def read_index_files(path: Path) -> tuple[dict, dict[str, Path]]:
    """(header, {part key: file}) with every part's size and checksum checked; raises IndexFileError."""
    header = _read_header(path)
    try:
        files = {key: path.parent / part["file"] for key, part in header["parts"].items()}
        for key, file in files.items():
            _check_part(file, header["parts"][key])
    except (KeyError, TypeError, AttributeError, ValueError, OSError) as exc:
        raise IndexFileError(f"{path}: unreadable index ({exc})") from exc
    return header, files


def header_meta(path: Path) -> dict | None:
    """The `meta` an index's header records (e.g. the rows it covers and what they were derived from), or
    None when there is no readable header; the payloads are not read."""
    try:
        meta = _read_header(path).get("meta")
    except IndexFileError:
        return None
    return meta if isinstance(meta, dict) else None


def _read_header(path: Path) -> dict:
    try:
        header = json.loads(path.read_bytes())
    except FileNotFoundError as exc:
        raise IndexFileError(f"{path}: no index file") from exc
    except (OSError, ValueError) as exc:
        raise IndexFileError(f"{path}: unreadable index header ({exc})") from exc
    if not isinstance(header, dict) or header.get("format") != FORMAT_VERSION:
        raise IndexFileError(f"{path}: not a pixseek index of format {FORMAT_VERSION}")
    return header


def _check_part(file: Path, part: dict) -> None:
    if not file.is_file():
        raise IndexFileError(f"{file}: missing")
    if file.stat().st_size != part["size"]:
        raise IndexFileError(f"{file}: {file.stat().st_size} bytes, expected {part['size']} (truncated?)")
    if _checked_before(file, part):
        return
    if _crc32(file) != part["crc32"]:
        raise IndexFileError(f"{file}: checksum mismatch (corrupt)")
    _remember(file, part)


def _memo(file: Path, part: dict) -> Path | None:
    """The memo naming this exact file state and checksum (None for small payloads: checking is cheap)."""
    if part["size"] < MEMO_ABOVE:
        return None
    st = file.stat()
    return _memos() / f"{_memo_prefix(file)}-{st.st_dev}-{st.st_ino}-{st.st_size}-{st.st_mtime_ns}-{part['crc32']}"


def _memos() -> Path:
    return cache_dir() / "checked-index-files"


def _memo_prefix(file: Path) -> str:
    """The same for every generation of one payload, so a new memo replaces the last one."""
    stem = re.sub(r"\.\d+\.", ".", file.name)
    return hashlib.sha1(f"{file.resolve().parent}/{stem}".encode()).hexdigest()[:16]


def _checked_before(file: Path, part: dict) -> bool:
    memo = _memo(file, part)
    return memo is not None and memo.exists()


def _remember(file: Path, part: dict) -> None:
    """Best effort: a cache folder that cannot be written only means checking again next time."""
    try:
        memo = _memo(file, part)
        if memo is not None:
            memo.parent.mkdir(parents=True, exist_ok=True)
            for old in memo.parent.glob(_memo_prefix(file) + "-*"):
                old.unlink(missing_ok=True)
            memo.touch()
    except OSError:
        pass


def _generation_of(path: Path, file: Path) -> int | None:
    rest = file.name[len(path.name) + 1:]
    head = rest.split(".", 1)[0]
    return int(head) if head.isdigit() else None


def _max_generation(path: Path) -> int:
    gens = [_generation_of(path, f) for f in path.parent.glob(f"{path.name}.*")]
    return max([g for g in gens if g is not None], default=0)
