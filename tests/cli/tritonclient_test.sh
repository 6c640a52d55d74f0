#!/usr/bin/env bash
# Runs tritonclient_test.py in a virtual environment inside the build folder with Triton's client
# from PyPI (installed once). Exits 77 (skipped) when PyPI cannot be reached.
# Usage: tritonclient_test.sh NHITS_BINARY SOURCE_DIR VENV_DIR
set -u
NHITS=$1 SRC=$2 VENV=$3
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import tritonclient.http, numpy" 2>/dev/null; then
  python3 -m venv "$VENV" || { echo "SKIP: python3 -m venv failed (Debian package python3-venv)"; exit 77; }
  if ! "$VENV/bin/pip" install -q --disable-pip-version-check "tritonclient[http]" numpy; then
    echo "SKIP: cannot install tritonclient[http] from PyPI"
    exit 77
  fi
fi
exec "$VENV/bin/python" "$SRC/tests/cli/tritonclient_test.py" "$NHITS" "$SRC"
