"""Adds to every trial of `nhits benchmark --search` rows written before trials recorded their
whole configuration (before 2026-11-30) the fields that `--resume` matches on, so those searches
can be extended instead of retrained.

A trial's configuration is the chosen trial's (the row's "config") with the drawn fields replaced:
pooling, downsampling, seed, learning rate and steps. That is exact for both search spaces: every
other field is fixed by the protocol for the whole search. Under the paper protocol the
validation check interval follows max_steps (max_steps + 1), which the paper's space never draws.
early_stopped is false (neither protocol stops early); best_val_loss is the row's for the chosen
trial and unknown (null) for the others.

Usage: python3 tools/accuracy/backfill_trial_configs.py rows.json [...]   (rewritten in place)
Standard library only.
"""
import json
import os
import sys

DRAWN = ("n_pool_kernel_size", "n_freq_downsample", "random_seed", "learning_rate", "max_steps")


def backfill(row):
    base = row["config"]
    chosen = min(row["trials"], key=lambda t: t["val_mae"])
    changed = 0
    for t in row["trials"]:
        if "config" in t:
            continue
        cfg = dict(base)
        for k in DRAWN:
            cfg[k] = t[k]
        if row.get("search_space", "paper") == "paper" and base["val_check_steps"] == base["max_steps"] + 1:
            cfg["val_check_steps"] = t["max_steps"] + 1
        t["early_stopped"] = False
        t["best_val_loss"] = row["best_val_loss"] if t is chosen else None
        t["config"] = cfg
        changed += 1
    return changed


def main():
    for path in sys.argv[1:]:
        rows = json.load(open(path))
        n = sum(backfill(r) for r in rows if r.get("trials"))
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(rows, f, indent=1)
            f.write("\n")
        os.replace(tmp, path)
        print(f"{path}: {n} trial(s) given their configuration")


if __name__ == "__main__":
    main()
