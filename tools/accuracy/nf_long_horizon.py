#!/usr/bin/env python3
"""neuralforecast's own NHITS on the long-horizon protocol of `nhits benchmark` (NOT run by CI).

Gives the MSE/MAE and training time of Nixtla's reference implementation, to put beside ours.
The protocol is the one `nhits benchmark` uses:
  * data: wide CSVs in --data-dir; the first column (`date`) is ignored, every other column is
    one univariate series (unique_id = column name) with integer ds 0..n-1 (freq=1);
  * splits (rows): ETTh1/ETTh2 8640/2880/2880 (first 14400 rows), ETTm2 34560/11520/11520,
    Exchange/ILI/Weather train=int(0.7n), test=int(0.2n), val=n-train-test;
  * every channel standardised with the mean and population std of its train rows;
  * NHITS(h=H, input_size=5H, max_steps=1000, windows_batch_size=256, batch_size=32, lr 1e-3,
    val_check_steps=50, early_stop_patience_steps=10, MAE loss, identity scaler, seed 1,
    n_pool_kernel_size=[2,2,1], n_freq_downsample=[4,2,1]; the rest is NF's default, i.e.
    3 StepLR halvings every max_steps//3 steps, mlp_units 3*[[512,512]]); --loss, --delta,
    --dropout-prob-theta, pooling and downsampling set a configuration of the neuralforecast-ett search,
    and with --scaler-type and --step-size one of the neuralforecast-auto (AutoNHITS) search;
  * trained once on train windows, validated on every stride-1 val window, then every stride-1
    test window (target inside test, input = the 5H points before it) is scored on the
    standardised values: nf.cross_validation(val_size=VAL, test_size=TEST, n_windows=None,
    step_size=1, refit=False) fits once (model.fit(val_size, test_size)) and predicts the
    TEST-H+1 windows per series (model.predict(step_size=1)).
NF behaviour to keep in mind: early-stopping patience counts validation checks (10 checks =
500 steps without improvement), and the weights of the LAST step are used (no restore of
the best checkpoint). fit_seconds is model.fit (includes the validation passes and PL's
sanity-check validation; val_seconds says how much of it that was).

Prints one JSON line per run.
Usage: /work/venv-nf/bin/python tools/accuracy/nf_long_horizon.py --dataset ETTh1 --horizon 96 [--threads 2]
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
import pytorch_lightning as pl  # noqa: E402
import torch  # noqa: E402
import neuralforecast  # noqa: E402
from neuralforecast import NeuralForecast  # noqa: E402
from neuralforecast.losses.pytorch import MAE, HuberLoss  # noqa: E402
from neuralforecast.models import NHITS  # noqa: E402

# name -> (file, fixed (train, val, test) rows or None for the 70/10/20 rule)
DATASETS = {
    "ETTh1": ("ETTh1.csv.gz", (8640, 2880, 2880)),
    "ETTh2": ("ETTh2.csv.gz", (8640, 2880, 2880)),
    "ETTm2": ("ETTm2.csv.gz", (34560, 11520, 11520)),
    "Exchange": ("exchange_rate.csv", None),
    "ILI": ("national_illness.csv", None),
    "Weather": ("weather.csv.gz", None),
}


class _Clock(pl.Callback):
    """Records the steps run and the time spent validating (sanity check included)."""

    def __init__(self):
        self.steps, self.val_seconds, self._t = 0, 0.0, None

    def on_validation_start(self, trainer, pl_module):
        self._t = time.perf_counter()

    def on_validation_end(self, trainer, pl_module):
        self.val_seconds += time.perf_counter() - self._t

    def on_train_end(self, trainer, pl_module):
        self.steps = int(trainer.global_step)


def load(data_dir, name):
    file, fixed = DATASETS[name]
    wide = pd.read_csv(os.path.join(data_dir, file)).iloc[:, 1:].astype(np.float64)
    if fixed:
        train, val, test = fixed
    else:
        n = len(wide)
        train, test = int(0.7 * n), int(0.2 * n)
        val = n - train - test
    wide = wide.iloc[: train + val + test].reset_index(drop=True)
    tr = wide.iloc[:train]
    wide = (wide - tr.mean()) / tr.std(ddof=0)
    df = wide.rename_axis("ds").reset_index().melt(id_vars="ds", var_name="unique_id", value_name="y")
    return df[["unique_id", "ds", "y"]], train, val, test


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dataset", default="ETTh1", choices=sorted(DATASETS))
    ap.add_argument("--horizon", type=int, default=96)
    ap.add_argument("--data-dir", default=os.environ.get("NHITS_DATA_DIR", "/work/shared/data/long_horizon/raw"))
    ap.add_argument("--max-steps", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0 = torch default)")
    ap.add_argument("--input-size-multiplier", type=int, default=5)
    ap.add_argument("--windows-batch-size", type=int, default=256)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--learning-rate", type=float, default=1e-3)
    ap.add_argument("--val-check-steps", type=int, default=50)
    ap.add_argument("--early-stop-patience-steps", type=int, default=10)
    ap.add_argument("--valid-batch-size", type=int, default=None,
                    help="series per val/predict batch (NF default = batch size); lower it to save memory")
    ap.add_argument("--inference-windows-batch-size", type=int, default=-1,
                    help="windows per val/predict forward (NF default -1 = all); does not change results")
    ap.add_argument("--loss", choices=["MAE", "HuberLoss"], default="MAE")
    ap.add_argument("--delta", type=float, default=1.0, help="HuberLoss delta")
    ap.add_argument("--dropout-prob-theta", type=float, default=0.0)
    ap.add_argument("--n-pool-kernel-size", default="2,2,1")
    ap.add_argument("--n-freq-downsample", default="4,2,1")
    ap.add_argument("--scaler-type", default="identity", help="NHITS scaler_type (per-window), e.g. robust")
    ap.add_argument("--step-size", type=int, default=1, help="NHITS step_size: stride of the training windows")
    a = ap.parse_args()
    ints = lambda text: [int(x) for x in text.split(",")]
    if a.threads > 0:
        torch.set_num_threads(a.threads)

    H = a.horizon
    df, train, val, test = load(a.data_dir, a.dataset)
    model = NHITS(
        h=H, input_size=a.input_size_multiplier * H, max_steps=a.max_steps,
        windows_batch_size=a.windows_batch_size, batch_size=a.batch_size,
        valid_batch_size=a.valid_batch_size, inference_windows_batch_size=a.inference_windows_batch_size,
        learning_rate=a.learning_rate, val_check_steps=a.val_check_steps,
        early_stop_patience_steps=a.early_stop_patience_steps,
        loss=HuberLoss(delta=a.delta) if a.loss == "HuberLoss" else MAE(), valid_loss=MAE(), scaler_type=a.scaler_type,
        step_size=a.step_size,
        random_seed=a.seed, n_pool_kernel_size=ints(a.n_pool_kernel_size), n_freq_downsample=ints(a.n_freq_downsample),
        dropout_prob_theta=a.dropout_prob_theta,
        accelerator="cpu", devices=1, enable_progress_bar=False, logger=False,
        enable_model_summary=False, enable_checkpointing=False, callbacks=[_Clock()],
    )
    # cross_validation(refit=False) calls model.fit once, then model.predict once: time each.
    timings = {}

    def timed(key, fn):
        def wrapper(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                timings[key] = time.perf_counter() - t0
        return wrapper

    nf = NeuralForecast(models=[model], freq=1)
    model = nf.models[0]  # NeuralForecast trains a deepcopy: patch and read that one
    clock = next(cb for cb in model.trainer_kwargs["callbacks"] if isinstance(cb, _Clock))
    model.fit = timed("fit", model.fit)
    model.predict = timed("predict", model.predict)
    t0 = time.perf_counter()
    cv = nf.cross_validation(df=df, val_size=val, test_size=test, n_windows=None, step_size=1, refit=False)
    total = time.perf_counter() - t0

    err = (cv["NHITS"] - cv["y"]).to_numpy(dtype=np.float64)
    n_series = df["unique_id"].nunique()
    windows = cv.groupby("unique_id")["cutoff"].nunique()
    assert len(cv) == n_series * (test - H + 1) * H and (windows == test - H + 1).all(), "unexpected window count"
    print(json.dumps({
        "dataset": a.dataset, "h": H,
        "mse": float(np.mean(err ** 2)), "mae": float(np.mean(np.abs(err))),
        "mse_per_series": {k: float(np.mean(v ** 2)) for k, v in
                           (cv.assign(e=err).groupby("unique_id")["e"].apply(np.asarray)).items()},
        "loss": a.loss, "delta": a.delta, "dropout_prob_theta": a.dropout_prob_theta,
        "n_pool_kernel_size": a.n_pool_kernel_size, "n_freq_downsample": a.n_freq_downsample,
        "learning_rate": a.learning_rate, "input_size_multiplier": a.input_size_multiplier,
        "scaler_type": a.scaler_type, "step_size": a.step_size, "windows_batch_size": a.windows_batch_size,
        "batch_size": a.batch_size,
        "steps": clock.steps, "max_steps": a.max_steps, "seed": a.seed,
        "fit_seconds": round(timings["fit"], 3), "val_seconds": round(clock.val_seconds, 3),
        "predict_seconds": round(timings["predict"], 3), "total_seconds": round(total, 3),
        "steps_per_second": round(clock.steps / timings["fit"], 3),
        "test_windows": int(windows.sum()), "series": int(n_series),
        "neuralforecast": neuralforecast.__version__, "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }), flush=True)


if __name__ == "__main__":
    main()
