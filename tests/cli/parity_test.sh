#!/usr/bin/env bash
# `nhits predict` against forecasts recorded from neuralforecast itself (tests/fixtures/parity,
# made by tools/fixtures/make_parity_fixtures.py): same header, same unique_id/ds rows, and every
# value within 1e-5 relative (absolute below 1).
# Usage: parity_test.sh NHITS_BINARY FIXTURE_DIR
set -u
NHITS=$1
FIXTURES=$2
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
pass=0
fail=0
for dir in "$FIXTURES"/*/; do
  name=$(basename "$dir")
  [ -f "$dir/model.safetensors" ] || continue
  # exogenous fixtures: neuralforecast's futr_df and static_df beside the data
  extra=()
  [ -f "$dir/futr.csv" ] && extra+=(--futr-data "$dir/futr.csv")
  [ -f "$dir/static.csv" ] && extra+=(--static-data "$dir/static.csv")
  # e.g. --level 80,90 for the conformal-interval fixtures
  [ -f "$dir/predict_args" ] && read -r -a more < "$dir/predict_args" && extra+=("${more[@]}")
  if ! "$NHITS" predict --model "$dir/model.safetensors" --data "$dir/input.csv" "${extra[@]}" --out "$WORK/$name.csv" 2>"$WORK/err"; then
    echo "FAIL $name: predict failed: $(cat "$WORK/err")"; fail=$((fail + 1)); continue
  fi
  if result=$(awk -F, -v tol=1e-5 '
      NR == FNR { want[FNR] = $0; n = FNR; next }
      {
        if (FNR > n) { print "extra row " FNR; bad = 1; exit 1 }
        split(want[FNR], w, ",")
        if (FNR == 1) { if ($0 != want[1]) { print "header " $0 " != " want[1]; bad = 1; exit 1 } next }
        if ($1 != w[1] || $2 != w[2]) { print "row " FNR ": " $1 "," $2 " != " w[1] "," w[2]; bad = 1; exit 1 }
        for (i = 3; i <= NF; i++) {
          d = $i - w[i]; if (d < 0) d = -d
          s = w[i] < 0 ? -w[i] : w[i]; if (s < 1) s = 1
          if (d / s > worst) worst = d / s
          if (d > tol * s) { print "row " FNR " col " i ": " $i " != " w[i]; bad = 1; exit 1 }
        }
        rows = FNR
      }
      END { if (!bad && rows != n) { print "got " rows " rows, want " n; exit 1 } if (!bad) printf "max rel err %.2e over %d rows", worst, rows - 1 }
    ' "$dir/expected.csv" "$WORK/$name.csv"); then
    echo "ok   $name: $result"; pass=$((pass + 1))
  else
    echo "FAIL $name: $result"; fail=$((fail + 1))
  fi
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ] && [ $pass -gt 0 ]
