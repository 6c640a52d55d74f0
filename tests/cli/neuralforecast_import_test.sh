#!/usr/bin/env bash
# Runs neuralforecast_import_test.py with a Python that has neuralforecast (PyTorch and all):
# $NHITS_NF_PYTHON if set, else python3 if it can import neuralforecast. Exits 77 (skipped)
# otherwise: installing PyTorch is too heavy for every test run; see docs/INTEROP.md.
# Usage: neuralforecast_import_test.sh NHITS_BINARY SOURCE_DIR
set -u
PY=${NHITS_NF_PYTHON:-python3}
if ! "$PY" -c "import neuralforecast, safetensors" 2>/dev/null; then
  echo "SKIP: no Python with neuralforecast and safetensors (set NHITS_NF_PYTHON=/path/to/venv/bin/python)"
  exit 77
fi
exec "$PY" "$2/tests/cli/neuralforecast_import_test.py" "$1" "$2"
