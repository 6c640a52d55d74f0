"""Prints the trials of `nhits benchmark --search N --out rows.json` as markdown, one table per
(dataset, horizon): each trial's configuration, validation MAE and test MSE, the chosen one (lowest
validation MAE) in bold. The test column is shown to judge the choice, never used to make it.

Usage: python3 tools/accuracy/search_trials.py rows.json [rows2.json ...]
Standard library only.
"""
import json
import sys


def fmt_list(v):
    return "[" + ",".join(str(x) for x in v) + "]"


def main():
    for path in sys.argv[1:]:
        for row in json.load(open(path)):
            trials = row.get("trials")
            if not trials or not row.get("complete", True):  # an interrupted search
                continue
            paper = row.get("paper_mse")
            ref = f"paper {paper}" if paper else f"SeasonalNaive {row['seasonal_naive_mse']:.4f}"
            space = row.get("search_space", "paper")
            mlp = "paper MLP" if row["config"].get("first_layer_activation") else "neuralforecast MLP"
            print(f"\n{row['dataset']} h={row['h']} ({space} search, {mlp}, {len(trials)} trials, search seed "
                  f"{row['search_seed']}, {row['search_seconds'] / 60:.0f} min; {ref})\n")
            auto = "input_size" in trials[0]  # the AutoNHITS space draws these too
            extra_head = " input | step size | windows | scaler |" if auto else ""
            print("| pooling | downsample |" + extra_head + " seed | lr | steps | validation MAE | test MSE | train s |")
            print("|---|---|---|---|---|---|---|---|" + ("---|" * 4 if auto else ""))
            best = min(trials, key=lambda t: t["val_mae"])
            for t in trials:
                b = "**" if t is best else ""
                extra = (f" {t['input_size']} | {t['step_size']} | {t['windows_batch_size']} | {t['scaler_type']} |"
                         if auto else "")
                print(f"| {fmt_list(t['n_pool_kernel_size'])} | {fmt_list(t['n_freq_downsample'])} |{extra} "
                      f"{t['random_seed']} | {t.get('learning_rate', row['config']['learning_rate']):.3g} | "
                      f"{t.get('max_steps', row['config']['max_steps'])} | {b}{t['val_mae']:.4f}{b} | {b}{t['test_mse']:.4f}{b} | "
                      f"{t['train_seconds']:.0f} |")
            best_test = min(t["test_mse"] for t in trials)
            rank = sorted(t["test_mse"] for t in trials).index(best["test_mse"]) + 1
            print(f"\nchosen: test MSE {best['test_mse']:.4f}, rank {rank} of {len(trials)} by test "
                  f"(best test {best_test:.4f})")


if __name__ == "__main__":
    main()
