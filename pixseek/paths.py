"""Where pixseek keeps per-user files: the default collection and the model cache."""

from __future__ import annotations

import os
from pathlib import Path


def data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def default_db() -> Path:
    """The collection folder used when neither --db nor PIXSEEK_DB is given."""
    env = os.environ.get("PIXSEEK_DB")
    return Path(env) if env else data_home() / "pixseek" / "default"


def cache_dir() -> Path:
    """Exported models and derived tables; safe to delete, rebuilt on demand."""
    env = os.environ.get("PIXSEEK_CACHE")
    base = Path(env) if env else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pixseek"
    base.mkdir(parents=True, exist_ok=True)
    return base
