#!/usr/bin/env python3
"""`nhits export --onnx` round trip: every parity fixture's model (all poolings, interpolations,
activations, scalers, losses) is exported, validated by ONNX's checker, run in ONNX Runtime, and
compared with this engine's forecasts for the same windows (with hist/futr/stat exogenous inputs
for the exog_* fixtures, categorical codes looked up in the graph's embedding tables, and the mean, quantile and parameter columns of the distribution_* ones): FP32 within 1e-5 relative (absolute
below 1), FP16 within 5e-3, the INT8 QDQ graph (static activation scales) within 2e-3 of the
FP32 forecast; the TensorRT calibration cache names tensors of the graph. Scalers inside the graph where ONNX can express them; robust and
invariant must be refused with a clear message.

Usage: onnx_test.py NHITS_BINARY FIXTURE_DIR   (run by onnx_test.sh with onnx, onnxruntime, numpy)
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort

NHITS, FIXTURES = sys.argv[1], sys.argv[2]
failures = []


def check(name, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else f": {detail}"), flush=True)
    if not cond:
        failures.append(name)


def run_case(model, name, work, extra, tol):
    onnx_path, ref = os.path.join(work, name + ".onnx"), os.path.join(work, name + "_ref")
    r = subprocess.run([NHITS, "export", "--model", model, "--onnx", onnx_path, "--reference", ref] + extra,
                       capture_output=True, text=True)
    if r.returncode != 0:
        check(name, False, r.stderr.strip())
        return
    onnx.checker.check_model(onnx.load(onnx_path), full_check=True)
    meta = json.load(open(ref + ".json"))
    n, L, h, q = meta["windows"], meta["input_size"], meta["h"], meta["outputs"]
    props = {p.key: p.value for p in onnx.load(onnx_path).metadata_props}
    info = subprocess.run([NHITS, "info", "--model", model], capture_output=True, text=True).stdout
    columns = json.loads(props.get("forecast_columns", "[]"))
    check(f"{name}: metadata forecast_columns names the {q} channels as nhits info does",
          len(columns) == q and all(c in info for c in columns), (columns, info[:300]))
    raw = np.fromfile(ref + ".bin", dtype="<f4")
    feeds, at = {}, 0
    # insample, mask, then the exogenous inputs the model has (hist [L, X], futr [L + h, F], stat [S])
    for inp, dims in (("insample_y", (L,)), ("insample_mask", (L,)), ("hist_exog", (L, meta.get("hist_exog", 0))),
                       ("futr_exog", (L + h, meta.get("futr_exog", 0))), ("stat_exog", (meta.get("stat_exog", 0),))):
        size = n * int(np.prod(dims))
        if size:
            feeds[inp] = raw[at:at + size].reshape((n,) + dims)
        at += size
    want = raw[at:].reshape(n, h, q)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
    got = sess.run(["forecast"], feeds)[0]
    # Dynamic batch: one window alone gives the same answer.
    one = sess.run(["forecast"], {k: v[1:2] for k, v in feeds.items()})[0]
    rel = float(np.max(np.abs(got - want) / np.maximum(np.abs(want), 1.0)))
    check(f"{name}: ORT vs nhits max rel {rel:.2e} (bound {tol:g})", got.shape == want.shape and rel <= tol,
          f"shape {got.shape} vs {want.shape}, rel {rel}")
    check(f"{name}: dynamic batch", np.allclose(one, got[1:2], rtol=1e-6, atol=1e-6))


with tempfile.TemporaryDirectory(prefix="nhits-onnx-") as work:
    names = sorted(d for d in os.listdir(FIXTURES) if os.path.isfile(os.path.join(FIXTURES, d, "model.safetensors")))
    for name in names:
        model = os.path.join(FIXTURES, name, "model.safetensors")
        run_case(model, name, work, [], 1e-5)
        scaler = json.loads(subprocess.run([NHITS, "info", "--model", model], capture_output=True, text=True)
                            .stdout.split("config       ")[1].split("\n")[0])["scaler_type"]
        if scaler in ("robust", "invariant"):
            r = subprocess.run([NHITS, "export", "--model", model, "--onnx", os.path.join(work, "x.onnx"), "--with-scaler"],
                               capture_output=True, text=True)
            check(f"{name}: --with-scaler refused for {scaler}", r.returncode != 0 and "median" in r.stderr, r.stderr)
            check(f"{name}: nothing written when refused", not os.path.exists(os.path.join(work, "x.onnx")))
        else:
            # The graph's scaler runs in float32 (the engine's in float64): a window's std carries
            # ~1e-5 relative error, which a DistributionLoss scale column shows undiluted by the level.
            run_case(model, name + "_scaler", work, ["--with-scaler"], 5e-5 if name.startswith("distribution_") else 1e-5)
    run_case(os.path.join(FIXTURES, "default_relu_maxpool_linear", "model.safetensors"), "default_fp16", work,
             ["--fp16"], 5e-3)
    run_case(os.path.join(FIXTURES, "exog_hist_futr_stat_standard", "model.safetensors"), "exog_fp16_scaler", work,
             ["--fp16", "--with-scaler"], 5e-3)
    # Categorical columns: the reference windows carry codes 0..cardinality + 1 (unseen at both ends),
    # which the graph looks up in its embedding tables (row 0: the unseen mean), in FP16 too.
    run_case(os.path.join(FIXTURES, "exog_categorical_standard", "model.safetensors"), "categorical_fp16_scaler", work,
             ["--fp16", "--with-scaler"], 5e-3)

    # A Student-t model with the scaler inside (no fixture has one: the robust scaler cannot be):
    # its quantiles from the Chebyshev series in the graph, in FP32 and FP16.
    air = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(FIXTURES)))), "data",
                       "air_passengers.csv")
    st = os.path.join(work, "studentt.safetensors")
    r = subprocess.run([NHITS, "train", "--data", air, "--h", "12", "--input-size", "24", "--mlp-units", "16,16",
                        "--max-steps", "50", "--scaler-type", "standard", "--loss", "DistributionLoss", "--distribution",
                        "StudentT", "--level", "50,90,99", "--return-params", "--quiet", "--out", st],
                       capture_output=True, text=True)
    check("train a Student-t model", r.returncode == 0, r.stderr)
    run_case(st, "studentt_standard_scaler", work, ["--with-scaler"], 5e-5)
    run_case(st, "studentt_standard", work, [], 1e-5)
    run_case(st, "studentt_fp16_scaler", work, ["--fp16", "--with-scaler"], 5e-3)

    # INT8: quantise with calibration (which records activation ranges), export the QDQ graph and
    # TensorRT's calibration cache; ORT runs it within the stated INT8 bound.
    src = os.path.join(FIXTURES, "sigmoid_mqloss")
    q8 = os.path.join(work, "q8.safetensors")
    r = subprocess.run([NHITS, "quantize", "--model", os.path.join(src, "model.safetensors"), "--calibration",
                        os.path.join(src, "input.csv"), "--holdout", "0.3", "--out", q8], capture_output=True, text=True)
    check("quantize for the INT8 graph", r.returncode == 0, r.stderr)
    cache = os.path.join(work, "q8.cache")
    run_case(q8, "sigmoid_mqloss_int8_qdq", work, ["--int8", "--with-scaler", "--tensorrt-cache", cache], 2e-3)
    graph = onnx.load(os.path.join(work, "sigmoid_mqloss_int8_qdq.onnx")).graph
    ops = [n.op_type for n in graph.node]
    check("INT8 graph has QuantizeLinear/DequantizeLinear", ops.count("QuantizeLinear") >= 1 and ops.count("DequantizeLinear") >= 2)
    lines = open(cache).read().splitlines()
    outputs = {o for n in graph.node for o in n.output}
    entries = [l.split(": ") for l in lines[1:]]
    check("TensorRT cache format", lines[0].startswith("TRT-") and entries and
          all(len(e) == 2 and len(e[1]) == 8 and int(e[1], 16) > 0 for e in entries), lines[:3])
    check("TensorRT cache names graph tensors", all(e[0] in outputs for e in entries), [e[0] for e in entries if e[0] not in outputs])
    # INT8 QDQ with exogenous inputs, on real windows (random reference windows would sit outside
    # the calibrated static ranges): the fixture's three series against neuralforecast's forecasts.
    fx = os.path.join(FIXTURES, "exog_hist_futr_stat_standard")
    q8x = os.path.join(work, "q8x.safetensors")
    r = subprocess.run([NHITS, "quantize", "--model", os.path.join(fx, "model.safetensors"), "--calibration",
                        os.path.join(fx, "input.csv"), "--static-data", os.path.join(fx, "static.csv"), "--holdout", "0.3",
                        "--out", q8x], capture_output=True, text=True)
    check("quantize an exogenous model", r.returncode == 0, r.stderr)
    r = subprocess.run([NHITS, "export", "--model", q8x, "--onnx", os.path.join(work, "q8x.onnx"), "--int8", "--with-scaler"],
                       capture_output=True, text=True)
    check("export its INT8 QDQ graph", r.returncode == 0, r.stderr)
    if r.returncode == 0:
        def rows(name):
            lines = open(os.path.join(fx, name)).read().split("\n")
            return [dict(zip(lines[0].split(","), l.split(","))) for l in lines[1:] if l]
        data, futr, static, want = rows("input.csv"), rows("futr.csv"), rows("static.csv"), rows("expected.csv")
        ids = sorted({d["unique_id"] for d in data})
        last = {u: [d for d in data if d["unique_id"] == u][-24:] for u in ids}
        feeds = {
            "insample_y": np.array([[float(d["y"]) for d in last[u]] for u in ids], dtype=np.float32),
            "hist_exog": np.array([[[float(d["volume"]), float(d["spread"])] for d in last[u]] for u in ids], dtype=np.float32),
            "futr_exog": np.array([[[float(d["promo"])] for d in last[u] + [f for f in futr if f["unique_id"] == u]]
                                   for u in ids], dtype=np.float32),
            "stat_exog": np.array([[float(s["size"]), float(s["sector"])] for u in ids for s in static if s["unique_id"] == u],
                                  dtype=np.float32)}
        feeds["insample_mask"] = np.ones_like(feeds["insample_y"])
        got = ort.InferenceSession(os.path.join(work, "q8x.onnx"), providers=["CPUExecutionProvider"]).run(["forecast"], feeds)[0]
        ref = np.array([[float(w["NHITS"]) for w in want if w["unique_id"] == u] for u in ids], dtype=np.float32)
        rel = float(np.max(np.abs(got[:, :, 0] - ref) / np.abs(ref)))
        check(f"exogenous INT8 QDQ graph vs neuralforecast's forecasts: max rel {rel:.1e} (bound 5e-3)", rel <= 5e-3)
    r = subprocess.run([NHITS, "export", "--model", os.path.join(src, "model.safetensors"), "--onnx",
                        os.path.join(work, "no.onnx"), "--int8"], capture_output=True, text=True)
    check("--int8 refused for an FP32 checkpoint", r.returncode != 0 and "nhits quantize" in r.stderr, r.stderr)

print("all ONNX checks passed" if not failures else f"{len(failures)} failed: {failures}")
sys.exit(1 if failures else 0)
