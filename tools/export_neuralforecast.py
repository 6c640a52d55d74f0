#!/usr/bin/env python3
"""Convert an NHITS saved by neuralforecast into an NHITS Engine checkpoint.

    python tools/export_neuralforecast.py SAVED --out model.safetensors [--model-index 0]

SAVED is the folder written by `NeuralForecast.save(path)` or one model file from it:
NHITS_<i>.safetensors (neuralforecast 3.x, "v2" checkpoints) or NHITS_<i>.ckpt (older, Lightning
pickles, read with neuralforecast's restricted unpickler); <alias>_<i>.* for NHITS(alias=...),
whose alias then names the forecast columns of `nhits predict`. The state_dict is written unchanged (neuralforecast's parameter names, float32)
with the configuration as JSON in __metadata__["nhits_config"], plus where it came from
("source", "neuralforecast_version", "converted_from"). `nhits info` shows both.

Conformal prediction intervals (fit(prediction_intervals=...)) carry over as their conformity
scores (`nhits predict --level`), and NeuralForecast(local_scaler_type=...) as the checkpoint's
local_scaler_type (`nhits predict` scales each series with it; boxcox is refused). Exogenous
inputs (futr/hist/stat_exog_list) carry over, categorical ones (cat_exog_list) with their
embeddings and the folder's fit-time vocabulary (a single model file lacks it). Also refused, with the reason: losses other than MAE,
MSE, RMSE, HuberLoss, QuantileLoss, HuberQLoss, MQLoss and HuberMQLoss (level=... or quantiles=...,
in neuralforecast's channel order) and DistributionLoss with the Normal or StudentT distribution, stack types other than identity, and a different valid_loss is
ignored (it does not change the forecast).

Needs the Python packages neuralforecast (with torch) and safetensors; the engine itself never
runs Python.
"""
import argparse
import json
import os
import sys


def fail(msg):
    sys.exit(f"export_neuralforecast: error: {msg}")


def load_folder(folder):
    """The NeuralForecast object saved in `folder`: its settings (local_scaler_type, prediction
    intervals) change the forecasts, so a folder it cannot load is refused, not half converted."""
    from neuralforecast import NeuralForecast
    try:
        return NeuralForecast.load(folder)
    except Exception as e:
        fail(f"{folder}: NeuralForecast.load failed ({type(e).__name__}: {e}); without it the folder's settings "
             "(local_scaler_type, prediction intervals) would be lost. An older folder (.ckpt, dataset.pkl) "
             "converts after `python -m neuralforecast.migrate` rewrites it; or pass one model file itself "
             "(NHITS_0.safetensors or NHITS_0.ckpt) to convert it without those settings")


def nhits_files(folder, nf):
    """[(model file, forecast column)] of each NHITS in the folder, by file name. NeuralForecast.load
    reads a folder with configuration.json as *.safetensors in name order, others as *.ckpt in
    directory order; its j-th model of a name comes from the j-th file of that name in that order.
    save() names a file <alias or class>_<k>, k counting the models of that name, and the
    forecast column <name><k> (no number for k = 0)."""
    listing = os.listdir(folder)
    if "configuration.json" in listing:
        files = sorted(f for f in listing if f.endswith(".safetensors")
                       and f not in ("dataset.safetensors", "configuration.safetensors"))
    else:
        files = [f for f in listing if f.endswith(".ckpt")]
    by_name = {}
    for f in files:
        by_name.setdefault(f.rsplit(".", 1)[0].rsplit("_", 1)[0], []).append(f)
    seen, out = {}, []
    for m in nf.models:
        name = str(m.alias) if getattr(m, "alias", None) else type(m).__name__
        j = seen.get(name, 0)
        seen[name] = j + 1
        if type(m).__name__ != "NHITS" or j >= len(by_name.get(name, [])):
            continue
        f = by_name[name][j]
        k = int(f.rsplit(".", 1)[0].rsplit("_", 1)[1])
        out.append((os.path.join(folder, f), name + (str(k) if k > 0 else "")))
    return sorted(out)


def conformal_scores(nf, column):
    """The conformity scores of fit(prediction_intervals=...) from the folder's configuration, if
    any, in the model's forecast column (its alias, or NHITS, NHITS1, ...): {method, n_windows,
    step_size, scores: {unique_id: [n_windows * h]}} (window-major)."""
    cs, pi = getattr(nf, "_cs_df", None), getattr(nf, "prediction_intervals", None)
    if cs is None or pi is None or column not in cs.columns:
        return None
    if not hasattr(cs, "sort_values"):  # polars
        cs = cs.to_pandas()
    cs = cs.sort_values(["unique_id", "cutoff", "ds"])
    return {"method": pi.method, "n_windows": int(pi.n_windows), "step_size": int(pi.step_size),
            "scores": {str(u): [float(v) for v in g[column]] for u, g in cs.groupby("unique_id", sort=True)}}


def label_text(value):
    """A vocabulary label as the engine matches it against CSV text: numpy scalars as Python's,
    whole floats as pandas writes them back ("3.0" matches "3" by value in the engine)."""
    value = value.item() if hasattr(value, "item") else value
    return value if isinstance(value, str) else repr(value)


def categorical_config(path, hp, model, nf):
    """cat_exog_list with its cardinalities, resolved embedding sizes and the vocabulary that
    NeuralForecast built at fit time (label -> code 1..n; the engine codes CSV labels with it)."""
    cat = [str(c) for c in (hp.get("cat_exog_list") or [])]
    if not cat:
        return {}
    vocab = getattr(nf, "categorical_vocab_", None) if nf is not None else None
    if not vocab:
        fail(f"{path}: cat_exog_list={cat}: the labels' vocabulary is kept by the NeuralForecast object, not "
             "the model file: convert the folder NeuralForecast.save wrote")
    out = {"cat_exog_list": cat, "categorical_cardinalities": {}, "categorical_emb_dims": {}, "categorical_vocab": {}}
    for c in cat:
        if c not in vocab:
            fail(f"{path}: no vocabulary for categorical column '{c}' in the folder's NeuralForecast object")
        codes = vocab[c]
        labels = sorted(codes, key=codes.get)
        if [codes[v] for v in labels] != list(range(1, len(labels) + 1)):
            fail(f"{path}: the vocabulary of '{c}' does not code its labels 1..{len(labels)}")
        out["categorical_cardinalities"][c] = int(hp["categorical_cardinalities"][c])
        out["categorical_emb_dims"][c] = int(model._cat_emb_dim(c))
        out["categorical_vocab"][c] = [label_text(v) for v in labels]
    return out


def typed_quantiles(loss):
    """The loss's quantiles in channel order; the tensor is float32, so back to the decimals the
    user typed (0.05, not 0.0500000007)."""
    return [float(f"{float(v):.7g}") for v in loss.quantiles.detach().cpu().numpy()]


def symmetric_levels(quantiles):
    """The levels whose median-plus-pairs quantiles are exactly these (as a set), else None.
    Whole levels as ints (80), others as floats (97.5)."""
    q = sorted(quantiles)
    levels = sorted({(lambda l: int(round(l)) if abs(l - round(l)) < 1e-4 else round(l, 4))(200 * (0.5 - v))
                     for v in q if v < 0.5})
    expected = sorted([0.5] + [0.5 - l / 200 for l in levels] + [0.5 + l / 200 for l in levels])
    same = len(q) == len(expected) and all(abs(a - b) <= 1e-6 for a, b in zip(q, expected))
    return levels if same and levels else None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("saved", help="folder from NeuralForecast.save(), or an NHITS_<i>.safetensors/.ckpt file")
    ap.add_argument("--out", required=True, help="safetensors checkpoint to write")
    ap.add_argument("--model-index", type=int, default=0,
                    help="which NHITS of the folder when it holds several: 0 the first, in the order of their files' names")
    args = ap.parse_args()

    import neuralforecast
    import torch
    from neuralforecast.models import NHITS
    from safetensors.torch import save_file

    path = args.saved
    nf, local_scaler, column = None, None, None
    if os.path.isdir(path):
        nf = load_folder(path)
        local_scaler = getattr(nf, "local_scaler_type", None)
        if local_scaler not in (None, "standard", "robust", "robust-iqr", "minmax"):
            fail(f"{path}: NeuralForecast(local_scaler_type={local_scaler!r}): the engine scales series with "
                 "standard, robust, robust-iqr or minmax only (boxcox is not supported)")
        if getattr(nf, "local_static_scaler_type", None) is not None:
            fail(f"{path}: NeuralForecast(local_static_scaler_type={nf.local_static_scaler_type!r}) is not "
                 "supported by the engine yet")
        nhits = nhits_files(path, nf)
        if not nhits:
            fail(f"{path} holds no NHITS model (models: {', '.join(type(m).__name__ for m in nf.models) or 'none'})")
        if not 0 <= args.model_index < len(nhits):
            fail(f"--model-index {args.model_index}: {path} holds {len(nhits)} NHITS model(s): "
                 + ", ".join(f"{i}: {os.path.basename(f)}" for i, (f, _) in enumerate(nhits)))
        path, column = nhits[args.model_index]
        if len(nhits) > 1:
            print(f"export_neuralforecast: converting {os.path.basename(path)} (NHITS {args.model_index} of {len(nhits)})",
                  file=sys.stderr)
    elif not os.path.isfile(path):
        fail(f"{path}: no such file or folder")
    else:
        print(f"export_neuralforecast: note: {path} is one model file; NeuralForecast's own settings "
              "(local_scaler_type, prediction intervals) are in its folder: convert the folder to keep them",
              file=sys.stderr)

    try:
        model = NHITS.load(path, map_location="cpu")
    except Exception as e:
        fail(f"{path}: not an NHITS model neuralforecast can load ({type(e).__name__}: {e})")
    hp = dict(model.hparams)
    # neuralforecast names the forecast columns (and the conformity scores) by the model's alias
    # (a second un-aliased NHITS answers as NHITS1: that name too)
    alias = column if column and column != "NHITS" else (hp.get("alias") or None)
    conformal = conformal_scores(nf, column) if nf is not None else None  # a single file has none
    if local_scaler is not None and conformal is not None:
        fail(f"{path}: prediction intervals with local_scaler_type={local_scaler!r} are not supported by "
             "the engine yet")

    categorical = categorical_config(path, hp, model, nf)
    stack_types = hp.get("stack_types") or ["identity"] * len(hp.get("n_blocks", [1, 1, 1]))
    if any(s != "identity" for s in stack_types):
        fail(f"{path}: stack_types={stack_types}: only 'identity' stacks are supported")

    loss = model.loss
    loss_name = type(loss).__name__
    config = {
        "h": int(hp["h"]),
        "input_size": int(hp["input_size"]),
        "n_blocks": [int(v) for v in hp["n_blocks"]],
        "mlp_units": [[int(a), int(b)] for a, b in hp["mlp_units"]],
        "n_pool_kernel_size": [int(v) for v in hp["n_pool_kernel_size"]],
        "n_freq_downsample": [int(v) for v in hp["n_freq_downsample"]],
        "pooling_mode": hp["pooling_mode"],
        "interpolation_mode": hp["interpolation_mode"],
        "activation": hp["activation"],
        "dropout_prob_theta": float(hp.get("dropout_prob_theta", 0.0)),
        "scaler_type": hp.get("scaler_type") or "identity",
    }
    if hp.get("exclude_insample_y"):
        config["exclude_insample_y"] = True
    if local_scaler is not None:
        config["local_scaler_type"] = local_scaler
    for key in ("futr_exog_list", "hist_exog_list", "stat_exog_list"):
        if hp.get(key):
            config[key] = [str(v) for v in hp[key]]
    config.update(categorical)
    if loss_name in ("MAE", "MSE", "RMSE", "MAPE", "SMAPE"):
        config["loss"] = loss_name
    elif loss_name == "HuberLoss":
        config["loss"] = "HuberLoss"
        config["delta"] = float(loss.delta)
    elif loss_name in ("QuantileLoss", "HuberQLoss"):
        config["loss"] = loss_name
        config["q"] = float(loss.q)
        if loss_name == "HuberQLoss":
            config["delta"] = float(loss.delta)
    elif loss_name in ("MQLoss", "HuberMQLoss"):
        config["loss"] = loss_name
        q_model = typed_quantiles(loss)
        levels = symmetric_levels(q_model)
        # MQLoss(level=...) orders its channels median first, then ascending, named -lo-80 /
        # -hi-80; MQLoss(quantiles=...) keeps the order given, named -lo-80.0: anything but
        # the level layout is written as the quantile list itself.
        level_names = ["-median"] + [f"-lo-{l}" for l in reversed(levels or [])] + [f"-hi-{l}" for l in levels or []]
        if levels and q_model == [0.5] + sorted(v for v in q_model if v != 0.5) and list(loss.output_names) == level_names:
            config["level"] = levels
        else:
            config["quantiles"] = q_model
        if loss_name == "HuberMQLoss":
            config["delta"] = float(loss.delta)
    elif loss_name == "DistributionLoss":
        if loss.distribution not in ("Normal", "StudentT"):
            fail(f"{path}: DistributionLoss(distribution='{loss.distribution}') is not supported "
                 "(Normal and StudentT are)")
        q = sorted(typed_quantiles(loss))
        levels = symmetric_levels(q)
        if not levels:
            # Its quantiles only name output columns, and neuralforecast's predict(level=...) /
            # predict(quantiles=...) overwrite them in place (update_quantile): use its default
            # levels; `nhits predict --level` decodes any others from the same weights.
            print(f"note: {path}: DistributionLoss quantiles {q} are what the last neuralforecast predict() asked "
                  "for, not the trained levels; using level=[80, 90] (nhits predict --level picks others)",
                  file=sys.stderr)
            levels = [80, 90]
        config["loss"] = loss_name
        config["level"] = levels
        config["distribution"] = loss.distribution
        config["return_params"] = bool(loss.return_params)
    else:
        fail(f"{path}: loss {loss_name} is not supported (MAE, MSE, RMSE, MAPE, SMAPE, HuberLoss, QuantileLoss, HuberQLoss, "
             "MQLoss, HuberMQLoss, DistributionLoss(Normal|StudentT))")

    tensors = {k: v.detach().to(torch.float32).cpu().contiguous() for k, v in model.state_dict().items()
               if not k.startswith("valid_loss.")}
    if loss_name == "DistributionLoss":  # the quantiles of the levels written (see above)
        qs = sorted([0.5 - l / 200 for l in levels] + [0.5 + l / 200 for l in levels])
        tensors["loss.quantiles"] = torch.tensor([0.5] + qs, dtype=torch.float32)
    metadata = {
        "nhits_config": json.dumps(config),
        **({"nhits_conformal": json.dumps(dict(conformal, h=config["h"]))} if conformal else {}),
        "source": "neuralforecast",
        **({"alias": alias} if alias else {}),
        "neuralforecast_version": neuralforecast.__version__,
        "converted_from": os.path.abspath(path),
    }
    out_dir = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(out_dir):
        fail(f"{out_dir}: the output folder does not exist")
    tmp = args.out + ".tmp"
    save_file(tensors, tmp, metadata=metadata)
    os.replace(tmp, args.out)  # nothing half-written on a crash
    print(f"wrote {args.out}: {len(tensors)} tensors, {json.dumps(config)}")


if __name__ == "__main__":
    main()
