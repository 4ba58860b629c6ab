import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # share tests/conftest.py helpers

from conftest import photo_dir  # noqa: E402,F401  (re-export the fixture)

