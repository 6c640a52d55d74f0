#!/usr/bin/env python3
"""`nhits serve` over real HTTP on a free loopback port: the KServe v2 endpoints, JSON and binary
tensors, /v1/forecast against `nhits predict`, every bad input, /metrics, hot reload under load,
a slow client, and a clean exit on SIGTERM.

Usage: server_test.py NHITS_BINARY SOURCE_DIR   (standard library only)
"""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

NHITS, SRC = sys.argv[1], sys.argv[2]
AIR = os.path.join(SRC, "data", "air_passengers.csv")
failures = []


def check(name, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else f": {detail}"), flush=True)
    if not cond:
        failures.append(name)


def http(method, path, body=None, headers=None, timeout=10):
    req = urllib.request.Request(BASE + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


def post_json(path, obj):
    return http("POST", path, json.dumps(obj).encode(), {"Content-Type": "application/json"})


work = tempfile.mkdtemp(prefix="nhits-serve-")
server = None
try:
    ckpt = os.path.join(work, "m.safetensors")
    subprocess.run([NHITS, "train", "--data", AIR, "--h", "12", "--input-size", "24", "--mlp-units", "16,16",
                    "--max-steps", "30", "--scaler-type", "robust", "--random-seed", "1", "--out", ckpt],
                   check=True, capture_output=True)
    os.makedirs(os.path.join(work, "repo", "air", "1"))
    shutil.copy(ckpt, os.path.join(work, "repo", "air", "1", "model.safetensors"))
    server = subprocess.Popen([NHITS, "serve", "--model-repository", os.path.join(work, "repo"), "--port", "0",
                               "--max-body-mb", "1", "--read-timeout-s", "1", "--no-cache", "--max-batch-size", "8"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = server.stdout.readline()
    check("server prints where it listens", "listening on http://127.0.0.1:" in line, line)
    port = int(line.split("127.0.0.1:")[1].split()[0])
    BASE = f"http://127.0.0.1:{port}"

    # ---- health and metadata ----
    check("live", http("GET", "/v2/health/live")[0] == 200)
    check("ready", http("GET", "/v2/health/ready")[0] == 200)
    s, b, _ = http("GET", "/v2")
    check("server metadata lists extensions", s == 200 and "binary_tensor_data" in json.loads(b)["extensions"], b)
    s, b, _ = http("GET", "/v2/models/air")
    meta = json.loads(b)
    check("model metadata", s == 200 and meta["inputs"][0]["shape"] == [-1, 24] and meta["outputs"][0]["shape"] == [-1, 12, 1], b)
    check("model ready", http("GET", "/v2/models/air/ready")[0] == 200)
    check("version ready", http("GET", "/v2/models/air/versions/1/ready")[0] == 200)

    # ---- infer: JSON, binary, /v1/forecast vs nhits predict ----
    y = [float(l.split(",")[2]) for l in open(AIR).read().split("\n")[1:] if l]
    window = y[-24:]
    s, b, _ = post_json("/v2/models/air/infer", {"id": "r1", "inputs": [
        {"name": "insample_y", "datatype": "FP32", "shape": [2, 24], "data": window + y[-48:-24]}]})
    out = json.loads(b)
    check("infer JSON", s == 200 and out["outputs"][0]["shape"] == [2, 12, 1] and out["id"] == "r1", b[:300])
    json_forecast = out["outputs"][0]["data"][:12]

    header = json.dumps({"inputs": [{"name": "insample_y", "datatype": "FP32", "shape": [1, 24],
                                      "parameters": {"binary_data_size": 96}}],
                         "outputs": [{"name": "forecast", "parameters": {"binary_data": True}}]}).encode()
    s, b, h = http("POST", "/v2/models/air/infer", header + struct.pack("<24f", *window),
                   {"Inference-Header-Content-Length": str(len(header)), "Content-Type": "application/octet-stream"})
    n = int(h.get("Inference-Header-Content-Length", "0"))
    binary_forecast = list(struct.unpack("<12f", b[n:n + 48])) if s == 200 and len(b) >= n + 48 else []
    check("infer binary tensors", s == 200 and json.loads(b[:n])["outputs"][0]["parameters"]["binary_data_size"] == 48, b[:200])
    check("binary equals JSON", binary_forecast and max(abs(a - c) for a, c in zip(binary_forecast, json_forecast)) < 1e-4,
          (binary_forecast, json_forecast))

    subprocess.run([NHITS, "predict", "--model", ckpt, "--data", AIR, "--out", os.path.join(work, "f.csv")],
                   check=True, capture_output=True)
    cli = [float(l.split(",")[2]) for l in open(os.path.join(work, "f.csv")).read().split("\n")[1:] if l]
    s, b, _ = post_json("/v1/forecast", {"series": [{"id": "AirPassengers", "values": y}]})
    fc = json.loads(b)["forecasts"][0]["NHITS"] if s == 200 else []
    check("/v1/forecast equals nhits predict", fc and max(abs(a - c) / abs(c) for a, c in zip(fc, cli)) < 1e-5, (fc, cli))
    check("/v1/forecast: a full history is not marked padded", s == 200 and "padded_inputs" not in json.loads(b)["forecasts"][0], b[:200])
    s, b, _ = post_json("/v1/forecast", {"series": [{"id": "short", "values": y[-5:]}]})
    check("/v1/forecast: a short history says how many inputs were padded (24 - 5)",
          s == 200 and json.loads(b)["forecasts"][0].get("padded_inputs") == 19, b[:200])
    check("infer equals nhits predict", max(abs(a - c) / abs(c) for a, c in zip(json_forecast, cli)) < 1e-5)
    # More series in one call than a priority level queues (1024): they travel as requests of up
    # to max_batch_size (8) windows, and each answer is that series' own forecast.
    many = [{"id": f"s{i}", "values": [v * (1 + i / 3000) for v in y[-24:]]} for i in range(2000)]
    s, b, _ = post_json("/v1/forecast", {"series": many})
    got = json.loads(b)["forecasts"] if s == 200 else []
    alone = [json.loads(post_json("/v1/forecast", {"series": [many[i]]})[1])["forecasts"][0]["NHITS"] for i in (0, 7, 8, 1999)]
    check("/v1/forecast: 2000 series in one call (over max_queue_size 1024), each its own forecast",
          len(got) == 2000 and [f["id"] for f in got[:3]] == ["s0", "s1", "s2"] and
          all(max(abs(a - c) / abs(c) for a, c in zip(got[i]["NHITS"], want)) < 1e-5
              for i, want in zip((0, 7, 8, 1999), alone)), f"{s} {b[:200]!r}")
    # null marks a missing point: the same forecast as /v2 with that point masked and holding the
    # last observed value (as `nhits predict` fills an available_mask 0).
    holed = list(y[-24:])
    holed[5] = None
    s, b, _ = post_json("/v1/forecast", {"series": [{"id": "h", "values": holed}]})
    v1_holed = json.loads(b)["forecasts"][0]["NHITS"] if s == 200 else []
    mask = [1.0] * 24
    mask[5] = 0.0
    s2, b2, _ = post_json("/v2/models/air/infer", {"inputs": [
        {"name": "insample_y", "datatype": "FP32", "shape": [1, 24], "data": [holed[4] if v is None else v for v in holed]},
        {"name": "insample_mask", "datatype": "FP32", "shape": [1, 24], "data": mask}]})
    v2_holed = json.loads(b2)["outputs"][0]["data"] if s2 == 200 else []
    check("/v1/forecast: null is a missing point, as /v2's insample_mask 0",
          v1_holed and v2_holed and max(abs(a - c) / abs(c) for a, c in zip(v1_holed, v2_holed)) < 1e-6 and v1_holed != fc,
          f"{s} {b[:200]!r} {s2} {b2[:200]!r}")

    # ---- exogenous inputs: a model trained in neuralforecast (parity fixture) against its own
    # predict, through /v2 infer (hist_exog, futr_exog, stat_exog tensors) and /v1 (named columns) ----
    fx = os.path.join(SRC, "tests", "fixtures", "parity", "exog_hist_futr_stat_standard")
    os.makedirs(os.path.join(work, "repo", "exo", "1"))
    shutil.copy(os.path.join(fx, "model.safetensors"), os.path.join(work, "repo", "exo", "1", "model.safetensors"))
    check("load a model with exogenous inputs", http("POST", "/v2/repository/models/exo/load")[0] == 200)

    def rows(path):
        lines = open(path).read().split("\n")
        head = lines[0].split(",")
        return [dict(zip(head, l.split(","))) for l in lines[1:] if l]

    def load_fixture(fixture, name):
        """Puts a parity fixture's model into the repository as `name` and loads it; returns its
        series ids, the /v1 series of its input and its expected rows."""
        fdir = os.path.join(SRC, "tests", "fixtures", "parity", fixture)
        os.makedirs(os.path.join(work, "repo", name, "1"))
        shutil.copy(os.path.join(fdir, "model.safetensors"), os.path.join(work, "repo", name, "1", "model.safetensors"))
        check(f"load {fixture} as '{name}'", http("POST", f"/v2/repository/models/{name}/load")[0] == 200)
        data = rows(os.path.join(fdir, "input.csv"))
        ids = sorted({r["unique_id"] for r in data})
        return ids, [{"id": u, "values": [float(r["y"]) for r in data if r["unique_id"] == u]} for u in ids], \
            rows(os.path.join(fdir, "expected.csv"))

    def v1_columns_rel(body, ids, cols, want):
        """Max relative difference of a /v1/forecast answer's columns from the expected rows."""
        got = [x for fc in json.loads(body)["forecasts"] for c in cols for x in fc.get(c, [])]
        ref = [float(w[c]) for u in ids for c in cols for w in want if w["unique_id"] == u]
        return max((abs(a - c) / max(1.0, abs(c)) for a, c in zip(got, ref)), default=1.0) if len(got) == len(ref) else 1.0
    data, futr, static, want = (rows(os.path.join(fx, f)) for f in ("input.csv", "futr.csv", "static.csv", "expected.csv"))
    ids = sorted({r["unique_id"] for r in data})
    by = {u: [r for r in data if r["unique_id"] == u] for u in ids}
    ys, hist, fut, stat, expected = [], [], [], [], []
    for u in ids:
        d, f = by[u][-24:], [r for r in futr if r["unique_id"] == u]
        ys += [float(r["y"]) for r in d]
        hist += [float(r[c]) for r in d for c in ("volume", "spread")]
        fut += [float(r["promo"]) for r in d + f]
        st = next(r for r in static if r["unique_id"] == u)
        stat += [float(st["size"]), float(st["sector"])]
        expected += [float(r["NHITS"]) for r in want if r["unique_id"] == u]
    s, b, _ = http("GET", "/v2/models/exo")
    shapes = {i["name"]: i["shape"] for i in json.loads(b)["inputs"]} if s == 200 else {}
    check("metadata lists the exogenous inputs", shapes.get("hist_exog") == [-1, 24, 2] and shapes.get("futr_exog") == [-1, 36, 1]
          and shapes.get("stat_exog") == [-1, 2], b[:400])
    s, b, _ = post_json("/v2/models/exo/infer", {"inputs": [
        {"name": "insample_y", "datatype": "FP32", "shape": [3, 24], "data": ys},
        {"name": "hist_exog", "datatype": "FP32", "shape": [3, 24, 2], "data": hist},
        {"name": "futr_exog", "datatype": "FP32", "shape": [3, 36, 1], "data": fut},
        {"name": "stat_exog", "datatype": "FP32", "shape": [3, 2], "data": stat}]})
    got = json.loads(b)["outputs"][0]["data"] if s == 200 else []
    rel = max((abs(a - c) / max(1.0, abs(c)) for a, c in zip(got, expected)), default=1.0) if len(got) == len(expected) else 1.0
    check(f"infer with exogenous inputs equals neuralforecast's predict (max rel {rel:.1e})", rel < 1e-5, b[:300])
    series = []
    for u in ids:
        d, f = by[u], [r for r in futr if r["unique_id"] == u]
        st = next(r for r in static if r["unique_id"] == u)
        series.append({"id": u, "values": [float(r["y"]) for r in d],
                       "hist": {c: [float(r[c]) for r in d] for c in ("volume", "spread")},
                       "futr": {"promo": [float(r["promo"]) for r in d + f]},
                       "static": {"size": float(st["size"]), "sector": float(st["sector"])}})
    s, b, _ = post_json("/v1/forecast", {"model": "exo", "series": series})
    v1 = [x for fc in json.loads(b)["forecasts"] for x in fc["NHITS"]] if s == 200 else []
    rel = max((abs(a - c) / max(1.0, abs(c)) for a, c in zip(v1, expected)), default=1.0) if len(v1) == len(expected) else 1.0
    check(f"/v1/forecast with named exogenous columns equals neuralforecast's predict (max rel {rel:.1e})", rel < 1e-5, b[:300])
    s, b, _ = post_json("/v2/models/exo/infer", {"inputs": [{"name": "insample_y", "datatype": "FP32", "shape": [1, 24], "data": ys[:24]}]})
    check("infer without the exogenous inputs -> 400 naming one", s == 400 and "hist_exog' [batch, 24, 2] is required" in b.decode(), b[:300])
    series[0]["futr"]["promo"] = series[0]["futr"]["promo"][:-1]
    s, b, _ = post_json("/v1/forecast", {"model": "exo", "series": series[:1]})
    check("/v1 futr column one value short -> 400 with the count", s == 400 and "needs 132 (len(values) + h)" in b.decode(), b[:300])
    check("unload the exogenous model", http("POST", "/v2/repository/models/exo/unload")[0] == 200)

    # ---- conformal intervals: a neuralforecast model with its conformity scores (parity fixture),
    # /v1/forecast with "level" against neuralforecast's predict(level=[80, 90]) ----
    ids, series, want = load_fixture("conformal_distribution_mae", "pi")
    s, b, _ = post_json("/v1/forecast", {"model": "pi", "level": [90, 80], "series": series})
    cols = ["NHITS", "NHITS-lo-90", "NHITS-lo-80", "NHITS-hi-80", "NHITS-hi-90"]
    rel = v1_columns_rel(b, ids, cols, want) if s == 200 else 1.0
    check(f"/v1/forecast level equals neuralforecast's predict(level=[80, 90]) (max rel {rel:.1e})", rel < 1e-5, b[:300])
    s, b, _ = post_json("/v1/forecast", {"model": "pi", "level": [97.5], "series": series[:1]})
    check("/v1/forecast with a fractional level names its columns -lo-97.5/-hi-97.5",
          s == 200 and {"NHITS-lo-97.5", "NHITS-hi-97.5"} <= set(json.loads(b)["forecasts"][0]), b[:300])
    s, b, _ = post_json("/v1/forecast", {"model": "pi", "level": [100], "series": series[:1]})
    check("level 100 -> 400", s == 400 and "(0, 100)" in b.decode(), b[:300])
    s, b, _ = post_json("/v1/forecast", {"model": "air", "level": [80], "series": [{"id": "AirPassengers", "values": y}]})
    check("level for a model without scores -> 400 naming how to get them", s == 400 and "--prediction-intervals" in b.decode(), b[:300])
    s, b, _ = post_json("/v1/forecast", {"model": "air", "quantiles": [0.9], "series": [{"id": "AirPassengers", "values": y}]})
    check("quantiles for a model that is not a DistributionLoss one -> 400 naming the need", s == 400 and "DistributionLoss" in b.decode(), b[:300])
    def pi_served():
        text = http("GET", "/metrics")[1].decode()
        line = [l for l in text.splitlines() if l.startswith('nhits_inference_request_success{model="pi"')]
        return float(line[0].split()[-1]) if line else 0.0
    served = pi_served()
    s, b, _ = post_json("/v1/forecast", {"model": "pi", "level": [80], "series": [{"id": "unknown", "values": series[0]["values"]}]})
    check("level for a series without scores -> 400 naming it once and a training id",
          s == 400 and b.decode().count("series 'unknown'") == 1 and f"e.g. '{ids[0]}'" in b.decode(), b[:300])
    check("that refused request is not counted as served", pi_served() == served, (served, pi_served()))
    s, b, _ = http("POST", "/v2/repository/models/pi/load", b"{bad")
    check("repository load with a malformed body -> 400", s == 400 and "JSON object" in b.decode(), b[:300])
    s, b, _ = post_json("/v2/repository/models/pi/load", {"parameters": {"config": "{}"}})
    check("repository load with a config override -> 400 (not ignored)", s == 400 and "'config' is not supported" in b.decode(), b[:300])
    check("repository load with an empty JSON body -> 200", post_json("/v2/repository/models/pi/load", {})[0] == 200)
    check("unload the conformal model", http("POST", "/v2/repository/models/pi/unload")[0] == 200)

    # ---- categorical columns (parity fixture exog_categorical_standard): /v1/forecast takes labels
    # (strings, or numbers for the integer-labelled regime), codes them with the model's vocabulary
    # (the unseen "crash" too) and equals neuralforecast's predict; /v2 metadata lists the vocabulary
    # and /v2 infer takes the codes ----
    ids, series, want = load_fixture("exog_categorical_standard", "cat")
    cfx = os.path.join(SRC, "tests", "fixtures", "parity", "exog_categorical_standard")
    cdata, cfutr, cstat = (rows(os.path.join(cfx, f)) for f in ("input.csv", "futr.csv", "static.csv"))
    for one in series:
        d = [r for r in cdata if r["unique_id"] == one["id"]]
        f = [r for r in cfutr if r["unique_id"] == one["id"]]
        st = next(r for r in cstat if r["unique_id"] == one["id"])
        one["hist"] = {"volume": [float(r["volume"]) for r in d], "regime": [int(r["regime"]) for r in d]}
        one["futr"] = {"event": [r["event"] for r in d + f], "promo": [float(r["promo"]) for r in d + f]}
        one["static"] = {"size": float(st["size"]), "region": st["region"]}
    s, b, _ = post_json("/v1/forecast", {"model": "cat", "series": series})
    rel = v1_columns_rel(b, ids, ["NHITS"], want) if s == 200 else 1.0
    check(f"/v1/forecast with categorical labels equals neuralforecast's predict (max rel {rel:.1e})", rel < 1e-5, b[:300])
    if s == 200:  # "crash" is in one series' future only; the answer says so for that series alone
        flagged = {f["id"]: f.get("unseen_labels") for f in json.loads(b)["forecasts"]}
        crashed = {one["id"] for one in series if "crash" in one["futr"]["event"]}
        check("/v1 names the label the fit never saw, for its series only",
              len(crashed) == 1 and all(flagged[i] == ({"event": ["crash"]} if i in crashed else None) for i in flagged),
              flagged)
    s, b, _ = http("GET", "/v2/models/cat")
    check("metadata lists the categorical vocabulary",
          s == 200 and json.loads(b)["parameters"]["exogenous"]["categorical_vocab"]["region"] == ["east", "north", "south"], b[:600])
    bad = json.loads(json.dumps(series[:1]))
    bad[0]["futr"]["event"][0] = [1]
    s, b, _ = post_json("/v1/forecast", {"model": "cat", "series": bad})
    check("/v1 a label that is a list -> 400", s == 400 and "a label must be a string or a number" in b.decode(), b[:300])
    check("unload the categorical model", http("POST", "/v2/repository/models/cat/unload")[0] == 200)

    # ---- NeuralForecast(local_scaler_type="robust-iqr") (parity fixture): /v1/forecast takes each
    # series' history, scales it and its columns over all of it as predict(df=...) does, and answers
    # in the series' units, equal to neuralforecast's predict; /v2 infer gets windows: 400 ----
    ids, series, want = load_fixture("exog_local_robust_iqr_mqloss", "local")
    lfx = os.path.join(SRC, "tests", "fixtures", "parity", "exog_local_robust_iqr_mqloss")
    ldata, lfutr = rows(os.path.join(lfx, "input.csv")), rows(os.path.join(lfx, "futr.csv"))
    for one in series:
        d = [r for r in ldata if r["unique_id"] == one["id"]]
        f = [r for r in lfutr if r["unique_id"] == one["id"]]
        one["hist"] = {"volume": [float(r["volume"]) for r in d]}
        one["futr"] = {c: [float(r[c]) for r in d + f] for c in ("promo", "holiday")}
    s, b, _ = post_json("/v1/forecast", {"model": "local", "series": series})
    cols = ["NHITS-median", "NHITS-lo-80", "NHITS-hi-80"]
    rel = v1_columns_rel(b, ids, cols, want) if s == 200 else 1.0
    check(f"/v1/forecast of a local_scaler_type model equals neuralforecast's predict (max rel {rel:.1e})", rel < 1e-5, b[:300])
    s, b, _ = post_json("/v2/models/local/infer", {"inputs": [
        {"name": "insample_y", "datatype": "FP32", "shape": [1, 18], "data": series[0]["values"][-18:]}]})
    check("infer of a local_scaler_type model -> 400 pointing to /v1/forecast", s == 400 and "/v1/forecast" in b.decode(), b[:300])
    check("unload the local-scaler model", http("POST", "/v2/repository/models/local/unload")[0] == 200)

    # ---- DistributionLoss: a neuralforecast StudentT model (parity fixture); /v1/forecast's mean,
    # quantile and parameter columns and the KServe v2 tensor [B, h, columns] against expected.csv ----
    ids, series, want = load_fixture("distribution_studentt_robust", "dist")
    cols = [c for c in want[0] if c.startswith("NHITS")]
    s, b, _ = post_json("/v1/forecast", {"model": "dist", "series": series})
    rel = v1_columns_rel(b, ids, cols, want) if s == 200 else 1.0
    check(f"/v1/forecast DistributionLoss columns {cols} equal the fixture's (max rel {rel:.1e})", rel < 1e-5, b[:300])
    s, meta, _ = http("GET", "/v2/models/dist")
    meta = json.loads(meta) if s == 200 else {}
    L, H, C = meta["parameters"]["input_size"], meta["parameters"]["h"], len(cols)
    check("KServe metadata: forecast [-1, h, columns] and the column names",
          meta["outputs"][0]["shape"] == [-1, H, C] and ["NHITS" + n for n in meta["parameters"]["output_names"]] == cols
          and meta["parameters"]["column_names"] == cols,
          meta)
    last = [srs["values"][-L:] for srs in series]
    s, b, _ = post_json("/v2/models/dist/infer", {"inputs": [
        {"name": "insample_y", "shape": [len(last), L], "datatype": "FP32", "data": [v for w in last for v in w]}]})
    out = json.loads(b)["outputs"][0] if s == 200 else {"shape": [], "data": []}
    ref = [float(w[c]) for u in ids for w in want if w["unique_id"] == u for c in cols]
    rel = max((abs(a - c) / max(1.0, abs(c)) for a, c in zip(out["data"], ref)), default=1.0) \
        if len(out["data"]) == len(ref) else 1.0
    check(f"KServe v2 infer of a DistributionLoss model (max rel {rel:.1e})", out["shape"] == [len(ids), H, C] and rel < 1e-5,
          b[:300])
    # Other levels from the same parameters, as `nhits predict --level` (neuralforecast's
    # predict(level=...)) gives them.
    s, b, _ = post_json("/v1/forecast", {"model": "dist", "level": [97.5, 50], "series": series})
    fdir = os.path.join(SRC, "tests", "fixtures", "parity", "distribution_studentt_robust")
    subprocess.run([NHITS, "predict", "--model", os.path.join(fdir, "model.safetensors"), "--data",
                    os.path.join(fdir, "input.csv"), "--level", "97.5,50", "--out", os.path.join(work, "dist_levels.csv")],
                   check=True, capture_output=True)
    cli_rows = rows(os.path.join(work, "dist_levels.csv"))
    level_cols = ["NHITS", "NHITS-lo-97.5", "NHITS-lo-50", "NHITS-hi-50", "NHITS-hi-97.5"]
    rel = v1_columns_rel(b, ids, level_cols, cli_rows) if s == 200 else 1.0
    got_cols = [k for k in json.loads(b)["forecasts"][0] if k.startswith("NHITS")] if s == 200 else []
    check(f"/v1 level [97.5, 50] on a DistributionLoss model equals `nhits predict --level 97.5,50` (max rel {rel:.1e})",
          rel < 1e-5 and got_cols[:6] == ["NHITS", "NHITS-median", "NHITS-lo-97.5", "NHITS-lo-50", "NHITS-hi-50", "NHITS-hi-97.5"]
          and got_cols[6:] == cols[len(cols) - len(got_cols) + 6:],  # then the parameters, as the model returns them
          (got_cols, b[:300]))
    s, b, _ = post_json("/v1/forecast", {"model": "dist", "level": [100], "series": series[:1]})
    check("level 100 on a DistributionLoss model -> 400", s == 400 and "(0, 100)" in b.decode(), b[:300])
    # Any quantiles, as `nhits predict --quantiles` (neuralforecast's predict(quantiles=...)):
    # the mean, each quantile in order, then the parameters.
    s, b, _ = post_json("/v1/forecast", {"model": "dist", "quantiles": [0.95, 0.05, 0.5], "series": series})
    subprocess.run([NHITS, "predict", "--model", os.path.join(fdir, "model.safetensors"), "--data",
                    os.path.join(fdir, "input.csv"), "--quantiles", "0.05,0.5,0.95", "--out",
                    os.path.join(work, "dist_quantiles.csv")], check=True, capture_output=True)
    cli_rows = rows(os.path.join(work, "dist_quantiles.csv"))
    q_cols = [c for c in cli_rows[0] if c.startswith("NHITS")]
    rel = v1_columns_rel(b, ids, q_cols, cli_rows) if s == 200 else 1.0
    got_cols = [k for k in json.loads(b)["forecasts"][0] if k.startswith("NHITS")] if s == 200 else []
    check(f"/v1 quantiles [0.95, 0.05, 0.5] on a DistributionLoss model equal `nhits predict --quantiles` (max rel {rel:.1e})",
          rel < 1e-5 and got_cols == q_cols and q_cols[:4] == ["NHITS", "NHITS_ql0.05", "NHITS_ql0.5", "NHITS_ql0.95"],
          (got_cols, q_cols, b[:300]))
    for body, why, needle in [({"quantiles": [1.5]}, "quantile 1.5 -> 400", "outside [1e-09"),
                              ({"quantiles": [1e-300]}, "quantile 1e-300 (its tail has no digits left) -> 400", "outside [1e-09"),
                              ({"quantiles": [i / 1000 for i in range(1, 1000)]}, "999 quantiles -> 400", "at most 199"),
                              ({"quantiles": ["0.5"]}, "a quantile as a string -> 400 showing it", '; got \\"0.5\\"'),
                              ({"quantiles": []}, "empty quantiles -> 400", "(0, 1)"),
                              ({"quantiles": [0.5], "level": [80]}, "quantiles with level -> 400", "cannot be combined")]:
        s, b, _ = post_json("/v1/forecast", {"model": "dist", "series": series[:1], **body})
        check(why, s == 400 and needle in b.decode(), b[:300])
    check("unload the DistributionLoss model", http("POST", "/v2/repository/models/dist/unload")[0] == 200)

    # ---- bad input: a clear 4xx each, and the server keeps serving ----
    def infer_raw(body, headers=None, model="air"):
        return http("POST", f"/v2/models/{model}/infer", body, headers or {"Content-Type": "application/json"})

    good_input = {"name": "insample_y", "datatype": "FP32", "shape": [1, 24], "data": window}
    bad = [
        ("malformed JSON", infer_raw(b"{\"inputs\": [}"), 400, "malformed JSON"),
        ("not an object", infer_raw(b"[1,2]"), 400, "JSON object"),
        ("no inputs", post_json("/v2/models/air/infer", {}), 400, "inputs"),
        ("wrong datatype", post_json("/v2/models/air/infer", {"inputs": [dict(good_input, datatype="INT64")]}), 400, "FP32"),
        ("wrong shape", post_json("/v2/models/air/infer", {"inputs": [dict(good_input, shape=[1, 23])]}), 400, "[batch, 24]"),
        ("wrong length", post_json("/v2/models/air/infer", {"inputs": [dict(good_input, data=window[:20])]}), 400, "20 values"),
        ("string value", post_json("/v2/models/air/infer", {"inputs": [dict(good_input, data=["x"] * 24)]}), 400, "not a number"),
        ("unknown input", post_json("/v2/models/air/infer", {"inputs": [dict(good_input, name="y")]}), 400, "unknown input"),
        ("priority out of range", post_json("/v2/models/air/infer", {"parameters": {"priority": 9}, "inputs": [good_input]}), 400, "priority"),
        ("priority beyond int (no wrap to level 1)", post_json("/v2/models/air/infer", {"parameters": {"priority": 4294967297},
                                                                                         "inputs": [good_input]}), 400, "priority"),
        ("timeout beyond a day", post_json("/v2/models/air/infer", {"parameters": {"timeout": 10 ** 16}, "inputs": [good_input]}),
         400, "at most a day"),
        ("/v1 negative timeout_us", post_json("/v1/forecast", {"timeout_us": -5, "series": [{"id": "a", "values": y}]}), 400,
         "'timeout_us' must be an integer from 0"),
        ("unknown model", infer_raw(json.dumps({"inputs": [good_input]}).encode(), model="nope"), 404, "unknown model"),
        ("unknown version", http("GET", "/v2/models/air/versions/7"), 404, "no version 7"),
        ("binary size mismatch", http("POST", "/v2/models/air/infer", header + b"\0" * 10,
                                      {"Inference-Header-Content-Length": str(len(header))}), 400, "binary data"),
        ("NaN in binary", http("POST", "/v2/models/air/infer", header + struct.pack("<24f", *([float("nan")] * 24)),
                               {"Inference-Header-Content-Length": str(len(header))}), 400, "not finite"),
        ("header length past body", http("POST", "/v2/models/air/infer", header,
                                          {"Inference-Header-Content-Length": "99999"}), 400, "Inference-Header-Content-Length"),
        ("huge body", infer_raw(b"[" + b"1," * 700000 + b"1]"), 413, "larger than"),
        ("unknown route", http("GET", "/v3/whatever"), 404, "no route"),
        ("empty series", post_json("/v1/forecast", {"series": []}), 400, "series"),
        ("number beyond double (infer)", infer_raw(b'{"inputs": [1e400]}'), 400, "malformed JSON"),
        ("number beyond double (/v1)", http("POST", "/v1/forecast", b'{"series": [{"values": [1e400]}]}'), 400, "malformed JSON"),
        ("/v1 unknown key", post_json("/v1/forecast", {"horizon": 3, "series": [{"values": y}]}), 400, "unknown key 'horizon'"),
        ("/v1 unknown series key", post_json("/v1/forecast", {"series": [{"id": "a", "value": y}]}), 400, "series"),
        ("/v1 value beyond float", post_json("/v1/forecast", {"series": [{"id": "a", "values": [1e39] + y}]}), 400,
         "series 'a': values[0] = 1e+39 is beyond the float range"),
        ("/v1 text value", post_json("/v1/forecast", {"series": [{"id": "a", "values": [1, "x"]}]}), 400,
         "values[1] is \"x\", not a number"),
        ("/v1 every value null", post_json("/v1/forecast", {"series": [{"id": "a", "values": [None, None]}]}), 400,
         "every value is null"),
    ]
    for name, (s, b, _), want, text in bad:
        ok = s == want and text in json.loads(b or b"{}").get("error", "")
        check(f"bad input: {name} -> {want}", ok, f"{s} {b[:200]!r}")
    check("still serving after bad input", infer_raw(json.dumps({"inputs": [good_input]}).encode())[0] == 200)

    # ---- metrics and stats ----
    s, b, h = http("GET", "/metrics")
    text = b.decode()
    check("metrics count HTTP responses by status, client errors included",
          'nhits_http_responses_total{code="400"}' in http("GET", "/metrics")[1].decode() and
          'nhits_http_responses_total{code="404"}' in http("GET", "/metrics")[1].decode())
    check("metrics text format", s == 200 and h.get("Content-Type", "").startswith("text/plain") and
          'nhits_inference_request_success{model="air",version="1"}' in text and "nhits_request_duration_us_bucket" in text, text[:300])
    s, b, _ = http("GET", "/v2/stats")
    st = json.loads(b)
    check("stats JSON", s == 200 and st["success"] >= 4 and "p99" in st["end_to_end_us"] and
          "1" in st["end_to_end_us_by_priority"], b[:300])
    s, b, _ = http("GET", "/v2/models/air/config")
    cfg = json.loads(b) if s == 200 else {}
    check("Triton model config", cfg.get("max_batch_size") == 8 and cfg["input"][0]["dims"] == [24] and
          cfg["output"][0]["dims"] == [12, 1] and cfg["dynamic_batching"]["priority_levels"] == 3, b[:300])
    s, b, _ = http("GET", "/v2/models/air/stats")
    ms = json.loads(b)["model_stats"][0] if s == 200 else {}
    check("Triton model statistics", ms.get("name") == "air" and ms["inference_stats"]["success"]["count"] >= 4 and
          ms["inference_stats"]["compute_infer"]["ns"] > 0 and ms["execution_count"] >= 1, b[:300])
    check("statistics for every model", http("GET", "/v2/models/stats")[0] == 200)

    # ---- HTTP/1.1 on raw sockets: keep-alive, pipelining, 100-continue, refusals ----
    def raw(data, read_until_close=False, timeout=5):
        c = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        c.sendall(data)
        out = b""
        try:
            while True:
                chunk = c.recv(65536)
                if not chunk:
                    break
                out += chunk
                if not read_until_close and out.count(b"HTTP/1.1 ") >= data.count(b"HTTP/1.") and out.endswith(b"}"):
                    break
        except socket.timeout:
            pass
        c.close()
        return out

    live = b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n"
    out = raw(live * 3)
    check("pipelined requests answered in order", out.count(b"HTTP/1.1 200 OK") == 3 and out.count(b'{"live":true}') == 3, out[:300])
    out = raw(b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", read_until_close=True)
    check("Connection: close is honoured", b"200 OK" in out and b"Connection: close" in out, out[:300])
    out = raw(b"GET /v2/health/live HTTP/1.0\r\n\r\n", read_until_close=True)
    check("HTTP/1.0 answered and closed", b"200 OK" in out, out[:300])
    body = json.dumps({"inputs": [good_input]}).encode()
    c = socket.create_connection(("127.0.0.1", port), timeout=5)
    c.sendall(b"POST /v2/models/air/infer HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: " +
              str(len(body)).encode() + b"\r\n\r\n")
    interim = c.recv(4096)
    c.sendall(body)
    final = b""
    while b'"outputs"' not in final:
        chunk = c.recv(65536)
        if not chunk:
            break
        final += chunk
    c.close()
    check("Expect: 100-continue", interim.startswith(b"HTTP/1.1 100 Continue") and b"200 OK" in final, (interim, final[:200]))
    out = raw(b"POST /v2/models/air/infer HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", read_until_close=True)
    check("chunked request body -> 501", b"501" in out.split(b"\r\n")[0] and b"Content-Length" in out, out[:300])
    out = raw(b"GARBAGE\r\n\r\n", read_until_close=True)
    check("malformed request line -> 400", out.startswith(b"HTTP/1.1 400"), out[:200])
    out = raw(b"GET /v2/health/live HTTP/1.1\r\nX: " + b"a" * 70000 + b"\r\n\r\n", read_until_close=True)
    check("oversized head -> 431", out.startswith(b"HTTP/1.1 431"), out[:200])
    s, b, _ = http("DELETE", "/v2/health/live")
    check("wrong method -> 405", s == 405 and "not allowed" in json.loads(b)["error"], b[:200])

    # ---- Prometheus accepts the format: promtool parses it, a real server scrapes it ----
    if shutil.which("promtool"):
        r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
        # 0: clean; 3: lint advice only (Triton-style names: no _total suffix, "_us" units); 1: parse error
        check("promtool parses /metrics", r.returncode in (0, 3), r.stdout + r.stderr)
    else:
        print("skip promtool: not installed (Debian package prometheus)")
    if shutil.which("prometheus"):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            prom_port = probe.getsockname()[1]
        cfg = os.path.join(work, "prometheus.yml")
        open(cfg, "w").write("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: nhits\n"
                             f"    static_configs:\n      - targets: ['127.0.0.1:{port}']\n")
        prom = subprocess.Popen(["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={work}/tsdb",
                                 f"--web.listen-address=127.0.0.1:{prom_port}"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            scraped = None
            for _ in range(40):
                time.sleep(0.5)
                try:
                    q = urllib.request.urlopen(f"http://127.0.0.1:{prom_port}/api/v1/query?query="
                                               "nhits_inference_request_success", timeout=2).read()
                    res = json.loads(q)["data"]["result"]
                    if res:
                        scraped = res
                        break
                except Exception:
                    pass
            check("a Prometheus server scrapes /metrics", scraped and scraped[0]["metric"]["model"] == "air", scraped)
        finally:
            prom.terminate()
            prom.wait(timeout=10)
    else:
        print("skip prometheus scrape: not installed (Debian package prometheus)")

    # ---- hot reload under load: zero failed requests ----
    results = []
    stop = threading.Event()

    def client():
        body = json.dumps({"inputs": [good_input]}).encode()
        while not stop.is_set():
            s, b, _ = infer_raw(body)
            results.append((s, json.loads(b).get("model_version") if s == 200 else b))

    threads = [threading.Thread(target=client) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    os.makedirs(os.path.join(work, "repo", "air", "2"))
    shutil.copy(ckpt, os.path.join(work, "repo", "air", "2", "model.safetensors"))
    s, b, _ = http("POST", "/v2/repository/models/air/load")
    check("repository load (new version)", s == 200, b)
    time.sleep(0.3)
    s, b, _ = http("POST", "/v2/repository/models/air/load")
    check("repository load (same version again)", s == 200, b)
    time.sleep(0.3)
    stop.set()
    for t in threads:
        t.join()
    failed = [r for r in results if r[0] != 200]
    versions = {r[1] for r in results if r[0] == 200}
    check("hot reload: zero failed requests", len(results) > 20 and not failed, (len(results), failed[:3]))
    check("hot reload: both versions answered", versions == {"1", "2"}, versions)
    s, b, _ = http("GET", "/v2/models/air")
    check("old version unloaded", json.loads(b)["versions"] == ["2"], b)
    s, b, _ = http("POST", "/v2/repository/index")
    check("repository index", s == 200 and json.loads(b)[0]["name"] == "air", b)
    os.makedirs(os.path.join(work, "repo", "broken", "1"))
    with open(os.path.join(work, "repo", "broken", "1", "model.safetensors"), "wb") as f:
        f.write(b"unique_id,ds,y\n")
    s, b, _ = http("POST", "/v2/repository/models/broken/load")
    check("loading a corrupt checkpoint fails with its reason", s != 200 and "safetensors" in b.decode(), b[:300])
    s, b, _ = http("POST", "/v2/repository/index")
    entry = [e for e in json.loads(b) if e["name"] == "broken"]
    check("the index says why a model is not served", entry and entry[0]["reason"].startswith("load failed: "), b[:400])
    check("model ready: unknown model -> 404, as KServe's 4xx for false",
          http("GET", "/v2/models/nope/ready")[0] == 404 and http("GET", "/v2/models/air/versions/9/ready")[0] == 404)

    # ---- a slow client is cut off; others are served meanwhile ----
    slow = socket.create_connection(("127.0.0.1", port))
    slow.sendall(b"POST /v2/models/air/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"inp")
    check("served while a slow client hangs", http("GET", "/v2/health/ready")[0] == 200)
    slow.settimeout(5)
    t0 = time.time()
    try:
        data = slow.recv(4096)
    except socket.timeout:
        data = None
    check("slow client cut off by the read timeout", data is not None and time.time() - t0 < 4, data)
    slow.close()

    # ---- unload, then SIGTERM drains and exits 0 ----
    check("unload", http("POST", "/v2/repository/models/air/unload")[0] == 200)
    check("not ready without models", http("GET", "/v2/health/ready")[0] == 503)
    server.send_signal(signal.SIGTERM)
    rc = server.wait(timeout=10)
    check("SIGTERM exits 0", rc == 0, server.stderr.read())
    server = None

    # ---- single files (--model NAME=PATH): unloaded, they load again from their path ----
    dup = subprocess.run([NHITS, "serve", "--model", f"a={ckpt}", "--model", f"a={ckpt}", "--port", "0"],
                         capture_output=True, text=True, timeout=30)
    check("serve refuses a model name given twice", dup.returncode != 0 and "already served" in dup.stderr, dup.stderr)
    server = subprocess.Popen([NHITS, "serve", "--model", f"a={ckpt}", "--port", "0", "--workers", "1",
                               "--default-priority", "2", "--max-batch-size", "2", "--max-queue-size", "2"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = server.stdout.readline()
    check("the start-up line gives the resolved threads per worker", "1 worker(s) x 0 thread(s)" not in line, line)
    BASE = f"http://127.0.0.1:{int(line.split('127.0.0.1:')[1].split()[0])}"
    s, b, _ = post_json("/v1/forecast", {"series": [{"values": window}], "priority": 0})
    cfg = json.loads(http("GET", "/v2/models/a/config")[1])
    by_priority = json.loads(http("GET", "/v2/stats")[1])["end_to_end_us_by_priority"]
    check("--default-priority 2: priority 0 and no priority run at level 2, and the config says so",
          s == 200 and cfg["dynamic_batching"]["default_priority_level"] == 2 and list(by_priority) == ["2"],
          (s, b[:200], by_priority))
    s, b, _ = post_json("/v1/forecast", {"series": [{"values": window}] * 5})
    check("a /v1 call larger than the queue can hold -> 400 saying how many series fit",
          s == 400 and "5 series in one call" in b.decode() and "at most 4" in b.decode(), b[:300])
    s, b, _ = post_json("/v2/models/a/infer", {"inputs": [{"name": "insample_y", "datatype": "FP32", "shape": [5, 24],
                                                           "data": window * 5}]})
    check("a /v2 infer larger than the queue can hold -> 400 before any compute",
          s == 400 and "5 windows in one call" in b.decode() and "at most 4" in b.decode(), b[:300])
    check("unload a --model file", http("POST", "/v2/repository/models/a/unload")[0] == 200)
    s, b, _ = http("POST", "/v2/repository/models/a/load")
    check("load it again from its path", s == 200 and http("GET", "/v2/models/a/ready")[0] == 200, b[:300])
    s, b, _ = http("POST", "/v2/repository/models/zz/load")
    check("load of an unknown name says there is no repository", s == 404 and "no --model-repository" in b.decode(), b[:300])
    # FP64 (numpy's default) is read and narrowed; gzip bodies are refused by name.
    f32 = post_json("/v2/models/a/infer", {"inputs": [dict(good_input, datatype="FP32")]})
    f64 = post_json("/v2/models/a/infer", {"inputs": [dict(good_input, datatype="FP64")]})
    header64 = json.dumps({"inputs": [{"name": "insample_y", "datatype": "FP64", "shape": [1, 24],
                                       "parameters": {"binary_data_size": 192}}]}).encode()
    b64 = http("POST", "/v2/models/a/infer", header64 + struct.pack("<24d", *window),
               {"Inference-Header-Content-Length": str(len(header64))})
    check("FP64 inputs (JSON and binary) give the FP32 answer",
          f32[0] == 200 and f64[0] == 200 and b64[0] == 200 and
          json.loads(f32[1])["outputs"][0]["data"] == json.loads(f64[1])["outputs"][0]["data"] ==
          json.loads(b64[1])["outputs"][0]["data"], (f32[1][:200], f64[1][:200], b64[1][:200]))
    s, b, _ = http("POST", "/v2/models/a/infer", b"\x1f\x8b", {"Content-Encoding": "gzip"})
    check("a gzip body -> 415 naming the encoding", s == 415 and "Content-Encoding 'gzip'" in b.decode(), b[:300])
    s, b, _ = post_json("/v2/models/a/infer", {"inputs": [dict(good_input, shape=[1.5, 24])]})
    check("a fractional dimension -> 400 'positive integers'", s == 400 and "positive integers" in b.decode(), b[:300])
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=10)
    server = None
finally:
    if server is not None:
        server.kill()
        server.wait()
    shutil.rmtree(work, ignore_errors=True)

print(f"{'all server checks passed' if not failures else str(len(failures)) + ' failed: ' + ', '.join(failures)}")
sys.exit(1 if failures else 0)
