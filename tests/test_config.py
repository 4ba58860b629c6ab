"""Settings live in one module: no other module reads the environment, and README lists every variable."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pixseek import config
from pixseek.errors import PixseekError

ROOT = Path(__file__).resolve().parents[1]


def test_only_the_config_module_reads_the_environment():
    readers = []
    for path in (ROOT / "pixseek").rglob("*.py"):
        if path.name == "config.py" and path.parent.name == "pixseek":
            continue
        text = path.read_text()
        if re.search(r"os\.environ|os\.getenv|getenv\(", text):
            readers.append(str(path.relative_to(ROOT)))
    assert readers == []


def test_readme_lists_every_variable():
    readme = (ROOT / "README.md").read_text()
    missing = [v.name for v in config.VARIABLES if f"`{v.name}`" not in readme]
    assert missing == []


def test_variables_are_read_when_asked(monkeypatch, tmp_path):
    monkeypatch.setenv("PIXSEEK_DB", str(tmp_path / "photos"))
    assert config.default_db() == tmp_path / "photos"
    monkeypatch.setenv("PIXSEEK_RAM_MB", "3")
    assert config.ram_limit_bytes() == 3 * 2**20
    monkeypatch.delenv("PIXSEEK_RAM_MB")
    assert config.ram_limit_bytes() == 2048 * 2**20


def test_a_malformed_number_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("PIXSEEK_THREADS", "two")
    with pytest.raises(PixseekError, match="PIXSEEK_THREADS must be a whole number"):
        config.encoder_threads()
