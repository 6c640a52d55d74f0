#!/usr/bin/env python3
"""Reference accuracy/speed of Nixtla's neuralforecast NHITS on AirPassengers (NOT run by CI).

Trains NHITS(h=12, input_size=24, max_steps=500, scaler_type="robust", random_seed=1)
on CPU on data/air_passengers.csv with the last 12 months held out, forecasts them and
prints one JSON line:
  {"mae": ..., "seasonal_naive_mae": ..., "wall_s": ..., "steps_per_s": ...}
wall_s is the fit wall-clock time (model construction + nf.fit); steps_per_s = 500 / wall_s.
Everything else is neuralforecast's default (mlp_units 3*[[512,512]], MAE loss,
batch_size 32, windows_batch_size 1024, lr 1e-3, 3 StepLR decays).

Usage: /work/venv-nf/bin/python tools/compare_airpassengers_nf.py [--data data/air_passengers.csv] [--threads N]
"""
import argparse
import json
import logging
import os
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

H = 12
MAX_STEPS = 500


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(here, "..", "data", "air_passengers.csv"))
    ap.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0 = torch default)")
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)

    df = pd.read_csv(args.data, parse_dates=["ds"])
    df = df.sort_values(["unique_id", "ds"]).reset_index(drop=True)
    from_end = df.groupby("unique_id").cumcount(ascending=False)  # 0 = last row of each series
    train = df[from_end >= H].reset_index(drop=True)
    test = df[from_end < H].reset_index(drop=True)

    t0 = time.perf_counter()
    model = NHITS(
        h=H,
        input_size=24,
        max_steps=MAX_STEPS,
        scaler_type="robust",
        random_seed=1,
        accelerator="cpu",
        devices=1,
        enable_progress_bar=False,
        logger=False,
        enable_model_summary=False,
        enable_checkpointing=False,
    )
    nf = NeuralForecast(models=[model], freq="ME")
    nf.fit(df=train)
    wall = time.perf_counter() - t0

    fc = nf.predict(df=train)
    merged = test.merge(fc, on=["unique_id", "ds"], how="left")
    assert len(merged) == len(test) and merged["NHITS"].notna().all(), "forecast ds do not match test ds"
    mae = float(np.mean(np.abs(merged["y"] - merged["NHITS"])))

    # seasonal naive (season 12): forecast = the last 12 observed training values
    sn = []
    for uid, g in test.groupby("unique_id"):
        last = train[train.unique_id == uid]["y"].to_numpy()[-12:]
        sn.append(np.abs(g["y"].to_numpy() - last[:H]))
    sn_mae = float(np.mean(np.concatenate(sn)))

    print(json.dumps({"mae": round(mae, 4), "seasonal_naive_mae": round(sn_mae, 4),
                      "wall_s": round(wall, 3), "steps_per_s": round(MAX_STEPS / wall, 2)}))


if __name__ == "__main__":
    main()
