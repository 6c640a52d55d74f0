#!/usr/bin/env bash
# The CLI end to end on the demo data with a small model: train, info, predict, cv, plot.
# Usage: commands_test.sh NHITS_BINARY SOURCE_DIR
set -euo pipefail
NHITS=$1
AIR=$2/data/air_passengers.csv
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; exit 1; fi; }

"$NHITS" train --data "$AIR" --h 12 --input-size 24 --mlp-units 16,16 --max-steps 300 --windows-batch-size 64 --scaler-type robust \
  --loss MQLoss --level 80,90 --val-size 12 --val-check-steps 100 --random-seed 1 --out "$WORK/m.safetensors" > "$WORK/train.txt" 2>&1
check "train writes a checkpoint" '[ -s "$WORK/m.safetensors" ]'
check "train reports validation loss" 'grep -q best_val_loss "$WORK/train.txt"'

"$NHITS" info --model "$WORK/m.safetensors" > "$WORK/info.txt"
check "info shows parameters and FLOPs" 'grep -q "^parameters" "$WORK/info.txt" && grep -q "^FLOPs" "$WORK/info.txt"'
check "info shows the training settings" 'grep -q "^training .*\"val_size\":12" "$WORK/info.txt" && grep -q "\"max_steps\":300" "$WORK/info.txt"'
check "info lists MQLoss outputs" 'grep -q "NHITS-median, NHITS-lo-90, NHITS-lo-80, NHITS-hi-80, NHITS-hi-90" "$WORK/info.txt"'

"$NHITS" predict --model "$WORK/m.safetensors" --data "$AIR" --out "$WORK/f.csv" 2>/dev/null
check "predict header" '[ "$(head -1 "$WORK/f.csv")" = "unique_id,ds,NHITS-median,NHITS-lo-90,NHITS-lo-80,NHITS-hi-80,NHITS-hi-90" ]'
check "predict has h rows" '[ "$(wc -l < "$WORK/f.csv")" = 13 ]'
# An id with a comma and a quote is read quoted and written quoted, as pandas does both.
sed 's/^AirPassengers,/"Air, ""Inc.""",/' "$AIR" > "$WORK/quoted_id.csv"
"$NHITS" predict --model "$WORK/m.safetensors" --data "$WORK/quoted_id.csv" --out "$WORK/fq.csv" 2>/dev/null
check "predict quotes an id with a comma or a quote" \
  'python3 -c "import csv,sys; r=list(csv.reader(open(sys.argv[1]))); sys.exit(not (len(r)==13 and all(len(x)==len(r[0]) for x in r) and r[1][0]==\"Air, \\\"Inc.\\\"\"))" "$WORK/fq.csv"'
check "predict continues month ends" 'sed -n 2p "$WORK/f.csv" | grep -q "^AirPassengers,1961-01-31," && sed -n 3p "$WORK/f.csv" | grep -q ",1961-02-28,"'
check "90% interval brackets the median" 'awk -F, "NR>1 && !(\$4<\$3 && \$3<\$7) {bad=1} END {exit bad}" "$WORK/f.csv"'
# Rows in reverse order and quoted ids (as pandas' to_csv(quoting=QUOTE_NONNUMERIC) writes them):
# read as the plain file, as neuralforecast sorts the frame itself.
{ head -1 "$AIR"; tail -n +2 "$AIR" | tac | sed 's/^AirPassengers,/"AirPassengers",/'; } > "$WORK/air_rev.csv"
"$NHITS" predict --model "$WORK/m.safetensors" --data "$WORK/air_rev.csv" --out "$WORK/f_rev.csv" 2>/dev/null
check "predict: rows in reverse order with quoted ids give the same forecast" 'cmp -s "$WORK/f.csv" "$WORK/f_rev.csv"'
"$NHITS" predict --model "$WORK/m.safetensors" --data "$AIR" --out "$WORK/f.csv" 2> "$WORK/nogap.txt"
sed '40d' "$AIR" > "$WORK/gap.csv"  # one month missing
"$NHITS" predict --model "$WORK/m.safetensors" --data "$WORK/gap.csv" --out "$WORK/fg.csv" 2> "$WORK/gap.txt"
check "predict notes a series that skips a month, and only then" \
  '! grep -q "skip timestamps" "$WORK/nogap.txt" && grep -q "1 of 1 series skip timestamps at freq ME (first: .AirPassengers. goes from 1952-02-29 to 1952-04-30)" "$WORK/gap.txt"'
# --h 30 with an h=12 model: the first 12 rows are the plain forecast; rows 13-24 are the forecast
# from the data extended by those 12 medians (as neuralforecast's predict(h=...)); then 6 more.
"$NHITS" predict --model "$WORK/m.safetensors" --data "$AIR" --h 30 --out "$WORK/f30.csv" 2>/dev/null
{ cat "$AIR"; awk -F, 'NR>1 && NR<=13 {print "AirPassengers," $2 "," $3}' "$WORK/f.csv"; } > "$WORK/air_ext.csv"
"$NHITS" predict --model "$WORK/m.safetensors" --data "$WORK/air_ext.csv" --out "$WORK/f_ext.csv" 2>/dev/null
check "predict --h 30: 30 rows, the first 12 the plain forecast, the next 12 from the extended history" \
  '[ "$(wc -l < "$WORK/f30.csv")" = 31 ] && [ "$(sed -n 2,13p "$WORK/f30.csv")" = "$(sed -n 2,13p "$WORK/f.csv")" ] &&
   [ "$(sed -n 14,25p "$WORK/f30.csv")" = "$(sed -n 2,13p "$WORK/f_ext.csv")" ] && tail -1 "$WORK/f30.csv" | grep -q "^AirPassengers,1963-06-30,"'
"$NHITS" predict --model "$WORK/m.safetensors" --data "$AIR" --h 5 --out "$WORK/f5.csv" 2>/dev/null
check "predict --h 5: the first 5 rows" '[ "$(cat "$WORK/f5.csv")" = "$(head -6 "$WORK/f.csv")" ]'
# QuantileLoss(q): neuralforecast's column name, and q=0.9 forecasts above q=0.1 at every step.
for q in 0.1 0.9; do
  "$NHITS" train --data "$AIR" --h 12 --input-size 24 --mlp-units 16,16 --max-steps 300 --windows-batch-size 64 \
    --scaler-type robust --loss QuantileLoss --q $q --random-seed 1 --quiet --out "$WORK/q$q.safetensors" > /dev/null 2>&1
  "$NHITS" predict --model "$WORK/q$q.safetensors" --data "$AIR" --out "$WORK/q$q.csv" 2>/dev/null
done
check "QuantileLoss column is NHITS_ql0.9" '[ "$(head -1 "$WORK/q0.9.csv")" = "unique_id,ds,NHITS_ql0.9" ]'
check "q=0.9 forecast above q=0.1 at every step" 'paste -d, "$WORK/q0.1.csv" "$WORK/q0.9.csv" | awk -F, "NR>1 && !(\$6 > \$3) {bad=1} END {exit bad}"'

for q in 0.1 0.9; do
  "$NHITS" cv --data "$AIR" --h 12 --input-size 24 --mlp-units 16,16 --max-steps 300 --windows-batch-size 64 --scaler-type robust \
    --loss QuantileLoss --q $q --n-windows 3 --step-size 12 --quiet --out "$WORK/qcv$q.csv" > "$WORK/qcv$q.txt"
done
coverage() { sed -n "s/^quantile $1: the truth is at or below the forecast at \([0-9.]*\)% of 36 points.*/\1/p" "$WORK/qcv$1.txt"; }
check "cv reports quantile coverage, higher for q=0.9 than q=0.1" \
  'c1=$(coverage 0.1); c9=$(coverage 0.9); [ -n "$c1" ] && [ -n "$c9" ] && awk -v a="$c1" -v b="$c9" "BEGIN {exit !(b > a)}"'

# cv's --step-size spaces the cutoffs; the model's own stride between training windows is
# --train-step-size there, and it must reach the fit (other windows, other forecasts).
for stride in 1 5; do
  "$NHITS" cv --data "$AIR" --h 12 --input-size 24 --mlp-units 16,16 --max-steps 30 --windows-batch-size 64 \
    --n-windows 1 --train-step-size $stride --random-seed 1 --quiet --out "$WORK/stride$stride.csv" > "$WORK/stride$stride.log" 2>&1 \
    || { echo "FAIL cv --train-step-size $stride:"; cat "$WORK/stride$stride.log"; }
done
check "cv --train-step-size reaches the fit" \
  '[ -s "$WORK/stride1.csv" ] && [ -s "$WORK/stride5.csv" ] && ! cmp -s "$WORK/stride1.csv" "$WORK/stride5.csv"'

# HuberMQLoss: MQLoss's columns, the interval around the median; HuberQLoss: f"_q{q}_d{delta}".
"$NHITS" train --data "$AIR" --h 12 --input-size 24 --mlp-units 16,16 --max-steps 300 --windows-batch-size 64 --scaler-type robust \
  --loss HuberMQLoss --level 80 --delta 0.5 --quiet --out "$WORK/hmq.safetensors" > /dev/null 2>&1
"$NHITS" predict --model "$WORK/hmq.safetensors" --data "$AIR" --out "$WORK/hmq.csv" 2>/dev/null
check "HuberMQLoss columns" '[ "$(head -1 "$WORK/hmq.csv")" = "unique_id,ds,NHITS-median,NHITS-lo-80,NHITS-hi-80" ]'
check "HuberMQLoss 80% interval brackets the median" 'awk -F, "NR>1 && !(\$4<\$3 && \$3<\$5) {bad=1} END {exit bad}" "$WORK/hmq.csv"'
"$NHITS" train --data "$AIR" --h 12 --input-size 24 --mlp-units 16,16 --max-steps 20 --loss HuberQLoss --q 0.75 --delta 2 \
  --quiet --out "$WORK/hq.safetensors" > /dev/null 2>&1
"$NHITS" predict --model "$WORK/hq.safetensors" --data "$AIR" --out "$WORK/hq.csv" 2>/dev/null
check "HuberQLoss column is NHITS_q0.75_d2.0" '[ "$(head -1 "$WORK/hq.csv")" = "unique_id,ds,NHITS_q0.75_d2.0" ]'

# DistributionLoss(StudentT): mean, exact quantiles and parameters as columns; the quantiles are
# the Student-t's at the reported df, loc, scale (hi-90 = loc + scale * t_df(0.95)); cv reports
# coverage; conformal intervals refuse it with the reason.
"$NHITS" train --data "$AIR" --h 12 --input-size 24 --mlp-units 16,16 --max-steps 200 --windows-batch-size 64 --scaler-type robust \
  --loss DistributionLoss --distribution StudentT --level 90 --return-params --quiet --out "$WORK/dl.safetensors" > /dev/null 2>&1
"$NHITS" predict --model "$WORK/dl.safetensors" --data "$AIR" --out "$WORK/dl.csv" 2>/dev/null
check "DistributionLoss columns" '[ "$(head -1 "$WORK/dl.csv")" = "unique_id,ds,NHITS,NHITS-median,NHITS-lo-90,NHITS-hi-90,NHITS-df,NHITS-loc,NHITS-scale" ]'
check "DistributionLoss quantiles are the Student-t's of its parameters" 'python3 - "$WORK/dl.csv" <<"PY"
import csv, math, sys
def cdf(t, df, n=20000):  # Student-t cdf by Simpson integration of its density from 0
    c = math.exp(math.lgamma((df + 1) / 2) - math.lgamma(df / 2)) / math.sqrt(df * math.pi)
    f = lambda x: c * (1 + x * x / df) ** (-(df + 1) / 2)
    h = t / n
    s = f(0) + f(t) + sum((4 if i % 2 else 2) * f(i * h) for i in range(1, n))
    return 0.5 + s * h / 3
for r in csv.DictReader(open(sys.argv[1])):
    df, loc, scale = float(r["NHITS-df"]), float(r["NHITS-loc"]), float(r["NHITS-scale"])
    hi, lo = float(r["NHITS-hi-90"]), float(r["NHITS-lo-90"])
    assert df > 3 and scale > 0, r
    assert abs(cdf((hi - loc) / scale, df) - 0.95) < 1e-5, r
    assert abs((loc - lo) - (hi - loc)) < 1e-3 * scale, r
    assert float(r["NHITS"]) == loc == float(r["NHITS-median"]), r
PY'
"$NHITS" predict --model "$WORK/dl.safetensors" --data "$AIR" --level 95 --out "$WORK/dl95.csv" 2>/dev/null
check "DistributionLoss predict --level: other levels, neuralforecast's columns" '[ "$(head -1 "$WORK/dl95.csv")" = "unique_id,ds,NHITS,NHITS-lo-95,NHITS-hi-95,NHITS-df,NHITS-loc,NHITS-scale" ]'
"$NHITS" predict --model "$WORK/dl.safetensors" --data "$AIR" --quantiles 0.95,0.05 --out "$WORK/dlq.csv" 2>/dev/null
check "DistributionLoss predict --quantiles: neuralforecast's _ql columns, equal to the 90% interval" 'paste -d, "$WORK/dl.csv" "$WORK/dlq.csv" | awk -F, "function off(a, b) { d = a - b; return (d < 0 ? -d : d) > 1e-5 * (b < 0 ? -b : b) } NR==1 && \$13\$14 != \"NHITS_ql0.05NHITS_ql0.95\" {bad=1} NR>1 && (off(\$13, \$5) || off(\$14, \$6)) {bad=1} END {exit bad}"'
check "DistributionLoss 95% interval contains the trained 90% one" 'paste -d, "$WORK/dl.csv" "$WORK/dl95.csv" | awk -F, "NR>1 && !(\$13<\$5 && \$6<\$14) {bad=1} END {exit bad}"'
"$NHITS" cv --data "$AIR" --h 12 --input-size 24 --mlp-units 16,16 --max-steps 100 --windows-batch-size 64 --scaler-type robust \
  --loss DistributionLoss --distribution Normal --n-windows 2 --step-size 12 --quiet --out "$WORK/dlcv.csv" > "$WORK/dlcv.txt"
check "DistributionLoss cv reports interval coverage" 'grep -q "^90% interval: covers" "$WORK/dlcv.txt" && grep -q "^80% interval: covers" "$WORK/dlcv.txt"'
check "DistributionLoss cv CSV has the mean column" 'head -1 "$WORK/dlcv.csv" | grep -q ",NHITS,NHITS-median,NHITS-lo-90,"'
check "DistributionLoss cv likelihood equals the Normal's of the CSV's mean and 90% interval" 'python3 - "$WORK/dlcv.csv" "$WORK/dlcv.txt" <<"PY"
import csv, math, re, sys
nll = []
for r in csv.DictReader(open(sys.argv[1])):
    loc, y = float(r["NHITS"]), float(r["y"])
    scale = (float(r["NHITS-hi-90"]) - float(r["NHITS-lo-90"])) / (2 * 1.6448536269514722)
    nll.append(math.log(scale) + 0.5 * math.log(2 * math.pi) + 0.5 * ((y - loc) / scale) ** 2)
got = float(re.search(r"Normal likelihood: mean negative log-likelihood of the truths (\S+) over (\d+)", open(sys.argv[2]).read()).group(1))
want = sum(nll) / len(nll)
assert abs(got - want) < 1e-3 * max(1, abs(want)), (got, want)
PY'
check "ONNX export of a DistributionLoss model states its columns" '"$NHITS" export --model "$WORK/dl.safetensors" --onnx "$WORK/dl.onnx" 2> "$WORK/dl.err" && grep -q "forecast \[batch, 12, 7\]" "$WORK/dl.err" && [ -s "$WORK/dl.onnx" ]'
check "conformal intervals refuse DistributionLoss" '! "$NHITS" train --data "$AIR" --h 12 --input-size 24 --mlp-units 16,16 --max-steps 5 --loss DistributionLoss --prediction-intervals 2 --quiet --out "$WORK/dlpi.safetensors" 2> "$WORK/dlpi.err" && grep -q "point losses" "$WORK/dlpi.err"'

# cv with MQLoss: interval coverage and width as printed, recomputed here from the cv CSV.
"$NHITS" cv --data "$AIR" --h 12 --input-size 24 --mlp-units 16,16 --max-steps 100 --windows-batch-size 64 --scaler-type robust \
  --loss MQLoss --level 80,90 --n-windows 3 --step-size 12 --quiet --out "$WORK/mcv.csv" > "$WORK/mcv.txt"
check "cv interval coverage matches the CSV" 'python3 - "$WORK/mcv.csv" "$WORK/mcv.txt" <<"PY"
import csv, re, sys
rows = list(csv.DictReader(open(sys.argv[1])))
text = open(sys.argv[2]).read()
for level in (80, 90):
    lo, hi = f"NHITS-lo-{level}", f"NHITS-hi-{level}"
    inside = sum(float(r[lo]) <= float(r["y"]) <= float(r[hi]) for r in rows)
    width = sum(float(r[hi]) - float(r[lo]) for r in rows) / len(rows)
    m = re.search(rf"^{level}% interval: covers ([0-9.]+)% of (\d+) points, mean width ([0-9.e+-]+)$", text, re.M)
    assert m, text
    assert int(m.group(2)) == len(rows) == 36, (m.group(2), len(rows))
    assert abs(float(m.group(1)) - 100 * inside / len(rows)) < 0.051, (m.group(1), inside)
    assert abs(float(m.group(3)) - width) <= 1e-3 * abs(width) + 1e-6, (m.group(3), width)
PY'

# The demo (a short run): metrics, the intervals' coverage on the held-out year, its files.
"$NHITS" demo --data "$AIR" --out-dir "$WORK/demo" --max-steps 50 > "$WORK/demo.txt" 2>/dev/null
check "demo reports metrics and interval coverage" 'grep -q "^| SeasonalNaive(12) |" "$WORK/demo.txt" && grep -q "^90% interval: covers [0-9.]*% of 12 points" "$WORK/demo.txt" && grep -q "^80% interval: covers" "$WORK/demo.txt"'
check "demo writes model and plot" '[ -s "$WORK/demo/model.safetensors" ] && grep -q "</svg>" "$WORK/demo/plot.svg"'

# predict --insample (neuralforecast's predict_insample; the import test compares it with
# neuralforecast itself): with step 12 on 144 months nothing is trimmed, so 12 windows, the first
# with cutoff the month before the data and no history, the last ending at the data's end.
"$NHITS" predict --model "$WORK/m.safetensors" --data "$AIR" --insample --step-size 12 --out "$WORK/ins.csv" 2>/dev/null
check "predict --insample: header, 12 windows of 12, first cutoff 1948-12-31, last row 1960-12-31 with its truth" \
  '[ "$(head -1 "$WORK/ins.csv")" = "unique_id,ds,cutoff,NHITS-median,NHITS-lo-90,NHITS-lo-80,NHITS-hi-80,NHITS-hi-90,y" ] &&
   [ "$(wc -l < "$WORK/ins.csv")" = 145 ] && sed -n 2p "$WORK/ins.csv" | grep -q "^AirPassengers,1949-01-31,1948-12-31," &&
   tail -1 "$WORK/ins.csv" | grep -q "^AirPassengers,1960-12-31,1959-12-31,.*,432$"'

# A series shorter than input_size is forecast (zero-padded, as neuralforecast does), with a note.
head -6 "$AIR" > "$WORK/short.csv"
"$NHITS" predict --model "$WORK/m.safetensors" --data "$WORK/short.csv" --out "$WORK/fs.csv" 2> "$WORK/short.txt"
check "predict notes a short series" 'grep -q "1 of 1 series have fewer than input_size 24 points (shortest: .AirPassengers., 5)" "$WORK/short.txt" && [ "$(wc -l < "$WORK/fs.csv")" = 13 ]'

"$NHITS" cv --data "$AIR" --h 12 --input-size 24 --mlp-units 16,16 --max-steps 20 --n-windows 3 --step-size 12 --quiet \
  --out "$WORK/cv.csv" > "$WORK/cv.txt"
check "cv header" '[ "$(head -1 "$WORK/cv.csv")" = "unique_id,ds,cutoff,NHITS,y" ]'
check "cv rows" '[ "$(wc -l < "$WORK/cv.csv")" = 37 ]'
check "cv first cutoff" 'sed -n 2p "$WORK/cv.csv" | grep -q "^AirPassengers,1958-01-31,1957-12-31,"'
check "cv metrics table" 'grep -q "SeasonalNaive(12)" "$WORK/cv.txt" && grep -q "| MASE |" "$WORK/cv.txt"'
# cv --refit 1 (neuralforecast's refit=True): a fit before each window on the data before it. The
# middle window's truths, multiplied by 10, reach only the last window's forecast; --refit 3 (one
# fit for the 3 windows) is the plain cv; window 0 is the plain cv's (its fit is the same).
CVR=(cv --h 12 --input-size 24 --mlp-units 16,16 --max-steps 20 --n-windows 3 --step-size 12 --quiet)
awk -F, 'NR < 122 || NR > 133 {print; next} {print $1 "," $2 "," $3 * 10}' "$AIR" > "$WORK/air_mid.csv"
"$NHITS" "${CVR[@]}" --data "$AIR" --refit 1 --out "$WORK/cvr.csv" > "$WORK/cvr.txt"
"$NHITS" "${CVR[@]}" --data "$WORK/air_mid.csv" --refit 1 --out "$WORK/cvr_mid.csv" > /dev/null
"$NHITS" "${CVR[@]}" --data "$AIR" --refit 3 --out "$WORK/cvr3.csv" > /dev/null
close() { paste -d, <(sed -n "$2" "$WORK/$1" | cut -d, -f4) <(sed -n "$2" "$WORK/$3" | cut -d, -f4) |
          awk -F, '{d = $1 - $2; if (d < 0) d = -d; if (d > 1e-5 * $2) bad = 1; n++} END {exit bad || n == 0}'; }
check "cv --refit 1: 3 fits, and window 0 is the plain cv's" 'grep -q "3 fits, 60 steps" "$WORK/cvr.txt" && close cvr.csv 2,13p cv.csv'
check "cv --refit 1: windows 0-1 ignore later truths, window 2 sees them" \
  'close cvr.csv 2,25p cvr_mid.csv && ! close cvr.csv 26,37p cvr_mid.csv'
check "cv --refit 3 with 3 windows is the plain cv" 'cmp -s "$WORK/cvr3.csv" "$WORK/cv.csv"'
# cv --refit 1 --prediction-intervals 3 (neuralforecast's cross_validation(refit=True,
# prediction_intervals=...)): each fit calibrates on its own data first, so window 0 equals
# `train --prediction-intervals 3` on the data before it followed by `predict --level 80,90`.
"$NHITS" "${CVR[@]}" --data "$AIR" --refit 1 --prediction-intervals 3 --out "$WORK/cvpi.csv" > "$WORK/cvpi.txt"
head -109 "$AIR" > "$WORK/air_before_cv.csv"
"$NHITS" train --data "$WORK/air_before_cv.csv" --h 12 --input-size 24 --mlp-units 16,16 --max-steps 20 --quiet \
  --prediction-intervals 3 --out "$WORK/before_cv.safetensors" > /dev/null 2>&1
"$NHITS" predict --model "$WORK/before_cv.safetensors" --data "$WORK/air_before_cv.csv" --level 80,90 \
  --out "$WORK/before_cv.csv" 2>/dev/null
check "cv --prediction-intervals: interval columns, nested around the forecast, and their coverage" \
  '[ "$(head -1 "$WORK/cvpi.csv")" = "unique_id,ds,cutoff,NHITS,NHITS-lo-90,NHITS-lo-80,NHITS-hi-80,NHITS-hi-90,y" ] &&
   awk -F, "NR>1 && !(\$5<=\$6 && \$6<=\$4 && \$4<=\$7 && \$7<=\$8) {bad=1} END {exit bad || NR != 37}" "$WORK/cvpi.csv" &&
   grep -q "^| 80% | " "$WORK/cvpi.txt"'
check "cv --prediction-intervals: window 0 == train --prediction-intervals + predict --level on the data before it" \
  '[ "$(sed -n 2,13p "$WORK/cvpi.csv" | cut -d, -f1,2,4-8)" = "$(sed -n 2,13p "$WORK/before_cv.csv")" ]'
# cv --local-scaler-type minmax --refit 3 (one fit for 3 windows): the fit scales the data before
# window 0, each window's history is scaled over itself; so window 0 and window 1 are
# `train --local-scaler-type minmax` on the data before window 0, predicting from each cutoff.
"$NHITS" "${CVR[@]}" --data "$AIR" --refit 3 --local-scaler-type minmax --out "$WORK/cvl.csv" > /dev/null
head -121 "$AIR" > "$WORK/air_before_w1.csv"
"$NHITS" train --data "$WORK/air_before_cv.csv" --h 12 --input-size 24 --mlp-units 16,16 --max-steps 20 --quiet \
  --local-scaler-type minmax --out "$WORK/before_cv_minmax.safetensors" > /dev/null 2>&1
"$NHITS" predict --model "$WORK/before_cv_minmax.safetensors" --data "$WORK/air_before_cv.csv" --out "$WORK/l0.csv" 2>/dev/null
"$NHITS" predict --model "$WORK/before_cv_minmax.safetensors" --data "$WORK/air_before_w1.csv" --out "$WORK/l1.csv" 2>/dev/null
check "cv --local-scaler-type: windows 0 and 1 == train --local-scaler-type on the data before window 0 + predict (1e-5)" \
  'paste -d, <(sed -n 2,25p "$WORK/cvl.csv") <(tail -n +2 "$WORK/l0.csv"; tail -n +2 "$WORK/l1.csv") |
     awk -F, "{d = \$4 - \$8; if (d < 0) d = -d; if (\$2 != \$7 || d > 1e-5 * \$8) bad = 1; n++} END {exit bad || n != 24}"'

"$NHITS" plot --model "$WORK/m.safetensors" --data "$AIR" --holdout --out "$WORK/p.svg" 2>/dev/null
check "plot is an SVG" 'head -c 4 "$WORK/p.svg" | grep -q "<svg" && tail -c 6 "$WORK/p.svg" | grep -q "</svg>"'

"$NHITS" quantize --model "$WORK/m.safetensors" --calibration "$AIR" --out "$WORK/m8.safetensors" --max-error 0.05 \
  --report "$WORK/q.json" > "$WORK/q.txt" 2>&1
check "quantize writes a smaller checkpoint" '[ "$(stat -c %s "$WORK/m8.safetensors")" -lt "$(stat -c %s "$WORK/m.safetensors")" ]'
check "quantize reports held-out MAE for both" 'grep -q "held-out MAE *fp32 .* int8 " "$WORK/q.txt" && grep -q heldout_mae_quantized "$WORK/q.json"'
"$NHITS" info --model "$WORK/m8.safetensors" > "$WORK/info8.txt"
check "info shows the precision" 'grep -q "^precision *int8" "$WORK/info8.txt"'
check "info keeps the source's training settings through quantize" 'grep -q "^training .*\"max_steps\":300" "$WORK/info8.txt"'
check "info summarises the activation ranges instead of dumping them" \
  'grep -q "^activations *calibrated ranges of" "$WORK/info8.txt" && ! grep -q "nhits_activation_amax\|^nhits_" "$WORK/info8.txt"'
"$NHITS" predict --model "$WORK/m8.safetensors" --data "$AIR" --out "$WORK/f8.csv" 2> "$WORK/p8.txt"
check "predict uses the checkpoint's precision" 'grep -q "int8" "$WORK/p8.txt" && [ "$(wc -l < "$WORK/f8.csv")" = 13 ]'
check "predict: no short-series note for a full series" '[ -s "$WORK/p8.txt" ] && ! grep -q "zero-padded" "$WORK/p8.txt"'
# The INT8 forecasts stay close to FP32 (within 2% of the level here: AirPassengers is ~400-600).
check "int8 forecast near fp32" 'paste -d, "$WORK/f.csv" "$WORK/f8.csv" | awk -F, "NR>1 { d=\$3-\$10; if (d<0) d=-d; if (d > 0.02*\$3) bad=1 } END {exit bad}"'
"$NHITS" predict --model "$WORK/m.safetensors" --data "$AIR" --precision bf16 --out "$WORK/f16.csv" 2>/dev/null
check "predict --precision bf16" '[ "$(wc -l < "$WORK/f16.csv")" = 13 ]'

# nhits batch: four copies of AirPassengers in two classes, one with a NaN in its last window
{ echo "unique_id,asset_class"; echo "A,equity"; echo "B,equity"; echo "C,fx"; echo "D,fx"; } > "$WORK/universe.csv"
awk -F, 'NR==1 {print; next} {for (k = 0; k < 4; k++) rows[k] = rows[k] sprintf("%s,%s,%s\n", substr("ABCD", k + 1, 1), $2, (k == 3 && NR == 140) ? "NaN" : $3)}
  END {for (k = 0; k < 4; k++) printf "%s", rows[k]}' "$AIR" > "$WORK/assets.csv"
"$NHITS" batch --universe "$WORK/universe.csv" --data "$WORK/assets.csv" --model eq="$WORK/m.safetensors" \
  --route equity=eq --route fx=eq --season-length 12 --out "$WORK/batch.csv" --report "$WORK/batch.json" > "$WORK/batch.txt" 2>&1
check "batch forecasts every asset" '[ "$(grep -c ",ok,eq@1," "$WORK/batch.csv")" = 36 ]'
check "batch degrades the bad series to a baseline" 'grep -q "^D,fx,fx,1961-01-31,.*,degraded,seasonal_naive,missing or non-finite value at 1960-07-31" "$WORK/batch.csv"'
check "batch report adds up" 'python3 -c "import json,sys; r=json.load(open(sys.argv[1])); t=r[\"total\"]; sys.exit(not (t[\"assets\"]==4 and t[\"ok\"]==3 and t[\"degraded\"]==1 and sum(c[\"assets\"] for c in r[\"classes\"])==4))" "$WORK/batch.json"'

# Conformal intervals trained here: the scores in the checkpoint are the |y - forecast| of the
# same cross-validation `nhits cv` runs (same configuration and seed); predict --level brackets
# the point forecast; clear errors for what cannot work.
PI=(--data "$AIR" --h 12 --input-size 24 --mlp-units 16,16 --max-steps 200 --windows-batch-size 64 --scaler-type robust --random-seed 1 --quiet)
"$NHITS" train "${PI[@]}" --prediction-intervals 3 --pi-step-size 4 --out "$WORK/pi.safetensors" > /dev/null 2>&1
"$NHITS" cv "${PI[@]}" --n-windows 3 --step-size 4 --out "$WORK/pi_cv.csv" > /dev/null
check "conformity scores equal the cross-validation errors" 'python3 - "$WORK/pi.safetensors" "$WORK/pi_cv.csv" <<"PY"
import csv, json, struct, sys
raw = open(sys.argv[1], "rb").read()
meta = json.loads(raw[8:8 + struct.unpack("<Q", raw[:8])[0]])["__metadata__"]
scores = json.loads(meta["nhits_conformal"])["scores"]["AirPassengers"]
errs = [abs(float(r["NHITS"]) - float(r["y"])) for r in csv.DictReader(open(sys.argv[2]))]
sys.exit(not (len(scores) == len(errs) == 36 and max(abs(a - b) for a, b in zip(scores, errs)) < 1e-3 * max(errs)))
PY'
"$NHITS" predict --model "$WORK/pi.safetensors" --data "$AIR" --level 80,90 --out "$WORK/pi_f.csv" 2> /dev/null
check "predict --level: neuralforecast's columns, lo-90 <= lo-80 <= point <= hi-80 <= hi-90" \
  '[ "$(head -1 "$WORK/pi_f.csv")" = "unique_id,ds,NHITS,NHITS-lo-90,NHITS-lo-80,NHITS-hi-80,NHITS-hi-90" ] &&
   awk -F, "NR>1 && !(\$4<=\$5 && \$5<=\$3 && \$3<=\$6 && \$6<=\$7 && \$4<\$7) {bad=1} END {exit bad || NR != 13}" "$WORK/pi_f.csv"'
"$NHITS" predict --model "$WORK/pi.safetensors" --data "$AIR" --level 97.5,90 --out "$WORK/pi_975.csv" 2> /dev/null
check "predict --level with a fractional level: -lo-97.5 outside the 90% interval" \
  '[ "$(head -1 "$WORK/pi_975.csv")" = "unique_id,ds,NHITS,NHITS-lo-97.5,NHITS-lo-90,NHITS-hi-90,NHITS-hi-97.5" ] &&
   awk -F, "NR>1 && !(\$4<=\$5 && \$6<=\$7) {bad=1} END {exit bad || NR != 13}" "$WORK/pi_975.csv"'
"$NHITS" info --model "$WORK/pi.safetensors" > "$WORK/pi_info.txt"
check "info summarises the intervals" 'grep -q "^intervals *conformal_distribution on 3 windows (step 4) for 1 series" "$WORK/pi_info.txt"'
check "--level without scores names the flag to train with" \
  '! "$NHITS" predict --model "$WORK/q0.9.safetensors" --data "$AIR" --level 80 --out "$WORK/x.csv" 2> "$WORK/err.txt" && grep -q "train it with --prediction-intervals N" "$WORK/err.txt"'
check "--prediction-intervals with MQLoss is refused" \
  '! "$NHITS" train "${PI[@]}" --loss MQLoss --prediction-intervals 2 --out "$WORK/x.safetensors" 2> "$WORK/err.txt" && grep -q "for point losses" "$WORK/err.txt"'
check "--prediction-intervals 1 is refused" \
  '! "$NHITS" train "${PI[@]}" --prediction-intervals 1 --out "$WORK/x.safetensors" 2> "$WORK/err.txt" && grep -q "at least 2 windows" "$WORK/err.txt"'
sed 's/^AirPassengers,/Other,/' "$AIR" > "$WORK/other.csv"
check "--level for a series the scores do not know fails naming it" \
  '! "$NHITS" predict --model "$WORK/pi.safetensors" --data "$WORK/other.csv" --level 80 --out "$WORK/x.csv" 2> "$WORK/err.txt" && grep -q "series .Other. has no conformity scores" "$WORK/err.txt"'

# Exogenous inputs: y jumps by 4 on (pseudo-random) promotion days, known in advance.
awk 'BEGIN {srand(7); print "unique_id,ds,y,promo"; for (s = 0; s < 3; s++) for (t = 1; t <= 306; t++) {
  p = rand() < 0.3 ? 1 : 0; y = 10 + s + 2 * sin(6.2832 * t / 12) + 4 * p
  if (t <= 300) printf "s%d,%d,%.4f,%d\n", s, t, y, p; else fut[s, t] = p }
  for (s = 0; s < 3; s++) for (t = 301; t <= 306; t++) printf "s%d,%d,%d\n", s, t, fut[s, t] > "/dev/stderr" }' \
  > "$WORK/promo.csv" 2> "$WORK/promo_futr_rows.csv"
{ echo "unique_id,ds,promo"; cat "$WORK/promo_futr_rows.csv"; } > "$WORK/promo_futr.csv"
printf 'unique_id,size\ns0,1\ns1,2\ns2,3\n' > "$WORK/promo_static.csv"
EXO=(--h 6 --input-size 24 --mlp-units 32,32 --max-steps 300 --windows-batch-size 256 --scaler-type standard --random-seed 1 --quiet)
"$NHITS" train --data "$WORK/promo.csv" "${EXO[@]}" --futr-exog-list promo --stat-exog-list size \
  --static-data "$WORK/promo_static.csv" --out "$WORK/exo.safetensors" > /dev/null 2>&1
"$NHITS" predict --model "$WORK/exo.safetensors" --data "$WORK/promo.csv" --futr-data "$WORK/promo_futr.csv" \
  --static-data "$WORK/promo_static.csv" --out "$WORK/exo_f.csv" 2> /dev/null
check "predict with --futr-data/--static-data: h rows per series" '[ "$(wc -l < "$WORK/exo_f.csv")" = 19 ] && sed -n 2p "$WORK/exo_f.csv" | grep -q "^s0,301,"'
# --h 12 with a futr column: two blocks of 6, so its values for 12 steps; the second block is the
# forecast from the data extended by the first block (y = its forecast, promo = the known values).
{ echo "unique_id,ds,promo"; { tail -n +2 "$WORK/promo_futr.csv"
    for s in 0 1 2; do for t in 307 308 309 310 311 312; do echo "s$s,$t,$((t % 3 == 0))"; done; done; } | sort -t, -k1,1 -k2,2n; } \
  > "$WORK/promo_futr12.csv"
"$NHITS" predict --model "$WORK/exo.safetensors" --data "$WORK/promo.csv" --futr-data "$WORK/promo_futr12.csv" \
  --static-data "$WORK/promo_static.csv" --h 12 --out "$WORK/exo_f12.csv" 2> /dev/null
{ cat "$WORK/promo.csv"; paste -d, <(tail -n +2 "$WORK/exo_f.csv" | cut -d, -f1-3) <(tail -n +2 "$WORK/promo_futr.csv" | cut -d, -f3); } |
  awk -F, 'NR == 1 {print; next} {print | "sort -t, -k1,1 -k2,2n"}' > "$WORK/promo_ext.csv"
grep -E ',(30[7-9]|31[0-2]),' "$WORK/promo_futr12.csv" | { echo "unique_id,ds,promo"; cat; } > "$WORK/promo_futr_next.csv"
"$NHITS" predict --model "$WORK/exo.safetensors" --data "$WORK/promo_ext.csv" --futr-data "$WORK/promo_futr_next.csv" \
  --static-data "$WORK/promo_static.csv" --out "$WORK/exo_f_next.csv" 2> /dev/null
check "predict --h 12 with a futr column: block 1 as before, block 2 from the extended data" \
  '[ "$(grep -c "^s" "$WORK/exo_f12.csv")" = 36 ] && [ "$(grep -E ",30[1-6]," "$WORK/exo_f12.csv")" = "$(tail -n +2 "$WORK/exo_f.csv")" ] &&
   [ "$(grep -E ",(30[7-9]|31[0-2])," "$WORK/exo_f12.csv")" = "$(tail -n +2 "$WORK/exo_f_next.csv")" ]'
check "predict --h 12 names the missing future step" \
  '! "$NHITS" predict --model "$WORK/exo.safetensors" --data "$WORK/promo.csv" --futr-data "$WORK/promo_futr.csv" --static-data "$WORK/promo_static.csv" --h 12 --out "$WORK/x.csv" 2> "$WORK/err.txt" &&
   grep -q "has no futr values for 307 (step 7 of h=12" "$WORK/err.txt"'
# The forecast follows the known promotions: promo days forecast higher than the others.
check "forecast rises on the known promotion days" 'paste -d, <(tail -n +2 "$WORK/promo_futr.csv") <(tail -n +2 "$WORK/exo_f.csv") |
  awk -F, "{s[\$3] += \$6; n[\$3]++} END {exit !(n[1] > 0 && n[0] > 0 && s[1]/n[1] > s[0]/n[0] + 2)}"'
check "predict without --futr-data names the flag and columns" \
  '! "$NHITS" predict --model "$WORK/exo.safetensors" --data "$WORK/promo.csv" --static-data "$WORK/promo_static.csv" --out "$WORK/x.csv" 2> "$WORK/err.txt" &&
   grep -q "futr_exog_list: promo): give each series. next 6 values with --futr-data FILE (unique_id,ds,promo)" "$WORK/err.txt" && [ ! -e "$WORK/x.csv" ]'
head -n -1 "$WORK/promo_futr.csv" > "$WORK/promo_futr_short.csv"
check "a missing future step is named" \
  '! "$NHITS" predict --model "$WORK/exo.safetensors" --data "$WORK/promo.csv" --futr-data "$WORK/promo_futr_short.csv" --static-data "$WORK/promo_static.csv" --out "$WORK/x.csv" 2> "$WORK/err.txt" &&
   grep -q "series .s2. has no futr values for 306 (step 6 of h=6" "$WORK/err.txt"'
"$NHITS" plot --model "$WORK/exo.safetensors" --data "$WORK/promo.csv" --static-data "$WORK/promo_static.csv" --holdout \
  --out "$WORK/exo_holdout.svg" 2> /dev/null
"$NHITS" plot --model "$WORK/exo.safetensors" --data "$WORK/promo.csv" --static-data "$WORK/promo_static.csv" \
  --futr-data "$WORK/promo_futr.csv" --out "$WORK/exo_future.svg" 2> /dev/null
check "plot takes exogenous inputs (holdout from the data, future from --futr-data)" \
  'grep -q "</svg>" "$WORK/exo_holdout.svg" && grep -q "</svg>" "$WORK/exo_future.svg"'
"$NHITS" predict --model "$WORK/exo.safetensors" --data "$WORK/promo.csv" --futr-data "$WORK/promo_futr.csv" \
  --static-data "$WORK/promo_static.csv" --precision int8 --out "$WORK/exo_f8.csv" 2> /dev/null
check "predict --precision int8 with exogenous inputs stays within 5% of fp32" \
  'paste -d, "$WORK/exo_f.csv" "$WORK/exo_f8.csv" | awk -F, "NR>1 {d = \$3 - \$6; if (d < 0) d = -d; if (d > 0.05 * (\$3 < 0 ? -\$3 : \$3) + 0.05) bad = 1; n++} END {exit bad || n != 18}"'
"$NHITS" quantize --model "$WORK/exo.safetensors" --calibration "$WORK/promo.csv" --static-data "$WORK/promo_static.csv" \
  --out "$WORK/exo8.safetensors" > "$WORK/exo_q.txt" 2>&1
"$NHITS" predict --model "$WORK/exo8.safetensors" --data "$WORK/promo.csv" --futr-data "$WORK/promo_futr.csv" \
  --static-data "$WORK/promo_static.csv" --out "$WORK/exo_q8.csv" 2> "$WORK/exo_q8.txt"
check "quantize calibrates an exogenous model; its INT8 checkpoint forecasts within 5% of fp32" \
  'grep -q "^held-out MAE" "$WORK/exo_q.txt" && grep -q int8 "$WORK/exo_q8.txt" &&
   paste -d, "$WORK/exo_f.csv" "$WORK/exo_q8.csv" | awk -F, "NR>1 {d = \$3 - \$6; if (d < 0) d = -d; if (d > 0.05 * (\$3 < 0 ? -\$3 : \$3) + 0.05) bad = 1; n++} END {exit bad || n != 18}"'
# nhits batch with the exogenous model: the same forecasts as predict; an asset without future
# values is degraded alone; --holdout takes the future values from the data.
printf 'unique_id,asset_class\ns0,promo\ns1,promo\ns2,promo\n' > "$WORK/promo_universe.csv"
"$NHITS" batch --universe "$WORK/promo_universe.csv" --data "$WORK/promo.csv" --model promo="$WORK/exo.safetensors" \
  --futr-data "$WORK/promo_futr.csv" --static-data "$WORK/promo_static.csv" --season-length 12 --out "$WORK/exo_b.csv" > /dev/null 2>&1
check "batch with exogenous inputs equals predict" 'paste -d, <(tail -n +2 "$WORK/exo_f.csv") <(tail -n +2 "$WORK/exo_b.csv") |
  awk -F, "{d = \$3 - \$8; if (d < 0) d = -d; if (\$1 != \$4 || \$2 != \$7 || \$9 != \"ok\" || d > 1e-4 * (1 + (\$3 < 0 ? -\$3 : \$3))) bad = 1; n++} END {exit bad || n != 18}"'
grep -v '^s2,' "$WORK/promo_futr.csv" > "$WORK/promo_futr_no_s2.csv"
"$NHITS" batch --universe "$WORK/promo_universe.csv" --data "$WORK/promo.csv" --model promo="$WORK/exo.safetensors" \
  --futr-data "$WORK/promo_futr_no_s2.csv" --static-data "$WORK/promo_static.csv" --season-length 12 --out "$WORK/exo_b2.csv" > /dev/null 2>&1
check "batch degrades an asset without future values" \
  '[ "$(grep -c ",ok,promo@1," "$WORK/exo_b2.csv")" = 12 ] && grep -q "^s2,.*,degraded,seasonal_naive,no futr values for the 6 steps after 300" "$WORK/exo_b2.csv"'
"$NHITS" batch --universe "$WORK/promo_universe.csv" --data "$WORK/promo.csv" --model promo="$WORK/exo.safetensors" \
  --holdout 6 --static-data "$WORK/promo_static.csv" --season-length 12 --out "$WORK/exo_bh.csv" --report "$WORK/exo_bh.json" > /dev/null 2>&1
check "batch --holdout with exogenous inputs beats Naive" \
  'python3 -c "import json,sys; t=json.load(open(sys.argv[1]))[\"total\"]; a=t[\"accuracy\"]; sys.exit(not (t[\"ok\"] == 3 and a[\"mae\"] < 0.5 * a[\"naive_mae\"]))" "$WORK/exo_bh.json"'
printf 'unique_id,size\ns0,10000\ns1,20000\ns2,30000\n' > "$WORK/promo_static_big.csv"
"$NHITS" train --data "$WORK/promo.csv" --h 6 --max-steps 5 --mlp-units 16,16 --quiet --futr-exog-list promo --stat-exog-list size \
  --static-data "$WORK/promo_static_big.csv" --out "$WORK/big.safetensors" > /dev/null 2> "$WORK/big.txt"
check "train notes an unscaled static column far from unit scale" 'grep -q "static column .size. reaches 30000 and enters the network unscaled" "$WORK/big.txt"'
check "ONNX export of an exogenous model takes its inputs" \
  '"$NHITS" export --model "$WORK/exo.safetensors" --onnx "$WORK/x.onnx" --with-scaler 2> "$WORK/err.txt" && grep -q "hist_exog/futr_exog/stat_exog" "$WORK/err.txt" && [ -s "$WORK/x.onnx" ]'
cv_mae() { awk -F, 'NR > 1 {d = $4 - $5; s += d < 0 ? -d : d; n++} END {printf "%.4f", s / n}' "$1"; }
"$NHITS" cv --data "$WORK/promo.csv" "${EXO[@]}" --n-windows 4 --step-size 6 --out "$WORK/cv_plain.csv" > /dev/null
"$NHITS" cv --data "$WORK/promo.csv" "${EXO[@]}" --futr-exog-list promo --n-windows 4 --step-size 6 --out "$WORK/cv_exo.csv" > /dev/null
echo "cv MAE without / with the promo column: $(cv_mae "$WORK/cv_plain.csv") / $(cv_mae "$WORK/cv_exo.csv")"
check "cv: the futr column cuts the error at least in half" \
  'awk -v a="$(cv_mae "$WORK/cv_plain.csv")" -v b="$(cv_mae "$WORK/cv_exo.csv")" "BEGIN {exit !(b < 0.5 * a)}"'

# --local-scaler-type minmax is NeuralForecast(local_scaler_type="minmax"): the same as training on
# the series scaled to [0, 1] by hand (awk here) and scaling the forecasts back; predict does both.
read -r LO HI < <(awk -F, 'NR>1 {if (n++ == 0 || $3 < lo) lo = $3; if ($3 > hi) hi = $3} END {print lo, hi}' "$AIR")
awk -F, -v lo="$LO" -v hi="$HI" 'NR==1 {print; next} {printf "%s,%s,%.17g\n", $1, $2, ($3 - lo) / (hi - lo)}' "$AIR" > "$WORK/air01.csv"
LS=(--h 12 --input-size 24 --mlp-units 16,16 --max-steps 100 --windows-batch-size 64 --random-seed 3 --threads 1 --quiet)
"$NHITS" train --data "$AIR" "${LS[@]}" --local-scaler-type minmax --out "$WORK/local.safetensors" > /dev/null 2>&1
"$NHITS" train --data "$WORK/air01.csv" "${LS[@]}" --out "$WORK/by_hand.safetensors" > /dev/null 2>&1
"$NHITS" predict --model "$WORK/local.safetensors" --data "$AIR" --out "$WORK/local.csv" 2>/dev/null
"$NHITS" predict --model "$WORK/by_hand.safetensors" --data "$WORK/air01.csv" --out "$WORK/by_hand.csv" 2>/dev/null
"$NHITS" info --model "$WORK/local.safetensors" > "$WORK/local_info.txt"
check "train --local-scaler-type: the checkpoint keeps it" 'grep -q "\"local_scaler_type\":\"minmax\"" "$WORK/local_info.txt"'
check "train/predict --local-scaler-type minmax == the model of the hand-scaled series, scaled back" \
  'paste -d, "$WORK/local.csv" "$WORK/by_hand.csv" | awk -F, -v lo="$LO" -v hi="$HI" \
     "NR>1 {want = \$6 * (hi - lo) + lo; d = \$3 - want; if (d < 0) d = -d; if (d > 1e-5 * want || want < 100) bad = 1; n++}
      END {exit bad || n != 12}"'

# An imported local_scaler_type model quantises on locally scaled windows, as predict feeds it:
# its INT8 forecasts stay next to neuralforecast's own (the parity fixture's expected.csv).
LOCALFX=$2/tests/fixtures/parity/exog_local_robust_iqr_mqloss
"$NHITS" quantize --model "$LOCALFX/model.safetensors" --calibration "$LOCALFX/input.csv" --out "$WORK/lq.safetensors" > /dev/null 2>&1
"$NHITS" predict --model "$WORK/lq.safetensors" --data "$LOCALFX/input.csv" --futr-data "$LOCALFX/futr.csv" --out "$WORK/lq.csv" 2>/dev/null
check "quantize + predict a local_scaler_type model: INT8 within 0.5% of neuralforecast" \
  'paste -d, "$WORK/lq.csv" "$LOCALFX/expected.csv" | awk -F, "NR>1 {for (k = 3; k <= 5; k++) {d = \$k - \$(k + 5); if (d < 0) d = -d; if (d > 5e-3 * \$(k + 5)) bad = 1}; n++} END {exit bad || n != 18}"'

# Categorical columns (parity fixture from neuralforecast): INT8 calibrates on the coded, embedded
# windows and stays next to neuralforecast's forecast; export says its inputs hold codes (onnx_test
# runs the graph); batch codes the labels as predict does and equals neuralforecast's forecast.
CATFX=$2/tests/fixtures/parity/exog_categorical_standard
"$NHITS" quantize --model "$CATFX/model.safetensors" --calibration "$CATFX/input.csv" --static-data "$CATFX/static.csv" \
  --out "$WORK/cq.safetensors" > /dev/null 2>&1
"$NHITS" predict --model "$WORK/cq.safetensors" --data "$CATFX/input.csv" --futr-data "$CATFX/futr.csv" \
  --static-data "$CATFX/static.csv" --out "$WORK/cq.csv" 2>/dev/null
check "quantize + predict a categorical model: INT8 within 0.5% of neuralforecast" \
  'paste -d, "$WORK/cq.csv" "$CATFX/expected.csv" | awk -F, "NR>1 {d = \$3 - \$6; if (d < 0) d = -d; if (d > 5e-3 * \$6) bad = 1; n++} END {exit bad || n != 18}"'
"$NHITS" export --model "$CATFX/model.safetensors" --onnx "$WORK/cat.onnx" > "$WORK/cat_export.txt" 2>&1
check "export of a categorical model notes that its inputs are codes" \
  'grep -q "values in hist_exog/futr_exog/stat_exog are" "$WORK/cat_export.txt" && [ -s "$WORK/cat.onnx" ]'
printf "unique_id,asset_class\ns0,equity\ns1,equity\ns2,fx\n" > "$WORK/cat_universe.csv"
"$NHITS" batch --model c="$CATFX/model.safetensors" --data "$CATFX/input.csv" --futr-data "$CATFX/futr.csv" \
  --static-data "$CATFX/static.csv" --universe "$WORK/cat_universe.csv" --out "$WORK/cat_batch.csv" > /dev/null 2>&1
check "batch with a categorical model equals neuralforecast's forecast (1e-5)" \
  'paste -d, <(tail -n +2 "$WORK/cat_batch.csv" | sort) <(tail -n +2 "$CATFX/expected.csv" | sort) | awk -F, \
     "{d = \$5 - \$11; if (d < 0) d = -d; if (\$1 != \$9 || \$4 != \$10 || \$6 != \"ok\" || d > 1e-5 * \$11) bad = 1; n++} END {exit bad || n != 18}"'

# Training categorical columns on the fixture's data, with the fixture's configuration: the
# vocabulary built from the file equals the one NeuralForecast.fit built (in the fixture's
# checkpoint), the parameter count includes the embedding tables as neuralforecast's does, and
# predict and cv run the trained model, an unseen futr label ("sale") included.
"$NHITS" train --data "$CATFX/input.csv" --static-data "$CATFX/static.csv" --h 6 --input-size 18 \
  --mlp-units "32,32;32,32;32,32" --futr-exog-list event,promo --hist-exog-list volume,regime --stat-exog-list size,region \
  --cat-exog-list event,regime,region --scaler-type standard --max-steps 100 --val-size 6 --quiet \
  --out "$WORK/ct.safetensors" > /dev/null 2>&1
"$NHITS" info --model "$WORK/ct.safetensors" > "$WORK/ct_info.txt"
"$NHITS" info --model "$CATFX/model.safetensors" > "$WORK/cf_info.txt"
vocab() { grep -o '"categorical_vocab":{[^}]*}' "$1"; }
check "train --cat-exog-list: the vocabulary equals neuralforecast's" \
  '[ -n "$(vocab "$WORK/ct_info.txt")" ] && [ "$(vocab "$WORK/ct_info.txt")" = "$(vocab "$WORK/cf_info.txt")" ]'
check "train --cat-exog-list: the parameter count equals neuralforecast's, tables included" \
  '[ "$(grep ^parameters "$WORK/ct_info.txt")" = "$(grep ^parameters "$WORK/cf_info.txt")" ]'
"$NHITS" predict --model "$WORK/ct.safetensors" --data "$CATFX/input.csv" --futr-data "$CATFX/futr.csv" \
  --static-data "$CATFX/static.csv" --out "$WORK/ct.csv" 2> "$WORK/ct_predict.txt"
check "predict names the futr label the fit never saw" \
  'grep -q "futr.csv: column .event. has labels the model.s fit never saw (.crash.)" "$WORK/ct_predict.txt"'
check "predict with the trained categorical model: 18 finite forecasts" \
  'awk -F, "NR>1 {if (\$3 != \$3 + 0 || \$3 == \"nan\") bad = 1; n++} END {exit bad || n != 18}" "$WORK/ct.csv"'
"$NHITS" cv --data "$CATFX/input.csv" --static-data "$CATFX/static.csv" --h 6 --input-size 18 --mlp-units 32,32 \
  --futr-exog-list event,promo --hist-exog-list volume,regime --stat-exog-list size,region --cat-exog-list event,region \
  --max-steps 50 --n-windows 2 --step-size 6 --quiet --out "$WORK/ct_cv.csv" > /dev/null 2>&1
check "cv --cat-exog-list: 2 windows x 6 steps x 3 series" '[ "$(wc -l < "$WORK/ct_cv.csv")" = 37 ]'

# plot scales a local_scaler_type model's series as predict does: the forecast is drawn in the
# history's units (in the scaled ones it would sit far below the history, near 0).
"$NHITS" plot --model "$LOCALFX/model.safetensors" --data "$LOCALFX/input.csv" --futr-data "$LOCALFX/futr.csv" \
  --out "$WORK/local.svg" 2>/dev/null
svg_y() { grep -o "class=\"$1\" d=\"[^\"]*\"" "$WORK/local.svg" | head -1 | grep -o ",[0-9.]*" | tr -d ,; }
check "plot a local_scaler_type model: the forecast lies among the history's values" \
  'awk -v lo="$(svg_y history | sort -n | head -1)" -v hi="$(svg_y history | sort -n | tail -1)" \
     "{if (\$1 < lo - 0.1 * (hi - lo) || \$1 > hi + 0.1 * (hi - lo)) bad = 1; n++} END {exit bad || n != 6}" <(svg_y forecast)'

# A sample_weight column (neuralforecast's) weighs the training windows: all zero leaves no loss.
awk -F, 'NR==1 {print $0 ",sample_weight"; next} {print $0 ",0"}' "$AIR" > "$WORK/air_w0.csv"
"$NHITS" train --data "$WORK/air_w0.csv" --h 12 --input-size 24 --mlp-units 16,16 --max-steps 50 --out "$WORK/w0.safetensors" > "$WORK/w0.txt" 2>&1
check "train: a sample_weight column is used (all zero: no loss)" \
  'grep -q "weighting the training windows by the sample_weight column" "$WORK/w0.txt" && grep -q "train_loss 0 " "$WORK/w0.txt"'
"$NHITS" info --model "$WORK/w0.safetensors" > "$WORK/w0info.txt"
check "info says the weights were trained with sample_weight" 'grep -q "^sample_weight .*the sample_weight column of" "$WORK/w0info.txt"'

# An available_mask column (neuralforecast's) marks missing points: 12 months left empty train,
# predict and cv; cv leaves their y empty and scores only windows whose truths are all observed;
# plot refuses to draw placeholders.
awk -F, 'NR==1 {print $0 ",available_mask"; next} {m = (NR >= 42 && NR < 54) ? 0 : 1; print $1 "," $2 "," (m ? $3 : "") "," m}' \
  "$AIR" > "$WORK/air_gap.csv"
"$NHITS" train --data "$WORK/air_gap.csv" --h 12 --input-size 24 --mlp-units 16,16 --max-steps 30 \
  --training-data-availability-threshold 1.0,0.5 --out "$WORK/gap.safetensors" > "$WORK/gap.txt" 2>&1
check "train: available_mask 0 marks 12 of 144 points missing" 'grep -q "available_mask marks 12 of 144 points missing" "$WORK/gap.txt"'
"$NHITS" info --model "$WORK/gap.safetensors" > "$WORK/gapinfo.txt"
check "info keeps the availability threshold" 'grep -qF "\"training_data_availability_threshold\":[1.0,0.5]" "$WORK/gapinfo.txt"'
"$NHITS" predict --model "$WORK/gap.safetensors" --data "$WORK/air_gap.csv" --out "$WORK/gap_fc.csv" 2>/dev/null
check "predict from data with missing points: 12 finite forecasts" \
  '[ "$(awk -F, "NR > 1 && \$3 + 0 == \$3" "$WORK/gap_fc.csv" | wc -l)" = 12 ]'
# The last 6 months missing: predict says the window ends in missing points, and since when.
awk -F, 'NR==1 {print $0 ",available_mask"; next} {m = NR < 140; print $1 "," $2 "," (m ? $3 : "") "," m}' "$AIR" > "$WORK/air_tail.csv"
"$NHITS" predict --model "$WORK/gap.safetensors" --data "$WORK/air_tail.csv" --out "$WORK/tail_fc.csv" 2> "$WORK/tail.txt"
check "predict notes a window that ends in missing points" \
  'grep -q "misses its last 6 points (last observed 1960-06-30)" "$WORK/tail.txt"'
"$NHITS" cv --data "$WORK/air_gap.csv" --h 12 --input-size 24 --mlp-units 16,16 --max-steps 10 --n-windows 3 \
  --step-size 46 --out "$WORK/gap_cv.csv" --quiet > "$WORK/gap_cv.txt" 2>&1
check "cv with missing points: the window with missing truths unscored (y empty), the others scored" \
  'grep -q "^1 of 3 windows have a missing target" "$WORK/gap_cv.txt" && grep -q "^| NHITS |" "$WORK/gap_cv.txt" && [ "$(grep -c ",$" "$WORK/gap_cv.csv")" = 12 ]'
check "plot refuses to draw placeholders" \
  '! "$NHITS" plot --model "$WORK/gap.safetensors" --data "$WORK/air_gap.csv" --out "$WORK/gap.svg" 2> "$WORK/gap_plot.txt" && grep -q "has a missing point (available_mask 0) at ds 1952-05-31" "$WORK/gap_plot.txt"'

for cmd in train predict cv info plot demo quantize bench serve loadgen batch benchmark; do
  # Through a file: grep -q stops reading early and, under pipefail, a long help would fail on SIGPIPE.
  "$NHITS" $cmd --help > "$WORK/help.txt"
  check "$cmd --help" 'grep -q -- "--" "$WORK/help.txt"'
done
# benchmark's input size defaults to its multiplier (5*h, the paper's), not train's 3*h.
"$NHITS" benchmark --help > "$WORK/benchmark_help.txt"
check "benchmark --help states its own input-size default" \
  'grep -F -- "--input-size INT" "$WORK/benchmark_help.txt" | grep -qF "default: --input-size-multiplier * h"'
# hw: the cores a pinned process may use, and the profile sized to them.
if command -v taskset > /dev/null; then
  taskset -c 0 "$NHITS" hw --profile balanced > "$WORK/hw1.txt"
  check "hw under taskset -c 0: 1 usable core, balanced gets 1 worker" \
    'grep -q "1 usable by this process" "$WORK/hw1.txt" && grep -q "profile      balanced: workers 1 x threads 1" "$WORK/hw1.txt"'
fi
"$NHITS" hw --profile memory-efficient > "$WORK/hw_me.txt"
check "hw: the memory-efficient profile keeps no cache and no panels" \
  'grep -q "cache off (0 MiB), small-batch panels off" "$WORK/hw_me.txt"'
# cuBLASLt is opened only when a CUDA path starts: a CPU process must not load it (~145 MB).
if "$NHITS" --version | grep -q "CUDA backend compiled in"; then
  check "the CLI does not link cuBLASLt" '! ldd "$NHITS" | grep -q libcublasLt'
fi
echo "all CLI checks passed"
