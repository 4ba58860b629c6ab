"""Reading a photo's bytes safely: regular files only, of bounded size.

A name scanned as a photo can be something else by the time it is read: a FIFO (a blocking open() or
read() would wait forever), a device such as /dev/zero behind a symlink (an unbounded read() would fill
memory), or a file grown past any sane size. So files are opened non-blocking, their type and size
checked on the open descriptor (fstat: what is read is what was checked), and reads never exceed the
limit. Every refusal is an OSError whose `strerror` says why in the user's words.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO

from pixseek.config import MAX_FILE_BYTES

_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def open_regular(path: str | Path, limit: int = MAX_FILE_BYTES) -> BinaryIO:
    """The file opened for reading, once it is known to be a regular file of at most `limit` bytes."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = next((name for test, name in _KINDS if test(st.st_mode)), "not a regular file")
            raise OSError(errno.EINVAL, f"not a regular file ({kind})", str(path))
        if st.st_size > limit:
            raise OSError(errno.EFBIG, f"file too large ({st.st_size:,} bytes, at most {limit:,})", str(path))
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: str | Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """The whole of a regular file of at most `limit` bytes (one that grows past it while read is refused)."""
    with open_regular(path, limit) as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise OSError(errno.EFBIG, f"file too large (over {limit:,} bytes)", str(path))
    return data
