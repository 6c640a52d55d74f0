#!/usr/bin/env bash
# Every bad input gets a clear message (file, line, field), a non-zero exit code and no output.
# Usage: bad_input_test.sh NHITS_BINARY SOURCE_DIR
set -u
NHITS=$1
SRC=$2
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
pass=0
fail=0

# expect_error NAME EXPECTED_SUBSTRING... -- COMMAND...
expect_error() {
  local name=$1; shift
  local expected=()
  while [ "$1" != "--" ]; do expected+=("$1"); shift; done
  shift
  local out rc
  rm -f "$WORK/out.csv" "$WORK/out.safetensors"
  out=$("$@" 2>&1); rc=$?
  local ok=1
  [ $rc -ne 0 ] || { echo "FAIL $name: exit code 0"; ok=0; }
  for e in "${expected[@]}"; do
    grep -qF -- "$e" <<<"$out" || { echo "FAIL $name: message lacks '$e': $out"; ok=0; }
  done
  if ls "$WORK"/out.* "$WORK"/.out.* >/dev/null 2>&1; then echo "FAIL $name: output file left behind"; ok=0; fi
  if [ $ok = 1 ]; then pass=$((pass + 1)); echo "ok   $name: $out" | head -c 300; echo; else fail=$((fail + 1)); fi
}

csv() { printf '%s\n' "$@" > "$WORK/$1.csv.tmp"; }
write() { local f=$WORK/$1; shift; printf '%s\n' "$@" > "$f"; }

TRAIN=(train --h 2 --input-size 4 --max-steps 2 --mlp-units 8,8 --quiet --out "$WORK/out.safetensors")

write cols.csv "id,date,value" "a,1,1.0"
expect_error missing-columns "cols.csv:1" "unique_id" "found columns" -- "$NHITS" "${TRAIN[@]}" --data "$WORK/cols.csv"
write nonnum.csv "unique_id,ds,y" "a,1,1.0" "a,2,abc"
expect_error non-numeric-y "nonnum.csv:3" "field 'y'" -- "$NHITS" "${TRAIN[@]}" --data "$WORK/nonnum.csv"
write nan.csv "unique_id,ds,y" "a,1,1.0" "a,2,1.5" "a,3,NaN"
expect_error nan-y "nan.csv:4" "field 'y'" -- "$NHITS" "${TRAIN[@]}" --data "$WORK/nan.csv"
write unsorted.csv "unique_id,ds,y" "a,3,1.0" "b,1,1.5" "a,1,2.0" "a,3,2.5"
expect_error unsorted-duplicate-ds "unsorted.csv:5" "the same ds is on line 2" -- "$NHITS" "${TRAIN[@]}" --data "$WORK/unsorted.csv"
write dup.csv "unique_id,ds,y" "a,1,1.0" "a,2,1.5" "a,2,2.0"
expect_error duplicate-ds "dup.csv:4" "duplicate" -- "$NHITS" "${TRAIN[@]}" --data "$WORK/dup.csv"
write mixed.csv "unique_id,ds,y" "a,1,1.0" "a,2020-01-02,1.5"
expect_error mixed-ds "mixed.csv:3" "field 'ds'" -- "$NHITS" "${TRAIN[@]}" --data "$WORK/mixed.csv"
write quote.csv "unique_id,ds,y" '"a,1,1.0'
expect_error unclosed-quote "quote.csv:2" "no closing quote" -- "$NHITS" "${TRAIN[@]}" --data "$WORK/quote.csv"
write short.csv "unique_id,ds,y" "a,1,1.0" "a,2,1.5" "a,3,2.0"
expect_error no-usable-window "no series has a usable training window" -- "$NHITS" "${TRAIN[@]}" --data "$WORK/short.csv"
expect_error missing-file "nope.csv: cannot open file" -- "$NHITS" "${TRAIN[@]}" --data "$WORK/nope.csv"

AIR=$SRC/data/air_passengers.csv
expect_error h-zero "--h must be > 0" -- "$NHITS" train --data "$AIR" --h 0 --out "$WORK/out.safetensors"
expect_error input-size-negative "--input-size must be > 0" -- "$NHITS" train --data "$AIR" --h 3 --input-size -2 --out "$WORK/out.safetensors"
expect_error mismatched-lists "mismatched lengths" "n_pool_kernel_size 2" -- "$NHITS" train --data "$AIR" --h 3 --n-pool-kernel-size 2,1 --out "$WORK/out.safetensors"
expect_error bad-list "not an integer" -- "$NHITS" train --data "$AIR" --h 3 --n-blocks 1,x,1 --out "$WORK/out.safetensors"
expect_error unknown-activation "activation" "GELU" "ReLU" -- "$NHITS" train --data "$AIR" --h 3 --activation GELU --out "$WORK/out.safetensors"
expect_error unknown-scaler "scaler-type" "zscore" -- "$NHITS" train --data "$AIR" --h 3 --scaler-type zscore --out "$WORK/out.safetensors"
expect_error unknown-pooling "pooling-mode" "MinPool1d" -- "$NHITS" train --data "$AIR" --h 3 --pooling-mode MinPool1d --out "$WORK/out.safetensors"
expect_error loss-wrong-case "--loss: unknown value 'mae' (did you mean 'MAE'?)" -- "$NHITS" train --data "$AIR" --h 3 --loss mae --out "$WORK/out.safetensors"
expect_error unknown-loss "loss" "MAPE2" -- "$NHITS" train --data "$AIR" --h 3 --loss MAPE2 --out "$WORK/out.safetensors"
expect_error unknown-distribution "distribution" "Poisson" -- "$NHITS" train --data "$AIR" --h 3 --loss DistributionLoss --distribution Poisson --out "$WORK/out.safetensors"
expect_error distribution-no-level "--level" "empty list" -- "$NHITS" train --data "$AIR" --h 3 --loss DistributionLoss --level "" --out "$WORK/out.safetensors"
expect_error mqloss-valid-mae "--valid-loss:" "validates with MQLoss or HuberMQLoss" -- "$NHITS" train --data "$AIR" --h 3 --loss MQLoss --valid-loss MAE --val-size 3 --out "$WORK/out.safetensors"
X=$SRC/tests/fixtures/parity/exog_hist_futr_stat_standard
expect_error exog-longer-h "--h 24" "forecasts at most its own h=12" -- "$NHITS" predict --model "$X/model.safetensors" --data "$X/input.csv" --futr-data "$X/futr.csv" --static-data "$X/static.csv" --h 24 --out "$WORK/out.csv"
expect_error unknown-valid-loss "valid-loss" "MAPE2" -- "$NHITS" train --data "$AIR" --h 3 --valid-loss MAPE2 --out "$WORK/out.safetensors"
expect_error output-dir-missing "does not exist" -- "$NHITS" train --data "$AIR" --h 3 --out "$WORK/missing/dir/m.safetensors"

# Checkpoints: a good one, then truncated, corrupt and mismatched copies.
"$NHITS" train --data "$AIR" --h 12 --input-size 24 --mlp-units 8,8 --max-steps 3 --quiet --out "$WORK/good.safetensors" >/dev/null 2>&1 \
  || { echo "FAIL could not train the small checkpoint"; exit 1; }
head -c 500 "$WORK/good.safetensors" > "$WORK/truncated.safetensors"
expect_error truncated-checkpoint "truncated.safetensors" "truncated" -- "$NHITS" predict --model "$WORK/truncated.safetensors" --data "$AIR" --out "$WORK/out.csv"
head -c 2000 /dev/urandom > "$WORK/corrupt.safetensors"
expect_error corrupt-checkpoint "corrupt.safetensors" -- "$NHITS" predict --model "$WORK/corrupt.safetensors" --data "$AIR" --out "$WORK/out.csv"
sed 's/input_size\\":24/input_size\\":28/' "$WORK/good.safetensors" > "$WORK/mismatch.safetensors"
expect_error mismatched-checkpoint "mismatch.safetensors" "blocks.0.layers.0.weight" "expected [8, 14]" -- "$NHITS" predict --model "$WORK/mismatch.safetensors" --data "$AIR" --out "$WORK/out.csv"
expect_error predict-output-dir-missing "does not exist" -- "$NHITS" predict --model "$WORK/good.safetensors" --data "$AIR" --out "$WORK/nodir/f.csv"
expect_error predict-bad-data "nan.csv:4" -- "$NHITS" predict --model "$WORK/good.safetensors" --data "$WORK/nan.csv" --out "$WORK/out.csv"
expect_error predict-unknown-precision "--precision" "unknown precision 'fp16'" "fp32, bf16 or int8" -- "$NHITS" predict --model "$WORK/good.safetensors" --data "$AIR" --precision fp16 --out "$WORK/out.csv"
expect_error quantize-fp32 "choose int8 or bf16" -- "$NHITS" quantize --model "$WORK/good.safetensors" --calibration "$AIR" --precision fp32 --out "$WORK/out.safetensors"
expect_error quantize-bad-holdout "--holdout" -- "$NHITS" quantize --model "$WORK/good.safetensors" --calibration "$AIR" --holdout 1.5 --out "$WORK/out.safetensors"
expect_error quantize-nothing-quantised "keeps every layer in fp32" "raise --max-error" -- "$NHITS" quantize --model "$WORK/good.safetensors" --calibration "$AIR" --max-error 1e-12 --out "$WORK/out.safetensors"
expect_error train-early-stop-without-val "--early-stop-patience-steps:" -- "$NHITS" "${TRAIN[@]}" --data "$AIR" --early-stop-patience-steps 3
expect_error train-q-with-mae "--q applies to --loss QuantileLoss or HuberQLoss (the loss is MAE)" -- "$NHITS" "${TRAIN[@]}" --data "$AIR" --q 0.9
expect_error train-delta-with-mae "--delta applies to --loss HuberLoss" -- "$NHITS" "${TRAIN[@]}" --data "$AIR" --delta 3
expect_error train-restore-without-val "--restore-best-weights applies to validation, which needs --val-size N" -- "$NHITS" "${TRAIN[@]}" --data "$AIR" --restore-best-weights
expect_error train-val-check-without-val "--val-check-steps applies to validation" -- "$NHITS" "${TRAIN[@]}" --data "$AIR" --val-check-steps 5
expect_error train-level-point-loss "--level sets the levels an MQLoss" "nhits predict --level 50,99" -- "$NHITS" "${TRAIN[@]}" --data "$AIR" --prediction-intervals 3 --level 50,99
expect_error loadgen-priority-out-of-range "--priority 5 is outside 1..3" -- "$NHITS" loadgen --checkpoint "$WORK/good.safetensors" --seconds 1 --priority 5
expect_error loadgen-mode-in-process "--mode is the HTTP body format" -- "$NHITS" loadgen --checkpoint "$WORK/good.safetensors" --seconds 1 --mode json
expect_error bench-negative-batch "--batch-sizes: -4 is not within 1..1048576" -- "$NHITS" bench --batch-sizes -4
expect_error quantize-bad-data "nan.csv:4" -- "$NHITS" quantize --model "$WORK/good.safetensors" --calibration "$WORK/nan.csv" --out "$WORK/out.safetensors"
expect_error bench-unknown-precision "--precision" "int4" -- "$NHITS" bench --precision fp32,int4 --batch-sizes 1
expect_error serve-unknown-device "device 'tpu:0'" "backend" -- "$NHITS" serve --model "m=$WORK/good.safetensors" --device tpu:0 --port 0
expect_error benchmark-search-with-seed "--search draws" "--random-seed" -- "$NHITS" benchmark --dataset ILI --search 2 --random-seed 3
expect_error benchmark-nf-space-without-search "needs --search" -- "$NHITS" benchmark --dataset ETTh1 --search-space neuralforecast-ett
expect_error benchmark-nf-space-paper-loop "drop --protocol paper" -- "$NHITS" benchmark --dataset ETTh1 --search 2 --search-space neuralforecast-ett --protocol paper
expect_error benchmark-nf-space-with-lr "draws --learning-rate" -- "$NHITS" benchmark --dataset ETTh1 --search 2 --search-space neuralforecast-ett --learning-rate 0.01
expect_error benchmark-unknown-search-space "--search-space" "neuralforecast-ett" -- "$NHITS" benchmark --dataset ETTh1 --search 2 --search-space hyperopt
expect_error benchmark-unknown-protocol "--protocol" "paper" -- "$NHITS" benchmark --dataset ILI --protocol informer
expect_error benchmark-unknown-dataset "unknown dataset 'ETTh3'" "ETTh1" -- "$NHITS" benchmark --dataset ETTh3
expect_error benchmark-resume-without-out "--resume" "--out" -- "$NHITS" benchmark --dataset ILI --resume
write rows.json '{"dataset": "ILI"}'
expect_error benchmark-resume-bad-file "rows.json" "JSON array of rows" -- "$NHITS" benchmark --dataset ILI --out "$WORK/rows.json" --resume
write rows2.json '[{"dataset": "ILI", "h": 24, "test_stride": 1, "val_stride": 1}]'
expect_error benchmark-resume-bad-row "rows2.json: row 1" "seasonal_naive_mse" -- "$NHITS" benchmark --dataset ILI --out "$WORK/rows2.json" --resume

write neg_weight.csv "unique_id,ds,y,sample_weight" "a,1,1.0,1" "a,2,1.5,1" "a,3,1.2,-0.5" "a,4,1.1,1" "a,5,1.3,1" "a,6,1.4,1"
expect_error train-negative-sample-weight "neg_weight.csv:4" "field 'sample_weight'" "must be >= 0" -- "$NHITS" "${TRAIN[@]}" --data "$WORK/neg_weight.csv"
# Rows by date across series: the line is the file's, not a count in series order.
write neg_weight_by_date.csv "unique_id,ds,y,sample_weight" "a,1,1.0,1" "b,1,1.5,-2" "a,2,1.2,1" "a,3,1.1,1"
expect_error train-negative-sample-weight-by-date "neg_weight_by_date.csv:3" "must be >= 0, got -2" -- "$NHITS" "${TRAIN[@]}" --data "$WORK/neg_weight_by_date.csv"
write bad_mask.csv "unique_id,ds,y,available_mask" "a,1,1.0,1" "a,2,1.5,0.5"
expect_error train-available-mask-not-0-or-1 "bad_mask.csv:3" "field 'available_mask'" "must be 1 (observed) or 0" -- "$NHITS" "${TRAIN[@]}" --data "$WORK/bad_mask.csv"
awk -F, 'NR==1 {print $0 ",available_mask"; next} {print $1 "," $2 "," (NR == 100 ? "" : $3) "," (NR == 100 ? 0 : 1)}' "$AIR" > "$WORK/gap.csv"
expect_error train-intervals-with-missing-points "gap.csv: series 'AirPassengers' has a missing point" "conformal intervals" -- "$NHITS" "${TRAIN[@]}" --data "$WORK/gap.csv" --prediction-intervals 2
expect_error demo-with-missing-points "has a missing point (available_mask 0)" -- "$NHITS" demo --data "$WORK/gap.csv" --out-dir "$WORK/demo_out"
expect_error train-availability-threshold-above-1 "--training-data-availability-threshold" "'1.5' is not a fraction" -- "$NHITS" "${TRAIN[@]}" --data "$WORK/neg_weight.csv" --training-data-availability-threshold 1.5
expect_error train-unknown-local-scaler "local-scaler-type" "unknown value 'boxcox'" "robust-iqr" -- "$NHITS" "${TRAIN[@]}" --data "$AIR" --local-scaler-type boxcox
expect_error train-local-scaler-with-intervals "--prediction-intervals with --local-scaler-type" -- "$NHITS" "${TRAIN[@]}" --data "$AIR" --local-scaler-type standard --prediction-intervals 2

# Training categorical columns: each must be in a list, fit its declared cardinality, and a static
# one needs the static file its vocabulary comes from.
C=$SRC/tests/fixtures/parity/exog_categorical_standard
CAT=("${TRAIN[@]}" --data "$C/input.csv" --futr-exog-list event,promo --hist-exog-list volume,regime)
expect_error train-cat-not-in-lists "--cat-exog-list: 'region'" "must also be in --futr-exog-list" -- "$NHITS" "${CAT[@]}" --cat-exog-list event,region
expect_error train-cat-too-many-labels "input.csv: field 'event'" "4 distinct values" "declares only 3" -- "$NHITS" "${CAT[@]}" --cat-exog-list event --categorical-cardinalities event=3
expect_error train-cat-cardinality-unlisted "--categorical-cardinalities: 'promo' is not in --cat-exog-list" -- "$NHITS" "${CAT[@]}" --cat-exog-list event --categorical-cardinalities promo=4
expect_error train-cat-bad-cardinality "--categorical-cardinalities: 'event=x'" "name=N" -- "$NHITS" "${CAT[@]}" --cat-exog-list event --categorical-cardinalities event=x
expect_error train-cat-bad-emb-dim "--cat-emb-dim" "'wide'" "fastai" -- "$NHITS" "${CAT[@]}" --cat-exog-list event --cat-emb-dim wide
expect_error train-cat-static-without-file "'region' is a static column" "--static-data" -- "$NHITS" "${CAT[@]}" --stat-exog-list region --cat-exog-list region
expect_error train-cardinality-without-cat "--categorical-cardinalities applies to --cat-exog-list" -- "$NHITS" "${CAT[@]}" --categorical-cardinalities event=4
expect_error cv-intervals-without-refit "--prediction-intervals needs --refit N" -- "$NHITS" cv --data "$AIR" --h 2 --input-size 4 --max-steps 2 --prediction-intervals 2 --out "$WORK/out.csv"
expect_error cv-intervals-quantile-loss "conformal intervals are for point losses" -- "$NHITS" cv --data "$AIR" --h 2 --input-size 4 --max-steps 2 --refit 1 --loss MQLoss --prediction-intervals 2 --out "$WORK/out.csv"
expect_error cv-pi-method-alone "--pi-method and --pi-step-size apply to --prediction-intervals N" -- "$NHITS" cv --data "$AIR" --h 2 --input-size 4 --max-steps 2 --pi-method conformal_error --out "$WORK/out.csv"
expect_error cv-local-scaler-without-refit "--local-scaler-type needs --refit N" -- "$NHITS" cv --data "$AIR" --h 2 --input-size 4 --max-steps 2 --local-scaler-type standard --out "$WORK/out.csv"
expect_error insample-with-level "--insample takes the model's own h and outputs" -- "$NHITS" predict --model "$WORK/good.safetensors" --data "$AIR" --insample --level 80 --out "$WORK/out.csv"
expect_error step-size-without-insample "--step-size applies to --insample" -- "$NHITS" predict --model "$WORK/good.safetensors" --data "$AIR" --step-size 3 --out "$WORK/out.csv"
expect_error cv-negative-refit "--refit must be >= 0" -- "$NHITS" cv --data "$AIR" --h 2 --input-size 4 --max-steps 2 --refit -1 --out "$WORK/out.csv"

# Values a flag cannot take are refused by name, not wrapped around or replaced by a default.
expect_error serve-port-out-of-range "--port" "99999" "0 to 65535" -- "$NHITS" serve --model a="$WORK/good.safetensors" --port 99999
expect_error serve-missing-repository "model repository $WORK/norepo does not exist" -- "$NHITS" serve --model-repository "$WORK/norepo"
expect_error train-negative-threads "--threads: must be >= 0, got -2" -- "$NHITS" "${TRAIN[@]}" --data "$AIR" --threads -2
expect_error train-input-size-zero "--input-size must be > 0 (got 0)" -- "$NHITS" train --data "$AIR" --h 3 --input-size 0 --out "$WORK/out.safetensors"
expect_error unknown-flag "nhits train: error: unknown option '--horizon'" "nhits train --help" -- "$NHITS" train --data "$AIR" --horizon 3 --out "$WORK/out.safetensors"
expect_error misspelt-flag "unknown option '--max-step'; did you mean '--max-steps'?" -- "$NHITS" train --data "$AIR" --h 3 --max-step 3 --out "$WORK/out.safetensors"
expect_error flag-given-twice "--h is given 2 times" -- "$NHITS" train --data "$AIR" --h 3 --h 4 --out "$WORK/out.safetensors"
expect_error predict-h-zero "--h: must be >= 1, got 0" -- "$NHITS" predict --model "$WORK/good.safetensors" --data "$AIR" --h 0 --out "$WORK/out.csv"
cp "$AIR" "$WORK/history.csv"
expect_error out-is-the-data "--out" "is the same file as --data" -- "$NHITS" predict --model "$WORK/good.safetensors" --data "$WORK/history.csv" --out "$WORK/history.csv"
cmp -s "$AIR" "$WORK/history.csv" || { echo "FAIL out-is-the-data: the input was changed"; fail=$((fail + 1)); }
mkdir -p "$WORK/a_dir"
expect_error out-is-a-directory "is a directory" -- "$NHITS" cv --data "$AIR" --h 2 --input-size 4 --max-steps 2 --out "$WORK/a_dir"
# Usage errors (CLI11's parse errors) exit with 2, as the commands' own failures exit with 1.
rc=0; "$NHITS" predict --model x --data "$AIR" --h 0 --out "$WORK/out.csv" > /dev/null 2>&1 || rc=$?
[ $rc -eq 2 ] || { echo "FAIL usage-error-exit-code: got $rc, want 2"; fail=$((fail + 1)); }
expect_error cv-train-step-size-zero "--train-step-size: must be >= 1, got 0" -- "$NHITS" cv --data "$AIR" --h 2 --input-size 4 --max-steps 2 --train-step-size 0 --out "$WORK/out.csv"
expect_error insample-step-size-zero "--step-size must be > 0" -- "$NHITS" predict --model "$WORK/good.safetensors" --data "$AIR" --insample --step-size 0 --out "$WORK/out.csv"
write short5.csv "unique_id,ds,y" "a,1,1.0" "a,2,1.5" "a,3,1.2" "a,4,1.1" "a,5,1.3"
expect_error insample-all-short "no series has h=12 points" "longest: 5" -- "$NHITS" predict --model "$WORK/good.safetensors" --data "$WORK/short5.csv" --insample --out "$WORK/out.csv"
expect_error info-of-a-csv "air_passengers.csv: not a safetensors file" -- "$NHITS" info --model "$AIR"
expect_error benchmark-negative-horizon "--horizons: -4 is not > 0" -- "$NHITS" benchmark --dataset ILI --horizons -4
expect_error train-val-size-too-large "a smaller val_size" -- "$NHITS" "${TRAIN[@]}" --data "$AIR" --val-size 200
expect_error train-intervals-quantile-loss "conformal prediction intervals are for point losses" -- "$NHITS" "${TRAIN[@]}" --data "$AIR" --loss MQLoss --prediction-intervals 3
printf 'unique_id,asset_class\nAirPassengers,equity\n' > "$WORK/universe.csv"
expect_error batch-route-typo "1 asset(s) route to a model that is not loaded" "'AirPassengers' (class equity) routes to 'nomodel'" "loaded: good@1" -- "$NHITS" batch --universe "$WORK/universe.csv" --data "$AIR" --model good="$WORK/good.safetensors" --route equity=nomodel --out "$WORK/out.csv"
BATCH=(batch --universe "$WORK/universe.csv" --data "$AIR" --model good="$WORK/good.safetensors" --out "$WORK/out.csv")
expect_error batch-negative-threshold "--cluster-threshold" -- "$NHITS" "${BATCH[@]}" --correlation-window 20 --cluster-threshold -3
expect_error batch-clusters-and-threshold "excludes" -- "$NHITS" "${BATCH[@]}" --correlation-window 20 --clusters 3 --cluster-threshold 0.2
expect_error batch-clusters-without-window "give --correlation-window N as well" -- "$NHITS" "${BATCH[@]}" --clusters 3
expect_error batch-negative-budget "--memory-budget-mb: must be > 0, got -1" -- "$NHITS" "${BATCH[@]}" --memory-budget-mb -1
expect_error batch-negative-staleness "--max-staleness: must be >= 0" -- "$NHITS" "${BATCH[@]}" --max-staleness -1
expect_error batch-priority-level "is not CLASS=N with N from 1 (highest) to 3" -- "$NHITS" "${BATCH[@]}" --priority equity=9
expect_error batch-priority-class "no asset of class 'bonds'" -- "$NHITS" "${BATCH[@]}" --priority bonds=2
expect_error batch-runs-without-every "--runs requires --every" -- "$NHITS" "${BATCH[@]}" --runs 2
expect_error batch-min-points-past-window "--min-points 100000 is more than model 'good''s input_size" -- "$NHITS" "${BATCH[@]}" --min-points 100000
expect_error batch-holdout-too-long "--holdout 5000 leaves no history: the longest series" "has 144 points" -- "$NHITS" "${BATCH[@]}" --holdout 5000
printf '["AirPassengers"]\n' > "$WORK/universe_ids.json"
expect_error batch-universe-list-of-ids "entry 0: \"AirPassengers\" is not an object" -- "$NHITS" batch --universe "$WORK/universe_ids.json" --data "$AIR" --model good="$WORK/good.safetensors" --out "$WORK/out.csv"
printf '{"AirPassengers": "equity"}\n' > "$WORK/universe_obj.json"
expect_error batch-universe-object "a JSON universe is a list" -- "$NHITS" batch --universe "$WORK/universe_obj.json" --data "$AIR" --model good="$WORK/good.safetensors" --out "$WORK/out.csv"
expect_error plot-negative-history "--history: must be >= 0" -- "$NHITS" plot --model "$WORK/good.safetensors" --data "$AIR" --history -5 --out "$WORK/out.svg"
expect_error plot-not-svg "plot writes SVG; name the file *.svg" -- "$NHITS" plot --model "$WORK/good.safetensors" --data "$AIR" --out "$WORK/out.png"
printf 'unique_id;ds;y\na;2020-01-01;1\n' > "$WORK/semicolons.csv"
expect_error csv-semicolons "';'- or tab-separated" -- "$NHITS" predict --model "$WORK/good.safetensors" --data "$WORK/semicolons.csv" --out "$WORK/out.csv"
expect_error quantize-report-is-out "--report" "is the same file as --out" -- "$NHITS" quantize --model "$WORK/good.safetensors" --calibration "$AIR" --out "$WORK/q.safetensors" --report "$WORK/q.safetensors"
expect_error plot-no-series "--max-series: must be >= 1" -- "$NHITS" plot --model "$WORK/good.safetensors" --data "$AIR" --max-series 0 --out "$WORK/out.svg"
expect_error serve-default-priority "--default-priority 4 is outside 1..3" -- "$NHITS" serve --model a="$WORK/good.safetensors" --default-priority 4 --port 0
expect_error loadgen-nobody-listening "connection refused or host unreachable" -- "$NHITS" loadgen --url http://127.0.0.1:9 --model air --seconds 1

# A flag's value, or flags that do not go together, is a usage error (2) whether CLI11 or the
# command finds it; a command that fails on its files or data exits 1.
expect_rc() {
  local name=$1 want=$2; shift 2
  local rc=0
  "$@" > /dev/null 2>&1 || rc=$?
  if [ $rc -eq "$want" ]; then pass=$((pass + 1)); echo "ok   $name: exit $rc"; else echo "FAIL $name: exit $rc, want $want"; fail=$((fail + 1)); fi
}
expect_rc train-h-zero-exits-2 2 "$NHITS" train --data "$AIR" --h 0 --out "$WORK/out.safetensors"
expect_rc train-unknown-loss-exits-2 2 "$NHITS" "${TRAIN[@]}" --data "$AIR" --loss Bogus
expect_rc cv-step-size-zero-exits-2 2 "$NHITS" cv --data "$AIR" --h 2 --input-size 4 --step-size 0 --out "$WORK/out.csv"
expect_rc serve-zero-workers-exits-2 2 "$NHITS" serve --model a="$WORK/good.safetensors" --workers 0 --port 0
expect_rc bench-zero-seconds-exits-2 2 "$NHITS" bench --seconds 0
expect_rc benchmark-unknown-dataset-exits-2 2 "$NHITS" benchmark --dataset Bogus
expect_rc loadgen-url-and-checkpoint-exits-2 2 "$NHITS" loadgen --url http://127.0.0.1:9 --checkpoint "$WORK/good.safetensors"
expect_rc loadgen-huge-seconds-exits-2 2 "$NHITS" loadgen --checkpoint "$WORK/good.safetensors" --seconds 1e12
expect_rc loadgen-engine-flag-with-url-exits-2 2 "$NHITS" loadgen --url http://127.0.0.1:9 --model air --threads 3
expect_rc hw-unknown-profile-exits-2 2 "$NHITS" hw --profile foo
expect_rc hw-profile-any-case-exits-0 0 "$NHITS" hw --profile Balanced
expect_rc serve-cache-mb-and-no-cache-exits-2 2 "$NHITS" serve --model a="$WORK/good.safetensors" --no-cache --cache-mb 4 --port 0
expect_rc bench-h-with-a-checkpoint-exits-2 2 "$NHITS" bench --model "$WORK/good.safetensors" --h 48
expect_rc bench-unknown-distribution-exits-2 2 "$NHITS" bench --distribution Foo
expect_rc export-int8-and-fp16-exits-2 2 "$NHITS" export --model "$WORK/good.safetensors" --onnx "$WORK/out.onnx" --int8 --fp16
expect_error export-windows-without-reference "--reference-windows applies to --reference" -- "$NHITS" export --model "$WORK/good.safetensors" --onnx "$WORK/out.onnx" --reference-windows 4
# A server whose metadata gives no fixed window length is named, not crashed on (it segfaulted).
mkdir -p "$WORK/meta/v2/models"
printf '{"inputs":[]}' > "$WORK/meta/v2/models/empty"
printf '{"inputs":[{"name":"insample_y","shape":[-1,-1]}]}' > "$WORK/meta/v2/models/dynamic"
if command -v python3 > /dev/null; then
  PORT=$((20000 + RANDOM % 20000))
  (cd "$WORK/meta" && exec python3 -m http.server "$PORT" --bind 127.0.0.1 > /dev/null 2>&1) &
  META_PID=$!
  for _ in $(seq 50); do python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 0.1)" 2>/dev/null && break; sleep 0.1; done
  expect_error loadgen-metadata-without-insample "has no insample_y input" -- "$NHITS" loadgen --url "http://127.0.0.1:$PORT" --model empty --seconds 1
  expect_error loadgen-metadata-dynamic-length "gives no fixed window length" -- "$NHITS" loadgen --url "http://127.0.0.1:$PORT" --model dynamic --seconds 1
  kill "$META_PID" 2>/dev/null
fi
# A list flag's trailing or doubled comma is a usage error, also inside an option's own parser
# (there it aborted the process).
expect_rc list-trailing-comma-exits-2 2 "$NHITS" "${TRAIN[@]}" --data "$AIR" --n-blocks 1,1,
expect_rc threshold-double-comma-exits-2 2 "$NHITS" "${TRAIN[@]}" --data "$AIR" --training-data-availability-threshold 0.5,,0.2
expect_rc missing-data-file-exits-1 1 "$NHITS" predict --model "$WORK/good.safetensors" --data "$WORK/nope.csv" --out "$WORK/out.csv"
expect_error cv-level-with-a-point-loss "--level sets the levels" "the loss is MAE and neither is given" -- "$NHITS" cv --data "$AIR" --h 2 --input-size 4 --level 50 --out "$WORK/out.csv"
expect_error serve-lane-priority-range "--lane-rt-priority" "not in range 0 to 99" -- "$NHITS" serve --model a="$WORK/good.safetensors" --lane-rt-priority 200 --port 0
expect_error quantize-unknown-precision "unknown precision 'fp16' (choose int8, bf16 or fp32)" -- "$NHITS" quantize --model "$WORK/good.safetensors" --calibration "$AIR" --out "$WORK/out.safetensors" --precision fp16
expect_error short-h-with-a-value "'-h 5' asks for help; the horizon is --h 5" -- "$NHITS" predict --model "$WORK/good.safetensors" --data "$AIR" --out "$WORK/out.csv" -h 5
expect_error horizon-flag "unknown option '--horizon'; the horizon is --h" -- "$NHITS" train --data "$AIR" --horizon 5 --out "$WORK/out.safetensors"
expect_error predict-empty-alias "--alias: an empty alias" -- "$NHITS" predict --model "$WORK/good.safetensors" --data "$AIR" --out "$WORK/out.csv" --alias ""
expect_error batch-every-zero "--every: '0s' must be positive" -- "$NHITS" "${BATCH[@]}" --every 0s

expect_error no-command "a command is required" "predict" -- "$NHITS"
expect_error misspelt-command "unknown command 'trian'" "did you mean 'train'" -- "$NHITS" trian --data x.csv
expect_error unknown-command "unknown command 'frobnicate'" "commands: train, predict" -- "$NHITS" frobnicate

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
