#!/usr/bin/env python3
"""DistributionLoss training here and in neuralforecast, side by side (NOT run by CI).

Data: 4 series of 400 points, y = 10 + 2 s + 3 sin(2 pi t / 24 + s) + noise, the noise Student-t
with 4 degrees of freedom scaled by 0.3, 0.6, 1.2 and 2.4 (one per series): the intervals must
widen with the series. Both sides run the same rolling-origin cross-validation (refit=False: one
fit, 4 windows of h=12, step 12) with the same configuration and seeds, DistributionLoss with
return_params, and the script prints one markdown row per (distribution, seed): MAE of the mean,
the mean negative log-likelihood of the truths under each side's returned parameters (computed
here with scipy, the same way for both), the 80% and 90% interval coverage, and the fit wall time.
neuralforecast's quantile columns are 1000-draw estimates; ours are exact.

Usage: /work/venv-nf/bin/python tools/compare_distribution_nf.py [--nhits build/release/bin/nhits] [--seeds 1,2,3]
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
from neuralforecast.losses.pytorch import DistributionLoss  # noqa: E402
from neuralforecast.models import NHITS  # noqa: E402
from scipy import stats  # noqa: E402

H, L, STEPS, WINDOWS, LEVELS = 12, 48, 500, 4, [80, 90]


def noisy_data(seed=7):
    rng = np.random.default_rng(seed)
    frames = []
    for s, sd in enumerate([0.3, 0.6, 1.2, 2.4]):
        t = np.arange(400)
        y = 10 + 2 * s + 3 * np.sin(2 * np.pi * t / 24 + s) + sd * rng.standard_t(4, 400)
        frames.append(pd.DataFrame({"unique_id": f"s{s}", "ds": t + 1, "y": y.round(4)}))
    return pd.concat(frames, ignore_index=True)


def scores(cv, distribution):
    """MAE of the mean, mean NLL from the returned parameters, 80%/90% coverage."""
    y, loc, scale = cv["y"].to_numpy(), cv["NHITS-loc"].to_numpy(), cv["NHITS-scale"].to_numpy()
    if distribution == "StudentT":
        nll = -stats.t.logpdf(y, cv["NHITS-df"].to_numpy(), loc=loc, scale=scale)
    else:
        nll = -stats.norm.logpdf(y, loc=loc, scale=scale)
    cover = [float(np.mean((cv[f"NHITS-lo-{lv}"] <= y) & (y <= cv[f"NHITS-hi-{lv}"]))) for lv in LEVELS]
    return {"mae": float(np.mean(np.abs(cv["NHITS"] - y))), "nll": float(np.mean(nll)),
            "cover80": cover[0], "cover90": cover[1]}


def ours(binary, path, seed, distribution):
    cmd = [binary, "cv", "--data", path, "--h", str(H), "--input-size", str(L), "--mlp-units", "64,64;64,64",
           "--max-steps", str(STEPS), "--windows-batch-size", "256", "--scaler-type", "robust",
           "--loss", "DistributionLoss", "--distribution", distribution, "--level", ",".join(map(str, LEVELS)),
           "--return-params", "--n-windows", str(WINDOWS), "--step-size", str(H), "--random-seed", str(seed),
           "--threads", "2", "--quiet", "--out", path + ".cv.csv"]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    wall = time.perf_counter() - t0
    return scores(pd.read_csv(path + ".cv.csv"), distribution), wall


def theirs(df, seed, distribution):
    torch.set_num_threads(2)
    model = NHITS(h=H, input_size=L, mlp_units=[[64, 64], [64, 64]], max_steps=STEPS, windows_batch_size=256,
                  scaler_type="robust", random_seed=seed,
                  loss=DistributionLoss(distribution, level=LEVELS, return_params=True),
                  accelerator="cpu", enable_progress_bar=False, logger=False, enable_model_summary=False,
                  enable_checkpointing=False)
    nf = NeuralForecast(models=[model], freq=1)
    t0 = time.perf_counter()
    cv = nf.cross_validation(df=df, n_windows=WINDOWS, step_size=H)
    wall = time.perf_counter() - t0
    return scores(cv, distribution), wall


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nhits", default="build/release/bin/nhits")
    ap.add_argument("--seeds", default="1,2,3")
    args = ap.parse_args()
    df = noisy_data()
    print("| distribution | seed | MAE ours / nf | NLL ours / nf | 80% cover ours / nf | 90% cover ours / nf "
          "| fit s ours / nf |")
    print("|---|---|---|---|---|---|---|")
    rows = []
    with tempfile.TemporaryDirectory() as work:
        path = os.path.join(work, "noisy.csv")
        df.to_csv(path, index=False)
        for distribution in ("Normal", "StudentT"):
            for seed in [int(s) for s in args.seeds.split(",")]:
                a, ta = ours(args.nhits, path, seed, distribution)
                b, tb = theirs(df, seed, distribution)
                rows.append({"distribution": distribution, "seed": seed, "ours": a, "nf": b, "ours_s": ta, "nf_s": tb})
                print(f"| {distribution} | {seed} | {a['mae']:.4f} / {b['mae']:.4f} | {a['nll']:.4f} / {b['nll']:.4f} "
                      f"| {a['cover80']:.3f} / {b['cover80']:.3f} | {a['cover90']:.3f} / {b['cover90']:.3f} "
                      f"| {ta:.1f} / {tb:.1f} |", flush=True)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
