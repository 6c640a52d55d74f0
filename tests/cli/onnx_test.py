#!/usr/bin/env python3
"""`nhits export --onnx` round trip: every parity fixture's model (all poolings, interpolations,
activations, scalers, losses) is exported, validated by ONNX's checker, run in ONNX Runtime, and
compared with this engine's forecasts for the same windows: FP32 within 1e-5 relative (absolute
below 1), FP16 within 5e-3. Scalers inside the graph where ONNX can express them; robust and
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
    raw = np.fromfile(ref + ".bin", dtype="<f4")
    x, m, want = raw[:n * L].reshape(n, L), raw[n * L:2 * n * L].reshape(n, L), raw[2 * n * L:].reshape(n, h, q)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
    got = sess.run(["forecast"], {"insample_y": x, "insample_mask": m})[0]
    # Dynamic batch: one window alone gives the same answer.
    one = sess.run(["forecast"], {"insample_y": x[1:2], "insample_mask": m[1:2]})[0]
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
            run_case(model, name + "_scaler", work, ["--with-scaler"], 1e-5)
    run_case(os.path.join(FIXTURES, "default_relu_maxpool_linear", "model.safetensors"), "default_fp16", work,
             ["--fp16"], 5e-3)

print("all ONNX checks passed" if not failures else f"{len(failures)} failed: {failures}")
sys.exit(1 if failures else 0)
