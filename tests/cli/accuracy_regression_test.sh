#!/usr/bin/env bash
# A reduced long-horizon benchmark (ILI, h=24, 200 steps, seed 1, the paper's training loop): the
# test MSE must stay under the recorded bound and below SeasonalNaive's. Then a two-trial search
# must keep the trial with the lower validation MAE.
# Usage: accuracy_regression_test.sh NHITS_BINARY LONG_HORIZON_DATA_DIR
set -euo pipefail
NHITS=$1
DATA=$2
BOUND=2.0    # recorded 2026-11-30 (paper protocol, the paper's two-layer MLP): MSE 1.856 (paper 1.862); ~8% headroom for BLAS thread order
if [ ! -f "$DATA/raw/national_illness.csv" ]; then
  echo "SKIP: $DATA/raw/national_illness.csv not found (shared data is not beside the repository)"
  exit 77
fi
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
"$NHITS" benchmark --dataset ILI --horizons 24 --max-steps 200 --random-seed 1 --quiet --data-dir "$DATA" --out "$OUT"
field() { grep -m1 "\"$1\":" "$OUT" | sed 's/.*: *\([-0-9.eE+]*\).*/\1/'; }
mse=$(field mse)
snaive=$(field seasonal_naive_mse)
echo "ILI h=24: MSE $mse (bound $BOUND), SeasonalNaive MSE $snaive"
awk -v m="$mse" -v b="$BOUND" -v s="$snaive" 'BEGIN { exit !(m < b && m < s) }'

# The search: every trial recorded, the row is the one with the lowest validation MAE; the refit on
# train+validation is reported beside the row and leaves the row itself as it was.
"$NHITS" benchmark --dataset ILI --horizons 24 --max-steps 30 --search 2 --refit-with-val --quiet --data-dir "$DATA" \
  --out "$OUT" 2>/dev/null
python3 - "$OUT" <<'PY'
import json, sys
row = json.load(open(sys.argv[1]))[0]
trials = row["trials"]
assert len(trials) == 2, trials
best = min(trials, key=lambda t: t["val_mae"])
assert row["val_mae"] == best["val_mae"] and row["mse"] == best["test_mse"], (row["val_mae"], trials)
assert row["config"]["n_pool_kernel_size"] == best["n_pool_kernel_size"], row["config"]
assert row["config"]["batch_size"] == 1 and row["config"]["num_lr_decays"] == 0, row["config"]
assert row["config"]["first_layer_activation"] and row["config"]["mlp_units"] == [[512, 512]], row["config"]
refit = row["refit_with_val"]
assert refit["steps"] == 30 and 0 < refit["mse"] < 100 and refit["mse"] != row["mse"], refit
print("search: kept the trial with validation MAE", best["val_mae"], "of", [t["val_mae"] for t in trials])
PY
