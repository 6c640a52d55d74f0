#!/usr/bin/env python3
"""Training with a future-known exogenous column, here and in neuralforecast (NOT run by CI).

Data: 4 series of 300 points, y = 10 + s + 2 sin(2 pi t / 12) + 4 promo_t + N(0, 0.1), promo_t
Bernoulli(0.3): the promotions cannot be predicted from y's history, only known in advance. Both
sides run the same rolling-origin cross-validation (refit=False: one fit, 4 windows of h=6,
step 6) with the same configuration and seeds, once without and once with
futr_exog_list=["promo"], and the script prints one markdown row per (exog, seed): MAE of each
side and the fit wall time.

Usage: /work/venv-nf/bin/python tools/compare_exog_nf.py [--nhits build/release/bin/nhits] [--seeds 1,2,3]
"""
import argparse
import json
import logging
import os
import subprocess
import tempfile
import time
import warnings

warnings.filterwarnings("ignore")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
for _n in ("pytorch_lightning", "lightning", "lightning.pytorch", "lightning_fabric"):
    logging.getLogger(_n).setLevel(logging.ERROR)

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
from neuralforecast import NeuralForecast  # noqa: E402
from neuralforecast.models import NHITS  # noqa: E402

H, L, STEPS, WINDOWS = 6, 24, 300, 4


def promo_data(seed=42):
    rng = np.random.default_rng(seed)
    frames = []
    for s in range(4):
        t = np.arange(300)
        promo = (rng.random(300) < 0.3).astype(float)
        y = 10 + s + 2 * np.sin(2 * np.pi * t / 12) + 4 * promo + rng.normal(0, 0.1, 300)
        frames.append(pd.DataFrame({"unique_id": f"s{s}", "ds": t + 1, "y": y.round(4), "promo": promo}))
    return pd.concat(frames, ignore_index=True)


def ours(binary, path, seed, exog):
    cmd = [binary, "cv", "--data", path, "--h", str(H), "--input-size", str(L), "--mlp-units", "32,32;32,32",
           "--max-steps", str(STEPS), "--windows-batch-size", "256", "--scaler-type", "standard",
           "--n-windows", str(WINDOWS), "--step-size", str(H), "--random-seed", str(seed), "--threads", "2",
           "--quiet", "--out", path + ".cv.csv"]
    if exog:
        cmd += ["--futr-exog-list", "promo"]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    wall = time.perf_counter() - t0
    cv = pd.read_csv(path + ".cv.csv")
    return float(np.mean(np.abs(cv["NHITS"] - cv["y"]))), wall


def theirs(df, seed, exog):
    torch.set_num_threads(2)
    model = NHITS(h=H, input_size=L, mlp_units=[[32, 32], [32, 32]], max_steps=STEPS, windows_batch_size=256,
                  scaler_type="standard", random_seed=seed, futr_exog_list=["promo"] if exog else None,
                  accelerator="cpu", enable_progress_bar=False, logger=False, enable_model_summary=False,
                  enable_checkpointing=False)
    nf = NeuralForecast(models=[model], freq=1)
    t0 = time.perf_counter()
    cv = nf.cross_validation(df=df if exog else df[["unique_id", "ds", "y"]], n_windows=WINDOWS, step_size=H)
    wall = time.perf_counter() - t0
    return float(np.mean(np.abs(cv["NHITS"] - cv["y"]))), wall


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nhits", default="build/release/bin/nhits")
    ap.add_argument("--seeds", default="1,2,3")
    args = ap.parse_args()
    df = promo_data()
    print("| futr_exog_list | seed | ours MAE | neuralforecast MAE | ours s | neuralforecast s |")
    print("|---|---|---|---|---|---|")
    rows = []
    with tempfile.TemporaryDirectory() as work:
        path = os.path.join(work, "promo.csv")
        df.to_csv(path, index=False)
        for exog in (False, True):
            for seed in [int(s) for s in args.seeds.split(",")]:
                a, ta = ours(args.nhits, path, seed, exog)
                b, tb = theirs(df, seed, exog)
                rows.append({"exog": exog, "seed": seed, "ours_mae": a, "nf_mae": b, "ours_s": ta, "nf_s": tb})
                print(f"| {'[promo]' if exog else '-'} | {seed} | {a:.4f} | {b:.4f} | {ta:.1f} | {tb:.1f} |", flush=True)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
