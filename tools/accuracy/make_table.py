"""Turns `nhits benchmark --out rows.json` into the markdown tables of docs/ACCURACY.md.

Usage: python3 tools/accuracy/make_table.py rows.json [nf_rows.jsonl]
The optional second file holds one JSON line per neuralforecast run from
tools/accuracy/nf_long_horizon.py; matching (dataset, h) rows get neuralforecast's MSE/MAE,
training time and the speed ratio beside ours. Standard library only.
"""
import json
import sys

# neuralforecast's own NHITS reruns (experiments/long_horizon/README.md in Nixtla/neuralforecast).
RERUN_MSE = {("ETTh1", 96): 0.378, ("ETTh1", 192): 0.427, ("ETTh1", 336): 0.458, ("ETTh1", 720): 0.561,
             ("ETTh2", 96): 0.274, ("ETTh2", 192): 0.353, ("ETTh2", 336): 0.382, ("ETTh2", 720): 0.625}


def main():
    rows = json.load(open(sys.argv[1]))
    nf = {}
    if len(sys.argv) > 2:
        for line in open(sys.argv[2]):
            if line.strip():
                r = json.loads(line)
                nf[(r["dataset"], r["h"])] = r
    within10 = cells = 0
    worst = 0.0
    for dataset in dict.fromkeys(r["dataset"] for r in rows):
        print(f"\n### {dataset}\n")
        print("| h | MSE | MAE | paper MSE | ours/paper | published rerun MSE | SeasonalNaive MSE | Naive MSE "
              "| steps | train s | steps/s |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for r in (r for r in rows if r["dataset"] == dataset):
            paper = r.get("paper_mse")
            ratio = f"{r['mse'] / paper:.3f}" if paper else "-"
            if paper:
                cells += 1
                within10 += abs(r["mse"] / paper - 1) <= 0.10
                worst = max(worst, r["mse"] / paper - 1)
            rerun = RERUN_MSE.get((dataset, r["h"]))
            print(f"| {r['h']} | {r['mse']:.4f} | {r['mae']:.4f} | {paper if paper else '-'} | {ratio} | "
                  f"{rerun if rerun else '-'} | {r['seasonal_naive_mse']:.4f} | {r['naive_mse']:.4f} | {r['steps']} | "
                  f"{r['train_seconds']:.0f} | {r['steps_per_second']:.2f} |")
    if cells:
        print(f"\nPaper cells within 10%: {within10} of {cells}; worst excess {100 * worst:.1f}%.")
    if nf:
        print("\n### Beside neuralforecast (same protocol, seed and step budget)\n")
        print("| dataset | h | ours MSE | nf MSE | ours MAE | nf MAE | ours steps | nf steps | ours train s | nf train s "
              "| ours steps/s | nf steps/s | speed ratio |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            n = nf.get((r["dataset"], r["h"]))
            if not n:
                continue
            print(f"| {r['dataset']} | {r['h']} | {r['mse']:.4f} | {n['mse']:.4f} | {r['mae']:.4f} | {n['mae']:.4f} | "
                  f"{r['steps']} | {n['steps']} | {r['train_seconds']:.0f} | {n['fit_seconds']:.0f} | "
                  f"{r['steps_per_second']:.2f} | {n['steps_per_second']:.2f} | "
                  f"{r['steps_per_second'] / n['steps_per_second']:.2f}x |")


if __name__ == "__main__":
    main()
