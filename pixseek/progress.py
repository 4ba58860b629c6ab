"""Progress bars for long work: on stderr, shown on a terminal unless asked otherwise."""

from __future__ import annotations

import sys


def progress_bar(total: int, desc: str, enabled: bool | None = None, unit: str = "img"):
    """A tqdm bar (use .update(n) and .close()); `enabled` None means: only when stderr is a terminal."""
    from tqdm import tqdm

    disable = not sys.stderr.isatty() if enabled is None else not enabled
    return tqdm(total=total, unit=unit, desc=desc, disable=disable, smoothing=0.05, file=sys.stderr)
