#!/usr/bin/env python3
"""Forecasts from windows with missing points, here and in neuralforecast (NOT run by CI).

neuralforecast fits an NHITS on AirPassengers; tools/export_neuralforecast.py converts it. Both
then forecast from the same history with an available_mask column marking missing points inside
the input window (their y given as numbers, which both sides keep: the first block and the naive
level still read them, the residuals and the robust scaler do not). The script prints the largest
relative difference of the forecasts, with and without the mask, and fails above 1e-4.

Usage: /work/venv-nf/bin/python tools/compare_available_mask_nf.py [--nhits build/release/bin/nhits]
"""
import argparse
import logging
import os
import subprocess
import sys
import tempfile
import warnings

warnings.filterwarnings("ignore")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
for _n in ("pytorch_lightning", "lightning", "lightning.pytorch", "lightning_fabric"):
    logging.getLogger(_n).setLevel(logging.ERROR)

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from neuralforecast import NeuralForecast  # noqa: E402
from neuralforecast.models import NHITS  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def ours(binary, model, csv, out):
    subprocess.run([binary, "predict", "--model", model, "--data", csv, "--out", out], check=True, capture_output=True)
    return pd.read_csv(out)["NHITS"].to_numpy()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nhits", default="build/release/bin/nhits")
    args = ap.parse_args()
    df = pd.read_csv(os.path.join(HERE, "..", "data", "air_passengers.csv"), parse_dates=["ds"])
    model = NHITS(h=12, input_size=36, max_steps=50, scaler_type="robust", mlp_units=[[64, 64]] * 3, random_seed=3,
                  accelerator="cpu", enable_progress_bar=False, logger=False, enable_model_summary=False,
                  enable_checkpointing=False)
    nf = NeuralForecast(models=[model], freq="ME")
    nf.fit(df=df)
    # Missing points inside the last 36: a run of four and two single ones; their y is a number
    # far from the series (both sides must mask it out of the residuals and the scaler).
    masked = df.copy()
    masked["available_mask"] = 1.0
    holes = [len(df) - k for k in (3, 9, 20, 21, 22, 23)]
    masked.loc[holes, "available_mask"] = 0.0
    masked.loc[holes, "y"] = 1000.0
    worst = 0.0
    forecasts = {}
    with tempfile.TemporaryDirectory() as tmp:
        nf.save(os.path.join(tmp, "saved"))
        ckpt = os.path.join(tmp, "m.safetensors")
        subprocess.run([sys.executable, os.path.join(HERE, "export_neuralforecast.py"), os.path.join(tmp, "saved"),
                        "--out", ckpt], check=True, capture_output=True)
        for name, frame in (("no mask", df), ("available_mask", masked)):
            theirs = nf.predict(df=frame)["NHITS"].to_numpy()
            csv = os.path.join(tmp, name.replace(" ", "_") + ".csv")
            frame.assign(ds=frame["ds"].dt.strftime("%Y-%m-%d")).to_csv(csv, index=False)
            mine = ours(args.nhits, ckpt, csv, csv + ".out.csv")
            diff = float(np.max(np.abs(mine - theirs) / np.maximum(np.abs(theirs), 1.0)))
            worst = max(worst, diff)
            forecasts[name] = theirs
            print(f"{name}: max relative difference {diff:.2e}; neuralforecast {theirs[:3].round(3)}..., "
                  f"ours {mine[:3].round(3)}...")
    moved = float(np.max(np.abs(forecasts["available_mask"] - forecasts["no mask"])))
    print(f"the mask moves neuralforecast's forecast by up to {moved:.3g} (a check that the holes matter)")
    return 0 if worst < 1e-4 and moved > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
