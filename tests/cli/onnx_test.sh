#!/usr/bin/env bash
# Runs onnx_test.py in a virtual environment inside the build folder with onnx and onnxruntime
# from PyPI (installed once). Exits 77 (skipped) when PyPI cannot be reached.
# Usage: onnx_test.sh NHITS_BINARY FIXTURE_DIR VENV_DIR SOURCE_DIR
set -u
NHITS=$1 FIXTURES=$2 VENV=$3 SRC=$4
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import onnx, onnxruntime, numpy" 2>/dev/null; then
  python3 -m venv "$VENV" || { echo "SKIP: python3 -m venv failed (Debian package python3-venv)"; exit 77; }
  if ! "$VENV/bin/pip" install -q --disable-pip-version-check onnx onnxruntime numpy; then
    echo "SKIP: cannot install onnx/onnxruntime from PyPI"
    exit 77
  fi
fi
exec "$VENV/bin/python" "$SRC/tests/cli/onnx_test.py" "$NHITS" "$FIXTURES"
