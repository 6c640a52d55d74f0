#!/usr/bin/env bash
# Runs onnx_test.py in a virtual environment inside the build folder with onnx and onnxruntime
# from PyPI (installed by tools/install_test_peers.sh). Exits 77 (skipped) when it is not there.
# Usage: onnx_test.sh NHITS_BINARY FIXTURE_DIR VENV_DIR SOURCE_DIR
set -u
NHITS=$1 FIXTURES=$2 VENV=$3 SRC=$4
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import onnx, onnxruntime, numpy" 2>/dev/null; then
  echo "SKIP: no onnx/onnxruntime in $VENV (tools/install_test_peers.sh installs it from PyPI; make test runs it)"
  exit 77
fi
exec "$VENV/bin/python" "$SRC/tests/cli/onnx_test.py" "$NHITS" "$FIXTURES"
