#!/usr/bin/env python3
"""neuralforecast -> NHITS Engine, end to end with the real library: fit small NHITS models,
NeuralForecast.save(), convert with tools/export_neuralforecast.py, and `nhits predict` must
match neuralforecast's own predict() on the same data (1e-5 relative), with exogenous inputs too and
with MQLoss(quantiles=...) in any order, with exclude_insample_y, scaler_type="revin" and
NeuralForecast's local_scaler_type, MAPE and SMAPE; an unsupported loss (TukeyLoss) and local_scaler_type='boxcox' must be refused with
their reason. `nhits predict --insample` must match predict_insample(step_size). Training categorical columns here must score, on held-out steps, within 1.3x of
neuralforecast's own training of the same model, and training scaler_type="revin" with a
DistributionLoss must learn y's pair as neuralforecast does and score alike.
DistributionLoss: neuralforecast 3.3.0's save() fails on a fitted one (the loss keeps a tensor
with a graph, `distr_mean`, that deepcopy refuses); dropping that attribute first saves it, and
then its parameters must match ours and its sampled quantiles must scatter around our exact ones.

Usage: neuralforecast_import_test.py NHITS_BINARY SOURCE_DIR  (Python with neuralforecast)
"""
import logging
import os
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")
logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
logging.getLogger("lightning_fabric").setLevel(logging.ERROR)
from neuralforecast import NeuralForecast  # noqa: E402
from neuralforecast.losses.pytorch import (MAE, MAPE, SMAPE, DistributionLoss, HuberMQLoss,  # noqa: E402
                                          HuberQLoss, MQLoss, QuantileLoss, TukeyLoss)
from neuralforecast.utils import PredictionIntervals  # noqa: E402
from neuralforecast.models import NHITS  # noqa: E402

NHITS_BIN, SRC = sys.argv[1], sys.argv[2]
TOOL = os.path.join(SRC, "tools", "export_neuralforecast.py")
failures = []


def check(name, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else f": {detail}"), flush=True)
    if not cond:
        failures.append(name)


def save_and_convert(nf, work, name):
    """NeuralForecast.save() into work/name, then tools/export_neuralforecast.py; returns the
    checkpoint's path (absent when the conversion failed, which is reported)."""
    saved = os.path.join(work, name)
    nf.save(saved, overwrite=True)
    out = os.path.join(work, name + ".safetensors")
    r = subprocess.run([sys.executable, TOOL, saved, "--out", out], capture_output=True, text=True)
    check(f"{name}: converted", r.returncode == 0, r.stderr[-500:])
    return out


def column_rel(csv_path, want, col="NHITS"):
    """Max relative difference of a forecast CSV's column from neuralforecast's frame (both sorted
    by series and date); inf when their shapes differ."""
    got = pd.read_csv(csv_path).sort_values(["unique_id", "ds"])[col].to_numpy(float)
    ref = want.sort_values(["unique_id", "ds"])[col].to_numpy(float)
    return float(np.max(np.abs(got - ref) / np.maximum(np.abs(ref), 1.0))) if got.shape == ref.shape else float("inf")


def insample_check(label, nf, args, steps=(1, 5)):
    """`nhits predict --insample --step-size S` against nf.predict_insample(step_size=S): the same
    (unique_id, cutoff, ds) rows and forecasts to 1e-5."""
    for step in steps:
        want = nf.predict_insample(step_size=step)
        want = want.reset_index() if "unique_id" not in want.columns else want
        out = os.path.join(work, "insample.csv")
        p = subprocess.run([NHITS_BIN, "predict", *args, "--insample", "--step-size", str(step), "--out", out],
                           capture_output=True, text=True)
        if p.returncode != 0:
            check(f"{label}: predict --insample --step-size {step}", False, p.stderr[-300:])
            continue
        key = ["unique_id", "cutoff", "ds"]
        got = pd.read_csv(out).astype({"unique_id": str}).sort_values(key).reset_index(drop=True)
        ref = want.astype({"unique_id": str}).sort_values(key).reset_index(drop=True)
        same = len(got) == len(ref) and (got[key].astype(str).to_numpy() == ref[key].astype(str).to_numpy()).all()
        rel = float(np.max(np.abs(got.NHITS - ref.NHITS) / np.maximum(np.abs(ref.NHITS), 1.0))) if same else float("inf")
        check(f"{label}: predict --insample --step-size {step} == predict_insample ({len(got)} rows, max rel {rel:.1e})",
              same and rel <= 1e-5, (len(got), len(ref)))


def series(n=3, length=96):
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        t = np.arange(length)
        y = 50 + 10 * i + 5 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 1, length).cumsum() * 0.3
        rows.append(pd.DataFrame({"unique_id": f"s{i}", "ds": t + 1, "y": y}))
    return pd.concat(rows, ignore_index=True)


common = dict(max_steps=15, random_seed=1, accelerator="cpu", enable_progress_bar=False, logger=False,
              enable_model_summary=False, enable_checkpointing=False)
df = series()
with tempfile.TemporaryDirectory(prefix="nhits-nf-") as work:
    df.to_csv(os.path.join(work, "data.csv"), index=False)
    cases = {
        "mae_robust": NHITS(h=12, input_size=24, mlp_units=[[32, 32]] * 3, scaler_type="robust", loss=MAE(), **common),
        "mqloss_standard_avgpool": NHITS(h=6, input_size=18, mlp_units=[[16, 16]] * 3, pooling_mode="AvgPool1d",
                                         scaler_type="standard", loss=MQLoss(level=[80]), **common),
        # One quantile: neuralforecast names its column NHITS_ql0.9
        "quantile_loss": NHITS(h=6, input_size=18, mlp_units=[[16, 16]] * 3, scaler_type="robust",
                               loss=QuantileLoss(0.9), **common),
        # a fractional level: columns NHITS-lo-97.5, ...
        "mqloss_fractional_level": NHITS(h=6, input_size=18, mlp_units=[[16, 16]] * 3, scaler_type="robust",
                                         loss=MQLoss(level=[97.5, 80]), **common),
        # MQLoss(quantiles=...): channels in the order given, asymmetric, columns -lo-90.0, ...
        "mqloss_quantile_list": NHITS(h=6, input_size=18, mlp_units=[[16, 16]] * 3, scaler_type="standard",
                                      loss=MQLoss(quantiles=[0.05, 0.01, 0.5, 0.75]), **common),
        # symmetric quantiles, but named as quantiles (-lo-80.0) and without a median
        "huber_mqloss_quantiles": NHITS(h=6, input_size=18, mlp_units=[[16, 16]] * 3,
                                        loss=HuberMQLoss(quantiles=[0.1, 0.9], delta=0.5), **common),
        "huber_qloss": NHITS(h=6, input_size=18, mlp_units=[[16, 16]] * 3, loss=HuberQLoss(0.8, delta=0.5), **common),
        "huber_mqloss": NHITS(h=6, input_size=18, mlp_units=[[16, 16]] * 3, scaler_type="robust",
                              loss=HuberMQLoss(level=[80], delta=0.5), **common),
        # percentage losses: a point forecast like MAE's, trained on another objective
        "mape": NHITS(h=6, input_size=18, mlp_units=[[16, 16]] * 3, loss=MAPE(), **common),
        "smape": NHITS(h=6, input_size=18, mlp_units=[[16, 16]] * 3, scaler_type="robust", loss=SMAPE(), **common),
    }
    for name, model in cases.items():
        nf = NeuralForecast(models=[model], freq=1)
        nf.fit(df=df)
        want = nf.predict(df=df).reset_index(drop=("unique_id" in nf.predict(df=df).columns))
        out = save_and_convert(nf, work, name)
        if not os.path.exists(out):
            continue
        info = subprocess.run([NHITS_BIN, "info", "--model", out], capture_output=True, text=True).stdout
        check(f"{name}: info shows the origin", "neuralforecast" in info and "origin" in info, info[-400:])
        # its own horizon, and for two models a longer one (predict(h=...): recursive blocks). A
        # multiple of h: for others neuralforecast 3.3.0 misplaces its last, partial block
        # (docs/INTEROP.md, "Other horizons").
        horizons = [None] + ([3 * model.h] if name in ("mae_robust", "mqloss_standard_avgpool", "mqloss_quantile_list") else [])
        for h in horizons:
            if h is not None:
                want = nf.predict(df=df, h=h)
                want = want.reset_index() if "unique_id" not in want.columns else want
            label = name + ("" if h is None else f" --h {h}")
            csv_out = os.path.join(work, name + ("" if h is None else f"_h{h}") + ".csv")
            p = subprocess.run([NHITS_BIN, "predict", "--model", out, "--data", os.path.join(work, "data.csv"),
                                "--out", csv_out] + ([] if h is None else ["--h", str(h)]), capture_output=True, text=True)
            check(f"{label}: nhits predict", p.returncode == 0, p.stderr)
            got = pd.read_csv(csv_out)
            cols = [c for c in want.columns if c.startswith("NHITS")]
            a = got.sort_values(["unique_id", "ds"])[cols].to_numpy(float)
            b = want.sort_values(["unique_id", "ds"])[cols].to_numpy(float)
            rel = float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1.0))) if a.shape == b.shape else float("inf")
            check(f"{label}: engine == neuralforecast predict (max rel {rel:.1e})", rel <= 1e-5, (a.shape, b.shape))
        if name == "mae_robust":
            insample_check(name, nf, ["--model", out, "--data", os.path.join(work, "data.csv")])

    # Exogenous inputs: hist, futr and static columns, predicted with futr_df and static_df.
    rng = np.random.default_rng(3)
    dfe = df.assign(x=rng.normal(0, 1, len(df)).round(4), f=(df.ds % 5 == 0).astype(float))
    futr = pd.DataFrame([(u, t, float(t % 5 == 0)) for u in dfe.unique_id.unique() for t in range(97, 103)],
                        columns=["unique_id", "ds", "f"])
    static = pd.DataFrame({"unique_id": ["s0", "s1", "s2"], "size": [1.5, 2.0, 0.5], "sector": [0.0, 1.0, 1.0]})
    for path, frame in (("exog_data.csv", dfe), ("exog_futr.csv", futr), ("exog_static.csv", static)):
        frame.to_csv(os.path.join(work, path), index=False)
    model = NHITS(h=6, input_size=18, mlp_units=[[16, 16]] * 3, scaler_type="standard", hist_exog_list=["x"],
                  futr_exog_list=["f"], stat_exog_list=["size", "sector"], **common)
    nf = NeuralForecast(models=[model], freq=1)
    nf.fit(df=dfe, static_df=static)
    want = nf.predict(df=dfe, futr_df=futr, static_df=static)
    out = save_and_convert(nf, work, "exog")
    p = subprocess.run([NHITS_BIN, "predict", "--model", out, "--data", os.path.join(work, "exog_data.csv"),
                        "--futr-data", os.path.join(work, "exog_futr.csv"), "--static-data",
                        os.path.join(work, "exog_static.csv"), "--out", os.path.join(work, "exog.csv")],
                       capture_output=True, text=True)
    check("exogenous: nhits predict", p.returncode == 0, p.stderr)
    if p.returncode == 0:
        rel = column_rel(os.path.join(work, "exog.csv"), want)
        check(f"exogenous: engine == neuralforecast predict (max rel {rel:.1e})", rel <= 1e-5)
    insample_check("exogenous", nf, ["--model", out, "--data", os.path.join(work, "exog_data.csv"), "--static-data",
                                     os.path.join(work, "exog_static.csv")], steps=(3,))

    # Categorical columns (cat_exog_list) under NeuralForecast(local_scaler_type="standard"): string
    # labels in a futr and a static column, float labels in a hist one (pandas writes 1.0 as "1.0"),
    # a futr label the fit never saw (coded 0: the mean of the learned rows). The local scaler and
    # TemporalNorm scale x but not the codes.
    days = np.array(["mon", "tue", "wed", "thu", "fri"])
    dfc = dfe.assign(day=days[df.ds % 5], tier=((df.ds // 7) % 3).astype(float))
    futc = futr.assign(day=days[futr.ds % 5])
    futc.loc[futc.index[4], "day"] = "holiday"
    statc = static.assign(region=["north", "south", "north"])
    for path, frame in (("cat_data.csv", dfc), ("cat_futr.csv", futc), ("cat_static.csv", statc)):
        frame.to_csv(os.path.join(work, path), index=False)
    model = NHITS(h=6, input_size=18, mlp_units=[[16, 16]] * 3, scaler_type="robust", hist_exog_list=["x", "tier"],
                  futr_exog_list=["day", "f"], stat_exog_list=["region", "size"], cat_exog_list=["region", "day", "tier"],
                  categorical_cardinalities={"day": 5, "tier": 3, "region": 4}, cat_emb_dim=3, **common)
    nf = NeuralForecast(models=[model], freq=1, local_scaler_type="standard")
    nf.fit(df=dfc, static_df=statc)
    want = nf.predict(df=dfc, futr_df=futc, static_df=statc)
    out = save_and_convert(nf, work, "categorical")
    p = subprocess.run([NHITS_BIN, "predict", "--model", out, "--data", os.path.join(work, "cat_data.csv"),
                        "--futr-data", os.path.join(work, "cat_futr.csv"), "--static-data",
                        os.path.join(work, "cat_static.csv"), "--out", os.path.join(work, "cat.csv")],
                       capture_output=True, text=True)
    check("categorical: nhits predict", p.returncode == 0, p.stderr)
    if p.returncode == 0:
        rel = column_rel(os.path.join(work, "cat.csv"), want)
        check(f"categorical: engine == neuralforecast predict (max rel {rel:.1e})", rel <= 1e-5)
    insample_check("categorical (local_scaler_type standard)", nf,
                   ["--model", out, "--data", os.path.join(work, "cat_data.csv"), "--static-data",
                    os.path.join(work, "cat_static.csv")], steps=(4,))
    single = [f for f in os.listdir(os.path.join(work, "categorical")) if f.startswith("NHITS")][0]
    r = subprocess.run([sys.executable, TOOL, os.path.join(work, "categorical", single), "--out",
                        os.path.join(work, "cat_single.safetensors")], capture_output=True, text=True)
    check("categorical: a single model file is refused (the vocabulary is in the folder)",
          r.returncode != 0 and "vocabulary" in r.stderr, r.stderr[-300:])

    # A futr-only model over two blocks of its h (predict(h=12) with 12 future values per series).
    futr12 = pd.DataFrame([(u, t, float(t % 5 == 0)) for u in dfe.unique_id.unique() for t in range(97, 109)],
                          columns=["unique_id", "ds", "f"])
    futr12.to_csv(os.path.join(work, "exog_futr12.csv"), index=False)
    model = NHITS(h=6, input_size=18, mlp_units=[[16, 16]] * 3, scaler_type="standard", futr_exog_list=["f"], **common)
    nf = NeuralForecast(models=[model], freq=1)
    nf.fit(df=dfe[["unique_id", "ds", "y", "f"]])
    want = nf.predict(df=dfe[["unique_id", "ds", "y", "f"]], futr_df=futr12, h=12)
    out = save_and_convert(nf, work, "futr_only")
    p = subprocess.run([NHITS_BIN, "predict", "--model", out, "--data", os.path.join(work, "exog_data.csv"), "--futr-data",
                        os.path.join(work, "exog_futr12.csv"), "--h", "12", "--out", os.path.join(work, "futr12.csv")],
                       capture_output=True, text=True)
    check("futr_only --h 12: nhits predict", p.returncode == 0, p.stderr)
    if p.returncode == 0:
        rel = column_rel(os.path.join(work, "futr12.csv"), want)
        check(f"futr_only --h 12: engine == neuralforecast predict(h=12) (max rel {rel:.1e})", rel <= 1e-5)

    # exclude_insample_y: the network forecasts from the exogenous columns and the scaler's
    # statistics alone; the converter carries the flag (ignoring it gives other numbers).
    model = NHITS(h=6, input_size=18, mlp_units=[[16, 16]] * 3, scaler_type="standard", hist_exog_list=["x"],
                  futr_exog_list=["f"], exclude_insample_y=True, **common)
    nf = NeuralForecast(models=[model], freq=1)
    nf.fit(df=dfe)
    want = nf.predict(df=dfe, futr_df=futr)
    out = save_and_convert(nf, work, "exclude_insample_y")
    p = subprocess.run([NHITS_BIN, "predict", "--model", out, "--data", os.path.join(work, "exog_data.csv"),
                        "--futr-data", os.path.join(work, "exog_futr.csv"), "--out", os.path.join(work, "excluded.csv")],
                       capture_output=True, text=True)
    check("exclude_insample_y: nhits predict", p.returncode == 0, p.stderr)
    if p.returncode == 0:
        rel = column_rel(os.path.join(work, "excluded.csv"), want)
        check(f"exclude_insample_y: engine == neuralforecast predict (max rel {rel:.1e})", rel <= 1e-5)

    # NeuralForecast(local_scaler_type=...): each series scaled over its whole history (y and the
    # exogenous columns, the futr values with their history's statistics), forecasts scaled back.
    # MQLoss with hist and futr columns at h; a futr-only MAE model recursively at --h 12.
    for local in ("standard", "robust", "robust-iqr", "minmax"):
        for label, model, data, steps in (
                ("mqloss_exog", NHITS(h=6, input_size=18, mlp_units=[[16, 16]] * 3, scaler_type="robust",
                                      hist_exog_list=["x"], futr_exog_list=["f"], loss=MQLoss(level=[80]), **common),
                 dfe, None),
                ("mae_futr_h12", NHITS(h=6, input_size=18, mlp_units=[[16, 16]] * 3, futr_exog_list=["f"], **common),
                 dfe[["unique_id", "ds", "y", "f"]], 12)):
            name = f"local_{local}_{label}"
            nf = NeuralForecast(models=[model], freq=1, local_scaler_type=local)
            nf.fit(df=data)
            want = nf.predict(df=data, futr_df=futr12 if steps else futr, **({"h": steps} if steps else {}))
            out = save_and_convert(nf, work, name)
            p = subprocess.run([NHITS_BIN, "predict", "--model", out, "--data", os.path.join(work, "exog_data.csv"),
                                "--futr-data", os.path.join(work, "exog_futr12.csv" if steps else "exog_futr.csv"),
                                "--out", os.path.join(work, name + ".csv")] + (["--h", str(steps)] if steps else []),
                               capture_output=True, text=True)
            check(f"{name}: nhits predict", p.returncode == 0, p.stderr)
            if p.returncode == 0:
                cols = [c for c in want.columns if c.startswith("NHITS")]
                rel = max(column_rel(os.path.join(work, name + ".csv"), want, c) for c in cols)
                check(f"{name}: engine == neuralforecast predict (max rel {rel:.1e}, {len(cols)} columns)", rel <= 1e-5)
    nf = NeuralForecast(models=[NHITS(h=6, input_size=18, mlp_units=[[16, 16]] * 3, **common)], freq=1,
                        local_scaler_type="boxcox")
    nf.fit(df=df)
    nf.save(os.path.join(work, "boxcox"), overwrite=True)
    r = subprocess.run([sys.executable, TOOL, os.path.join(work, "boxcox"), "--out", os.path.join(work, "boxcox.st")],
                       capture_output=True, text=True)
    check("local_scaler_type='boxcox' refused with the reason", r.returncode != 0 and "boxcox" in r.stderr, r.stderr[-300:])

    # scaler_type="revin": a point loss leaves its parameters at 0 and 1; a distribution learns
    # them (here over y, x and f), and y's pair moves the loc and scale on the way back.
    for label, loss in (("mae", MAE()), ("normal", DistributionLoss("Normal", level=[80], return_params=True))):
        name = f"revin_{label}"
        model = NHITS(h=6, input_size=18, mlp_units=[[16, 16]] * 3, scaler_type="revin", hist_exog_list=["x"],
                      futr_exog_list=["f"], loss=loss, **dict(common, max_steps=40))
        nf = NeuralForecast(models=[model], freq=1)
        nf.fit(df=dfe)
        want = nf.predict(df=dfe, futr_df=futr)
        for m in nf.models:  # the workaround for neuralforecast's save() (DistributionLoss)
            for l in (m.loss, m.valid_loss):
                l.__dict__.pop("distr_mean", None)
        out = save_and_convert(nf, work, name)
        p = subprocess.run([NHITS_BIN, "predict", "--model", out, "--data", os.path.join(work, "exog_data.csv"),
                            "--futr-data", os.path.join(work, "exog_futr.csv"), "--out", os.path.join(work, name + ".csv")],
                           capture_output=True, text=True)
        check(f"{name}: nhits predict", p.returncode == 0, p.stderr)
        if p.returncode == 0:
            cols = ["NHITS"] if label == "mae" else ["NHITS-loc", "NHITS-scale"]  # the others are sampled there
            rel = max(column_rel(os.path.join(work, name + ".csv"), want, c) for c in cols)
            check(f"{name}: engine == neuralforecast predict on {cols} (max rel {rel:.1e})", rel <= 1e-5)

    # Conformal intervals: neuralforecast's conformity scores carry over; predict --level equals
    # neuralforecast's predict(level=...).
    model = NHITS(h=6, input_size=18, mlp_units=[[16, 16]] * 3, scaler_type="robust", **common)
    nf = NeuralForecast(models=[model], freq=1)
    nf.fit(df=df, prediction_intervals=PredictionIntervals(n_windows=3))
    want = nf.predict(df=df, level=[80, 90])
    out = save_and_convert(nf, work, "conformal")
    p = subprocess.run([NHITS_BIN, "predict", "--model", out, "--data", os.path.join(work, "data.csv"), "--level", "80,90",
                        "--out", os.path.join(work, "conformal.csv")], capture_output=True, text=True)
    check("conformal: nhits predict --level", p.returncode == 0, p.stderr)
    if p.returncode == 0:
        got = pd.read_csv(os.path.join(work, "conformal.csv"))
        cols = ["NHITS", "NHITS-lo-90", "NHITS-lo-80", "NHITS-hi-80", "NHITS-hi-90"]
        a = got.sort_values(["unique_id", "ds"])[cols].to_numpy(float) if list(got.columns[2:]) == cols else None
        b = want.sort_values(["unique_id", "ds"])[cols].to_numpy(float)
        rel = float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1.0))) if a is not None and a.shape == b.shape else float("inf")
        check(f"conformal: engine == neuralforecast predict(level=[80, 90]) (max rel {rel:.1e})", rel <= 1e-5, list(got.columns))

    # An alias names neuralforecast's columns and its conformity scores: both carry over, and
    # `nhits predict` writes the alias's columns without --alias.
    model = NHITS(h=6, input_size=18, mlp_units=[[16, 16]] * 3, alias="fast", **common)
    nf = NeuralForecast(models=[model], freq=1)
    nf.fit(df=df, prediction_intervals=PredictionIntervals(n_windows=2))
    want = nf.predict(df=df, level=[80])
    out = save_and_convert(nf, work, "alias")
    p = subprocess.run([NHITS_BIN, "predict", "--model", out, "--data", os.path.join(work, "data.csv"), "--level", "80",
                        "--out", os.path.join(work, "alias.csv")], capture_output=True, text=True)
    check("alias: nhits predict --level (scores found under the alias)", p.returncode == 0, p.stderr)
    if p.returncode == 0:
        got = pd.read_csv(os.path.join(work, "alias.csv"))
        cols = ["fast", "fast-lo-80", "fast-hi-80"]
        same = list(got.columns[2:]) == cols
        rel = max(column_rel(os.path.join(work, "alias.csv"), want, c) for c in cols) if same else float("inf")
        check(f"alias: columns {cols} == neuralforecast predict(level=[80]) (max rel {rel:.1e})", rel <= 1e-5,
              list(got.columns))

    # A folder with several models: files b_0, MLP_0, a_0; --model-index counts the NHITS models in
    # the order of their files' names (a, then b), and each converts to its own forecasts.
    from neuralforecast.models import MLP
    nf = NeuralForecast(models=[NHITS(h=6, input_size=18, mlp_units=[[16, 16]] * 3, alias="b", **common),
                                MLP(h=6, input_size=18, max_steps=5, accelerator="cpu", enable_progress_bar=False,
                                    logger=False, enable_model_summary=False),
                                NHITS(h=6, input_size=18, mlp_units=[[8, 8]] * 3, alias="a", **common)], freq=1)
    nf.fit(df=df)
    want = nf.predict(df=df)
    nf.save(os.path.join(work, "mixed"), overwrite=True)
    for index, alias in ((0, "a"), (1, "b")):
        out = os.path.join(work, f"mixed_{index}.safetensors")
        r = subprocess.run([sys.executable, TOOL, os.path.join(work, "mixed"), "--out", out, "--model-index", str(index)],
                           capture_output=True, text=True)
        check(f"mixed folder --model-index {index}: converted", r.returncode == 0, r.stderr[-300:])
        p = subprocess.run([NHITS_BIN, "predict", "--model", out, "--data", os.path.join(work, "data.csv"),
                            "--out", os.path.join(work, f"mixed_{index}.csv")], capture_output=True, text=True)
        if p.returncode == 0:
            rel = column_rel(os.path.join(work, f"mixed_{index}.csv"), want, alias)
            check(f"mixed folder --model-index {index}: column {alias} == neuralforecast (max rel {rel:.1e})", rel <= 1e-5)
        else:
            check(f"mixed folder --model-index {index}: nhits predict", False, p.stderr)
    r = subprocess.run([sys.executable, TOOL, os.path.join(work, "mixed"), "--out", os.path.join(work, "x.st"),
                        "--model-index", "2"], capture_output=True, text=True)
    check("mixed folder --model-index 2: refused, listing the NHITS models",
          r.returncode != 0 and "a_0" in r.stderr and "b_0" in r.stderr, r.stderr[-300:])
    # Two un-aliased NHITS: files NHITS_0 and NHITS_1; neuralforecast's columns NHITS and NHITS1.
    nf = NeuralForecast(models=[NHITS(h=6, input_size=18, mlp_units=[[16, 16]] * 3, **common),
                                NHITS(h=6, input_size=18, mlp_units=[[8, 8]] * 3, **common)], freq=1)
    nf.fit(df=df)
    want = nf.predict(df=df)
    nf.save(os.path.join(work, "twins"), overwrite=True)
    out = os.path.join(work, "twins_1.safetensors")
    r = subprocess.run([sys.executable, TOOL, os.path.join(work, "twins"), "--out", out, "--model-index", "1"],
                       capture_output=True, text=True)
    p = subprocess.run([NHITS_BIN, "predict", "--model", out, "--data", os.path.join(work, "data.csv"),
                        "--out", os.path.join(work, "twins_1.csv")], capture_output=True, text=True)
    ok = r.returncode == 0 and p.returncode == 0 and "NHITS1" in open(os.path.join(work, "twins_1.csv")).readline()
    rel = column_rel(os.path.join(work, "twins_1.csv"), want, "NHITS1") if ok else float("inf")
    check(f"second un-aliased NHITS: column NHITS1 == neuralforecast (max rel {rel:.1e})", rel <= 1e-5,
          (r.stderr[-300:], p.stderr[-300:]))

    # DistributionLoss(StudentT, return_params): the parameters equal neuralforecast's; its mean and
    # quantiles are 1000-draw estimates of ours, within a few Monte Carlo standard errors.
    from scipy import stats
    model = NHITS(h=6, input_size=18, mlp_units=[[16, 16]] * 3, scaler_type="standard",
                  loss=DistributionLoss("StudentT", level=[80], return_params=True), **common)
    nf = NeuralForecast(models=[model], freq=1)
    nf.fit(df=df)
    want = nf.predict(df=df).sort_values(["unique_id", "ds"])
    for m in nf.models:  # the workaround for neuralforecast's save()
        for loss in (m.loss, m.valid_loss):
            loss.__dict__.pop("distr_mean", None)
    out = save_and_convert(nf, work, "distribution")

    def student_t_columns(label, args, want, quantile_columns):
        """`nhits predict ARGS` against neuralforecast's `want`: the same columns; each quantile
        column the Student-t quantile of our parameters; neuralforecast's sampled ones within 5
        Monte Carlo standard errors of it. Returns our forecast."""
        path = os.path.join(work, "distribution_" + str(len(args)) + ".csv")
        p = subprocess.run([NHITS_BIN, "predict", "--model", out, "--data", os.path.join(work, "data.csv"), "--out", path]
                           + args, capture_output=True, text=True)
        check(f"distribution: nhits predict {' '.join(args)}", p.returncode == 0, p.stderr)
        if p.returncode != 0:
            return None
        got = pd.read_csv(path).sort_values(["unique_id", "ds"])
        check(f"distribution: {label} columns are neuralforecast's", list(got.columns) == list(want.columns),
              (list(got.columns), list(want.columns)))
        df_, scale, loc = (got[c].to_numpy(float) for c in ("NHITS-df", "NHITS-scale", "NHITS-loc"))
        z = []
        for col, q in quantile_columns:
            u = stats.t.ppf(q, df_)
            check(f"distribution: {col} is the Student-t quantile", np.allclose(got[col], loc + scale * u, rtol=1e-5, atol=1e-5))
            z.append((want[col].to_numpy(float) - (loc + scale * u)) /
                     (np.sqrt(q * (1 - q) / 1000) / stats.t.pdf(u, df_) * scale))
        z = np.concatenate(z)
        check(f"distribution: {label}: neuralforecast's sampled quantiles within 5 standard errors "
              f"(max |z| {np.abs(z).max():.2f})", np.abs(z).max() < 5)
        return got

    got = student_t_columns("trained levels", [], want, (("NHITS-lo-80", 0.1), ("NHITS-hi-80", 0.9)))
    if got is not None:
        params = ["NHITS-df", "NHITS-loc", "NHITS-scale"]
        a, b = got[params].to_numpy(float), want[params].to_numpy(float)
        rel = float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1.0))) if a.shape == b.shape else float("inf")
        check(f"distribution: parameters == neuralforecast's (max rel {rel:.1e})", rel <= 1e-5)
    # predict(level=...) and predict(quantiles=...) at other levels than trained (after save: they
    # change the loss's quantiles in place)
    student_t_columns("--level 95,50", ["--level", "95,50"],
                      nf.predict(df=df, level=[95, 50]).sort_values(["unique_id", "ds"]),
                      (("NHITS-lo-95", 0.025), ("NHITS-lo-50", 0.25), ("NHITS-hi-50", 0.75), ("NHITS-hi-95", 0.975)))
    student_t_columns("--quantiles 0.9,0.05,0.5", ["--quantiles", "0.9,0.05,0.5"],
                      nf.predict(df=df, quantiles=[0.9, 0.05, 0.5]).sort_values(["unique_id", "ds"]),
                      tuple((f"NHITS_ql{q}", q) for q in (0.05, 0.5, 0.9)))

    # Training categorical columns, side by side: a futr label ("calm", "news", "spike") moves y
    # by 0, -3 or +4 on its own step. Fit both trainers on the same file (same configuration,
    # steps and seeds; their random streams differ, hence three seeds), forecast the last 12
    # steps with their labels: our held-out MAE must be no worse than 1.3x neuralforecast's, and
    # both far below what the series alone allows (about 2.1 for either trainer without the label).
    crng = np.random.default_rng(5)
    effect = {"calm": 0.0, "news": -3.0, "spike": 4.0}
    frames = []
    for i in range(6):
        ev = np.array(list(effect))[crng.choice(3, 300, p=[0.6, 0.2, 0.2])]
        t = np.arange(300)
        y = 50 + 10 * i + 5 * np.sin(2 * np.pi * t / 12) + np.array([effect[e] for e in ev]) + crng.normal(0, 0.5, 300)
        frames.append(pd.DataFrame({"unique_id": f"s{i}", "ds": t + 1, "y": y.round(4), "event": ev}))
    ev_df = pd.concat(frames, ignore_index=True)
    ev_train, ev_test = ev_df[ev_df.ds <= 288], ev_df[ev_df.ds > 288]
    ev_train.to_csv(os.path.join(work, "ev_train.csv"), index=False)
    ev_test[["unique_id", "ds", "event"]].to_csv(os.path.join(work, "ev_futr.csv"), index=False)
    truth = ev_test.sort_values(["unique_id", "ds"]).y.to_numpy()

    def heldout_mae(frame):
        frame = frame.reset_index() if "unique_id" not in frame.columns else frame
        return float(np.mean(np.abs(frame.sort_values(["unique_id", "ds"]).NHITS.to_numpy() - truth)))

    theirs, ours = [], []
    for seed in (1, 2, 3):
        opts = dict(common, max_steps=500, random_seed=seed)
        nf = NeuralForecast(models=[NHITS(h=12, input_size=24, mlp_units=[[64, 64]] * 3, scaler_type="standard",
                                          futr_exog_list=["event"], cat_exog_list=["event"],
                                          categorical_cardinalities={"event": 3}, **opts)], freq=1)
        nf.fit(df=ev_train)
        theirs.append(heldout_mae(nf.predict(df=ev_train, futr_df=ev_test[["unique_id", "ds", "event"]])))
        model_path, csv_path = os.path.join(work, "ev.safetensors"), os.path.join(work, "ev.csv")
        t = subprocess.run([NHITS_BIN, "train", "--data", os.path.join(work, "ev_train.csv"), "--h", "12", "--input-size", "24",
                            "--mlp-units", "64,64;64,64;64,64", "--scaler-type", "standard", "--futr-exog-list", "event",
                            "--cat-exog-list", "event", "--max-steps", "500", "--random-seed", str(seed), "--quiet",
                            "--out", model_path], capture_output=True, text=True)
        p = subprocess.run([NHITS_BIN, "predict", "--model", model_path, "--data", os.path.join(work, "ev_train.csv"),
                            "--futr-data", os.path.join(work, "ev_futr.csv"), "--out", csv_path], capture_output=True, text=True)
        check(f"categorical training, seed {seed}: nhits train and predict", t.returncode == 0 and p.returncode == 0,
              t.stderr[-300:] + p.stderr[-300:])
        ours.append(heldout_mae(pd.read_csv(csv_path)) if p.returncode == 0 else float("inf"))
    print(f"     categorical training, held-out MAE per seed: ours {np.round(ours, 4)}, neuralforecast {np.round(theirs, 4)}")
    check(f"categorical training: mean held-out MAE {np.mean(ours):.4f} <= 1.3 x neuralforecast's {np.mean(theirs):.4f}",
          np.mean(ours) <= 1.3 * np.mean(theirs))
    check("categorical training: both far below the label-blind error (< 1.0)", max(np.mean(ours), np.mean(theirs)) < 1.0)

    # Training scaler_type="revin" with a DistributionLoss, side by side: the window's standard
    # deviation (the seasonal swing, ~3.5) is far above the noise (0.3), and the Normal's scale
    # cannot go below 0.2 window deviations in the scaled space; y's learned pair shrinks the scale
    # on the way back. Both trainers must learn it (weight well below its initial 1, alike) and
    # score alike on the held-out steps, and far better than without the pair (scaler standard).
    rrng = np.random.default_rng(7)
    rv_df = pd.concat([pd.DataFrame({"unique_id": f"s{i}", "ds": np.arange(300) + 1,
                                     "y": (50 + 10 * i + 5 * np.sin(2 * np.pi * np.arange(300) / 12) +
                                           rrng.normal(0, 0.3, 300)).round(4)}) for i in range(6)], ignore_index=True)
    rv_train = rv_df[rv_df.ds <= 288]
    rv_train.to_csv(os.path.join(work, "rv_train.csv"), index=False)
    rv_truth = rv_df[rv_df.ds > 288].sort_values(["unique_id", "ds"]).y.to_numpy()

    def heldout_nll(frame):
        frame = (frame.reset_index() if "unique_id" not in frame.columns else frame).sort_values(["unique_id", "ds"])
        loc, scale = frame["NHITS-loc"].to_numpy(), frame["NHITS-scale"].to_numpy()
        return float(np.mean(np.log(scale) + 0.5 * np.log(2 * np.pi) + 0.5 * ((rv_truth - loc) / scale) ** 2))

    from safetensors.numpy import load_file
    rv = {"theirs": [], "ours": [], "ours_standard": [], "w_theirs": [], "w_ours": []}
    for seed in (1, 2):
        nf = NeuralForecast(models=[NHITS(h=12, input_size=24, mlp_units=[[64, 64]] * 3, scaler_type="revin",
                                          loss=DistributionLoss("Normal", level=[80], return_params=True),
                                          **dict(common, max_steps=500, random_seed=seed))], freq=1)
        nf.fit(df=rv_train)
        rv["theirs"].append(heldout_nll(nf.predict(df=rv_train)))
        rv["w_theirs"].append(float(nf.models[0].scaler.revin_weight.detach().flatten()[0]))
        for scaler in ("revin", "standard"):
            model_path, csv_path = os.path.join(work, "rv.safetensors"), os.path.join(work, "rv.csv")
            t = subprocess.run([NHITS_BIN, "train", "--data", os.path.join(work, "rv_train.csv"), "--h", "12",
                                "--input-size", "24", "--mlp-units", "64,64;64,64;64,64", "--scaler-type", scaler,
                                "--loss", "DistributionLoss", "--distribution", "Normal", "--level", "80",
                                "--return-params", "--max-steps", "500", "--random-seed", str(seed), "--quiet",
                                "--out", model_path], capture_output=True, text=True)
            p = subprocess.run([NHITS_BIN, "predict", "--model", model_path, "--data", os.path.join(work, "rv_train.csv"),
                                "--out", csv_path], capture_output=True, text=True)
            check(f"revin distribution training, {scaler}, seed {seed}: nhits train and predict",
                  t.returncode == 0 and p.returncode == 0, t.stderr[-300:] + p.stderr[-300:])
            ok = p.returncode == 0
            rv["ours" if scaler == "revin" else "ours_standard"].append(heldout_nll(pd.read_csv(csv_path)) if ok else float("inf"))
            if scaler == "revin":
                rv["w_ours"].append(float(load_file(model_path)["scaler.revin_weight"].flatten()[0]) if ok else 1.0)
    print("     revin distribution training, held-out NLL per seed: ours {}, neuralforecast {}, ours without the pair {};"
          " learned revin_weight: ours {}, neuralforecast {}".format(*(np.round(rv[k], 4) for k in
                                                                      ("ours", "theirs", "ours_standard", "w_ours", "w_theirs"))))
    check(f"revin distribution training: mean held-out NLL {np.mean(rv['ours']):.4f} <= neuralforecast's "
          f"{np.mean(rv['theirs']):.4f} + 0.1", np.mean(rv["ours"]) <= np.mean(rv["theirs"]) + 0.1)
    check("revin distribution training: both learn revin_weight < 0.9, within 0.1 of each other",
          max(rv["w_ours"] + rv["w_theirs"]) < 0.9 and abs(np.mean(rv["w_ours"]) - np.mean(rv["w_theirs"])) < 0.1)
    check(f"revin distribution training: the pair gains > 0.1 nats (standard scaler {np.mean(rv['ours_standard']):.4f})",
          np.mean(rv["ours"]) < np.mean(rv["ours_standard"]) - 0.1)

    refused = {
        "tukey_loss": NHITS(h=6, input_size=12, loss=TukeyLoss(), **common),
    }
    for name, model in refused.items():
        nf = NeuralForecast(models=[model], freq=1)
        nf.fit(df=df)
        saved = os.path.join(work, name)
        nf.save(saved, overwrite=True)
        r = subprocess.run([sys.executable, TOOL, saved, "--out", os.path.join(work, name + ".safetensors")],
                           capture_output=True, text=True)
        reason = {"tukey_loss": "TukeyLoss is not supported"}[name]
        check(f"{name}: refused with the reason", r.returncode != 0 and reason in r.stderr, r.stderr[-300:])
        check(f"{name}: nothing written", not os.path.exists(os.path.join(work, name + ".safetensors")))

print("all neuralforecast import checks passed" if not failures else f"{len(failures)} failed: {failures}")
sys.exit(1 if failures else 0)
