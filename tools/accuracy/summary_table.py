"""The acceptance view of docs/ACCURACY.md: one line per paper cell (and per ETTh cell against
SeasonalNaive), taking the search row where one exists (the last file given wins) and run A's row
otherwise. A search row says which search it came from: the paper's protocol, or the space of
neuralforecast's ETT reruns.

Rows of neuralforecast's AutoNHITS space (search_space "neuralforecast-auto", session 9) never
replace a row by the order of the files: where a cell has both a paper-protocol row and an
AutoNHITS row, the one with the lower validation MAE counts (one search over both spaces' trials,
chosen on validation; both score every validation window, stride 1).

Usage: python3 tools/accuracy/summary_table.py RUN_A_ROWS.json SEARCH_ROWS.json [...]
Standard library only.
"""
import json
import sys


def source(row):
    if row.get("search_space") == "neuralforecast-auto":
        return "AutoNHITS space"
    if row.get("search_space") == "neuralforecast-ett":
        return "nf ETT-rerun search"
    if not row["config"].get("first_layer_activation"):
        return "paper loop, nf MLP (superseded)"
    return "paper protocol"


def pick_by_validation(base, auto):
    """The union of a paper-protocol search and an AutoNHITS search, chosen on validation only."""
    if auto is None:
        return base
    if base is None or source(base) != "paper protocol":
        return base or auto
    assert base["val_stride"] == auto["val_stride"] == 1, "validation MAE must cover the same windows"
    return auto if auto["val_mae"] < base["val_mae"] else base


def load_search_rows(paths):
    """The complete search rows of the files, by cell: (paper-protocol or ETT-rerun rows, AutoNHITS rows);
    for a cell in several files the last file wins."""
    search, auto = {}, {}
    for path in paths:
        for r in json.load(open(path)):
            if r.get("trials") and r.get("complete", True):
                (auto if r.get("search_space") == "neuralforecast-auto" else search)[(r["dataset"], r["h"])] = r
    return search, auto


def cell_line(row):
    return f"{row['mse']:.4f}" if row else "-"


def main():
    run_a = {(r["dataset"], r["h"]): r for r in json.load(open(sys.argv[1]))}
    search, auto = load_search_rows(sys.argv[2:])
    before = dict(search)  # the rule of sessions 6-8, shown beside the counted row
    for k in set(search) | set(auto):
        search[k] = pick_by_validation(search.get(k), auto.get(k))
    cells = [k for k in run_a if run_a[k].get("paper_mse")]

    def counted(rows, k):
        p = rows.get(k)
        return (p, source(p)) if p else (run_a[k], "run A")

    def tally(rows):
        within, worst = 0, 0.0
        for k in cells:
            ratio = counted(rows, k)[0]["mse"] / run_a[k]["paper_mse"]
            within += abs(ratio - 1) <= 0.10
            worst = max(worst, ratio - 1)
        return within, worst

    print("| dataset | h | MSE counted | from | paper MSE | ratio | run A MSE | paper-protocol search MSE | "
          "AutoNHITS search MSE |")
    print("|---|---|---|---|---|---|---|---|---|")
    for k in cells:
        row, src = counted(search, k)
        print(f"| {k[0]} | {k[1]} | {row['mse']:.4f} | {src} | {row['paper_mse']} | {row['mse'] / row['paper_mse']:.3f} | "
              f"{run_a[k]['mse']:.4f} | {cell_line(before.get(k))} | {cell_line(auto.get(k))} |")
    within, worst = tally(search)
    print(f"\nWithin 10% of the paper: {within} of {len(cells)}; worst excess {100 * worst:.1f}%.")
    if auto:
        within, worst = tally(before)
        print(f"(Without the AutoNHITS rows, the rule of sessions 6-8: {within} of {len(cells)}; "
              f"worst excess {100 * worst:.1f}%.)")
    print("\n| dataset | h | MSE counted | from | SeasonalNaive MSE | beats it | paper-protocol search MSE | "
          "AutoNHITS search MSE |")
    print("|---|---|---|---|---|---|---|---|")
    for k in run_a:
        if run_a[k].get("paper_mse"):
            continue
        row, src = counted(search, k)
        beats = "yes" if row["mse"] < row["seasonal_naive_mse"] else "**no**"
        print(f"| {k[0]} | {k[1]} | {row['mse']:.4f} | {src} | {row['seasonal_naive_mse']:.4f} | {beats} | "
              f"{cell_line(before.get(k))} | {cell_line(auto.get(k))} |")


if __name__ == "__main__":
    main()
