#!/usr/bin/env python3
"""Triton's own Python client (PyPI tritonclient[http]) drives `nhits serve`: health, metadata,
and inference with JSON and with binary tensors, whose answers must agree.

Usage: tritonclient_test.py NHITS_BINARY SOURCE_DIR   (run by tritonclient_test.sh, which
provides a virtual environment with tritonclient)
"""
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import tritonclient.http as httpclient

NHITS, SRC = sys.argv[1], sys.argv[2]
AIR = os.path.join(SRC, "data", "air_passengers.csv")
work = tempfile.mkdtemp(prefix="nhits-triton-")
server = None
failures = []


def check(name, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else f": {detail}"), flush=True)
    if not cond:
        failures.append(name)


try:
    ckpt = os.path.join(work, "repo", "air", "1", "model.safetensors")
    os.makedirs(os.path.dirname(ckpt))
    subprocess.run([NHITS, "train", "--data", AIR, "--h", "12", "--input-size", "24", "--mlp-units", "16,16",
                    "--max-steps", "20", "--out", ckpt], check=True, capture_output=True)
    server = subprocess.Popen([NHITS, "serve", "--model-repository", os.path.join(work, "repo"), "--port", "0",
                               "--no-cache"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = server.stdout.readline()
    port = int(line.split("127.0.0.1:")[1].split()[0])
    client = httpclient.InferenceServerClient(url=f"127.0.0.1:{port}")
    check("is_server_live", client.is_server_live())
    check("is_server_ready", client.is_server_ready())
    check("is_model_ready", client.is_model_ready("air"))
    meta = client.get_server_metadata()
    check("get_server_metadata", meta["name"] == "nhits-engine", meta)
    mm = client.get_model_metadata("air")
    check("get_model_metadata", mm["inputs"][0]["name"] == "insample_y" and mm["outputs"][0]["shape"] == [-1, 12, 1], mm)

    y = np.array([float(l.split(",")[2]) for l in open(AIR).read().split("\n")[1:] if l], dtype=np.float32)
    batch = np.stack([y[-24:], y[-48:-24], y[-72:-48]])
    answers = {}
    for binary in (False, True):
        inp = httpclient.InferInput("insample_y", list(batch.shape), "FP32")
        inp.set_data_from_numpy(batch, binary_data=binary)
        out = httpclient.InferRequestedOutput("forecast", binary_data=binary)
        res = client.infer("air", [inp], outputs=[out], request_id="t1", priority=1)
        answers[binary] = res.as_numpy("forecast")
        check(f"infer {'binary' if binary else 'JSON'} tensors", answers[binary] is not None and
              answers[binary].shape == (3, 12, 1), None if answers[binary] is None else answers[binary].shape)
    check("binary and JSON agree", np.allclose(answers[True], answers[False], rtol=1e-6),
          np.abs(answers[True] - answers[False]).max())
    try:
        client.infer("nope", [inp])
        check("unknown model raises", False)
    except Exception as e:  # tritonclient's InferenceServerException
        check("unknown model raises with the server's message", "unknown model" in str(e), e)
    # The repository extension as tritonclient drives it: its unload sends unload_dependents,
    # and a config override on load is refused, not ignored.
    client.unload_model("air")
    check("unload_model", not client.is_model_ready("air"))
    client.load_model("air")
    check("load_model", client.is_model_ready("air"))
    client.unload_model("air", unload_dependents=True)
    check("unload_model(unload_dependents=True)", not client.is_model_ready("air"))
    try:
        client.load_model("air", config="{}")
        check("load_model(config=...) is refused", False)
    except Exception as e:
        check("load_model(config=...) is refused with a reason", "'config' is not supported" in str(e), e)
    client.load_model("air")
    check("load_model again", client.is_model_ready("air"))
finally:
    if server is not None:
        server.terminate()
        server.wait(timeout=10)
    shutil.rmtree(work, ignore_errors=True)

print("all tritonclient checks passed" if not failures else f"{len(failures)} failed: {failures}")
sys.exit(1 if failures else 0)
