"""A cold `pixseek` command pays only for what it uses: importing the CLI or the Python API loads none of
the heavy runtimes (ONNX Runtime, FAISS, PyTorch, FastAPI); the commands that need one import it."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("onnxruntime", "faiss", "torch", "fastapi")


@pytest.mark.parametrize("module", ["pixseek.interfaces.cli", "pixseek.interfaces.collection"])
def test_importing_leaves_the_heavy_runtimes_unloaded(module):
    probe = f"import sys, {module}; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert loaded == [], f"importing {module} loads {loaded}"


def test_the_probe_sees_a_loaded_runtime():
    probe = "import sys, numpy; print('numpy' in sys.modules)"  # the check above can fail: it sees imports
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip() == "True"
