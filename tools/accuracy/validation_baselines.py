"""Could validation have known? For every counted cell of docs/ACCURACY.md: the chosen model's
validation MAE beside Naive's and SeasonalNaive's on the same validation windows, and the test
MSEs beside each other. Where validation already ranks a baseline above the chosen model, a loss
to it on test is what the protocol predicted; where validation ranks the model first and test
reverses it, the validation period did not foresee the test period.

The baselines are recomputed here in float64 from the raw files, independently of the C++ code
(splits, standardisation with the training split's mean and population std, windows of stride
1), and the test baselines are checked against the rows' `seasonal_naive_mse` and `naive_mse`.

Usage (from the repository root; needs numpy, e.g. the neuralforecast venv's python):
  python tools/accuracy/validation_baselines.py [--data-dir ../shared/data/long_horizon]
"""
import argparse
import csv
import gzip
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fill_accuracy_doc import row_files  # noqa: E402
from summary_table import load_search_rows, pick_by_validation, source  # noqa: E402

# name: (file, (train, val, test) rows or None for Autoformer's 70/10/20, season length)
DATASETS = {
    "ETTh1": ("raw/ETTh1.csv.gz", (8640, 2880, 2880), 24),
    "ETTh2": ("raw/ETTh2.csv.gz", (8640, 2880, 2880), 24),
    "ETTm2": ("raw/ETTm2.csv.gz", (34560, 11520, 11520), 96),
    "Exchange": ("raw/exchange_rate.csv", None, 7),
    "ILI": ("raw/national_illness.csv", None, 52),
    "Weather": ("raw/weather.csv.gz", None, 144),
}


def load_standardised(path, split):
    with (gzip.open if path.endswith(".gz") else open)(path, "rt") as f:
        rows = list(csv.reader(f))[1:]
    x = np.array([[float(v) for v in r[1:]] for r in rows])
    if split is None:
        n = len(x)
        train, test = int(n * 0.7), int(n * 0.2)
        split = (train, n - train - test, test)
    x = x[: sum(split)]
    train = x[: split[0]]
    sd = train.std(0)
    sd[sd == 0] = 1  # a constant channel is only centred, as the C++ does
    return (x - train.mean(0)) / sd, split


def baselines(z, first, end, h, m):
    """Naive and SeasonalNaive(m) MAE and MSE over every window whose targets lie in [first, end)."""
    starts = np.arange(first, end - h + 1)
    j = np.arange(h)
    truth = z[starts[:, None] + j]                             # [windows, h, channels]
    naive = z[starts - 1][:, None, :]
    seasonal_index = starts[:, None] - m + (j % m)[None, :]
    seasonal = z[np.where(seasonal_index >= 0, seasonal_index, starts[:, None] - 1)]
    out = {}
    for name, f in (("naive", naive), ("snaive", seasonal)):
        e = f - truth
        out[name + "_mae"], out[name + "_mse"] = float(np.abs(e).mean()), float((e * e).mean())
    return out


def counted_rows():
    """The row each cell counts, by summary_table.py's rule (search rows, AutoNHITS by validation)."""
    run_a = {(r["dataset"], r["h"]): r for r in json.load(open("docs/accuracy/rows.json"))}
    nfett, paper, auto_files = row_files()
    search, auto = load_search_rows(nfett + paper + auto_files)
    out = {}
    for k in run_a:
        row = pick_by_validation(search.get(k), auto.get(k))
        out[k] = (row, source(row)) if row else (run_a[k], "run A")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", default="../shared/data/long_horizon")
    args = ap.parse_args()
    cells = counted_rows()
    print("| dataset | h | from | val MAE: model | SeasonalNaive | Naive | validation ranks first | "
          "test MSE: model | SeasonalNaive | Naive | test ranks first |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    mismatches = 0
    for name, (file, split, m) in DATASETS.items():
        z, split = load_standardised(os.path.join(args.data_dir, file), split)
        for (dataset, h), (row, src) in cells.items():
            if dataset != name:
                continue
            val = baselines(z, split[0], split[0] + split[1], h, m)
            test = baselines(z, split[0] + split[1], sum(split), h, m)
            for ours, theirs in ((test["snaive_mse"], row["seasonal_naive_mse"]), (test["naive_mse"], row["naive_mse"])):
                if row.get("test_stride", 1) == 1 and abs(ours - theirs) > 1e-6 * max(1.0, abs(ours)):
                    mismatches += 1
                    print(f"MISMATCH {dataset} {h}: test baseline {ours} here, {theirs} in the row", file=sys.stderr)
            if row.get("val_stride", 1) != 1:
                val_model = "-"  # run A scored validation at stride 4: not the same windows
                val_first = "-"
            else:
                val_model = f"{row['val_mae']:.4f}"
                scores = {"model": row["val_mae"], "SeasonalNaive": val["snaive_mae"], "Naive": val["naive_mae"]}
                val_first = min(scores, key=scores.get)
            test_scores = {"model": row["mse"], "SeasonalNaive": test["snaive_mse"], "Naive": test["naive_mse"]}
            print(f"| {dataset} | {h} | {src} | {val_model} | {val['snaive_mae']:.4f} | {val['naive_mae']:.4f} | "
                  f"{val_first} | {row['mse']:.4f} | {test['snaive_mse']:.4f} | {test['naive_mse']:.4f} | "
                  f"{min(test_scores, key=test_scores.get)} |")
    if mismatches:
        sys.exit(f"{mismatches} test baselines differ from the rows'")


if __name__ == "__main__":
    main()
