#!/usr/bin/env bash
# Runs tritonclient_test.py in a virtual environment inside the build folder with Triton's client
# from PyPI (installed by tools/install_test_peers.sh). Exits 77 (skipped) when it is not there.
# Usage: tritonclient_test.sh NHITS_BINARY SOURCE_DIR VENV_DIR
set -u
NHITS=$1 SRC=$2 VENV=$3
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import tritonclient.http, numpy" 2>/dev/null; then
  echo "SKIP: no tritonclient[http] in $VENV (tools/install_test_peers.sh installs it from PyPI; make test runs it)"
  exit 77
fi
exec "$VENV/bin/python" "$SRC/tests/cli/tritonclient_test.py" "$NHITS" "$SRC"
