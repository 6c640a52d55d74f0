#!/usr/bin/env bash
# Trains the same NHITS configuration on AirPassengers with our trainer and with neuralforecast
# (h=12, input_size=24, 500 steps, robust scaler, seed 1, default architecture and batch sizes,
# last 12 months held out) and prints both MAEs and wall times. Not run by CI.
# Usage: tools/compare_airpassengers.sh [PYTHON_WITH_NEURALFORECAST]   (default /work/venv-nf/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-/work/venv-nf/bin/python}
NHITS=build/release/bin/nhits
OUT=$(mktemp -d)
start=$(date +%s.%N)
"$NHITS" cv --data data/air_passengers.csv --h 12 --input-size 24 --max-steps 500 --scaler-type robust \
  --random-seed 1 --n-windows 1 --quiet --out "$OUT/cv.csv" > "$OUT/ours.txt"
end=$(date +%s.%N)
ours_mae=$(awk -F'|' '$2 ~ /NHITS/ {gsub(/ /, "", $3); print $3}' "$OUT/ours.txt")
# "cross-validation: ..., 1 fit, 500 steps in 62.7s"; under pipefail a missed pattern would end the
# script without a word, so say what the output was instead.
ours_wall=$(grep -o '500 steps in [0-9.]*s' "$OUT/ours.txt" | grep -o '[0-9.]*s$' || true)
[ -n "$ours_wall" ] || { echo "no training time in nhits cv's output:" >&2; cat "$OUT/ours.txt" >&2; exit 1; }
echo "nhits-engine:   MAE $ours_mae  train ${ours_wall} (process $(echo "$end - $start" | bc)s)"
echo "neuralforecast: $("$PY" tools/compare_airpassengers_nf.py)"
