"""Atomic file writes: a file is either its old self, whole and new, or absent; never half written.

    with atomic_path(final) as tmp:        # write tmp any way you like (np.save, onnx.save, open(tmp, "wb"))
        np.save(tmp, values)
    atomic_write(final, b"...")            # the same for bytes or text

The temp file sits beside `final` (one folder, so the rename is atomic) under a name no other writer
uses, `<final name>.tmp-<pid>-<random><suffix>`: two processes writing the same cache file at once
each rename a whole file. It is created by the writer, so it gets the usual permissions. When the block
ends without an error the temp file is fsynced, renamed onto `final` with os.replace, and the folder is
fsynced so the rename itself survives a crash; on an error (or an interrupt) the temp file is removed.
Give `suffix` for writers that append one to names lacking it (np.save: ".npy", np.savez: ".npz").
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(final: Path | str, suffix: str = "") -> Iterator[Path]:
    """Yield a temp path beside `final` that replaces `final` once the block succeeds (see the module)."""
    final = Path(final)
    tmp = final.with_name(f"{final.name}.tmp-{os.getpid()}-{os.urandom(4).hex()}{suffix}")
    try:
        yield tmp
        fsync(tmp)
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync(final.parent)


def atomic_write(final: Path | str, data: bytes | str) -> None:
    """Write bytes (or UTF-8 text) to `final` atomically."""
    with atomic_path(final) as tmp:
        tmp.write_bytes(data.encode() if isinstance(data, str) else data)


def fsync(path: Path | str) -> None:
    """Flush a file's (or a folder's) contents to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
