#!/usr/bin/env python3
"""Side-by-side CPU inference benchmark: nhits engine vs ONNX Runtime vs PyTorch vs neuralforecast.

What
    One model, four ways to run it, all in the same script run and on the same thread count:
      * nhits                   this repository's engine (`nhits bench`: an InferenceSession in
                                fp32, bf16 and int8),
      * ONNX Runtime            a torch.onnx.export of the PyTorch module (CPU execution provider),
      * PyTorch TorchScript     torch.jit.trace (+ freeze) of the same module,
      * neuralforecast predict  `NeuralForecast.predict(df)` for one series (the end-user API:
                                dataset building, Lightning trainer, ... around the same forward).
    The model is neuralforecast's default NHITS(h=24, input_size=168) (mlp_units 3*[[512, 512]],
    MaxPool1d, linear interpolation, ReLU, identity scaler, MAE), randomly initialised with
    random_seed=1. Weights do not affect the speed of a dense network, so no training is needed.

How to run (from the repository root, after building the release binary)
    /work/venv-nf/bin/python bench/compare.py [--threads 2] [--seconds 2] [--rounds 10] [--out docs/compare.json]
    The venv needs neuralforecast, torch, safetensors, onnx and onnxruntime
    (`/work/venv-nf/bin/pip install onnx onnxruntime`; the exporter's dynamo=True fallback, unused
    with torch 2.15, would also need onnxscript). Run it on an otherwise idle machine: with other
    work on the cores, multi-threaded batch-1 latencies (ours especially) become meaningless.

What it measures
    1. Correctness first. 1000 random-walk series of length 168 (fixed seed) are forecast by
       `nhits predict` (on a CSV of them), by NHITS.forward in eager PyTorch, by the TorchScript
       module, by ONNX Runtime, and (first series only) by NeuralForecast.predict. Every result is
       compared with ours: max abs difference and max relative difference
       |theirs - ours| / max(|ours|, 1e-3 * max|ours|). Above --tol (1e-4) the script stops with
       exit status 1 before timing anything.
    2. Timing, T = --threads everywhere: torch.set_num_threads(T) and set_num_interop_threads(1);
       ORT intra_op_num_threads=T, inter_op_num_threads=1, ORT_ENABLE_ALL, ORT_SEQUENTIAL;
       `nhits bench --threads T`. Python peers are warmed up for --seconds, then timed call by call
       for --seconds (at least --min-reps calls), like `nhits bench` (which warms up with 3 calls).
       Inputs are [B, 168] values plus an all-ones [B, 168] mask for every engine.
         - batch-1 latency p50/p95/p99 (us),
         - batch-1024 forecasts/s (= 1024 / p50 of a batch-1024 call, as `nhits bench` computes it),
         - 1000 series in one call (ms, p50),
         - neuralforecast predict() latency for one series (--nf-calls calls, after one warm-up).
       Percentiles use the same nearest-rank rule as `nhits bench`.
    3. With --rounds N: every row again in N alternating rounds (nhits in every precision, then ORT,
       --round-seconds per row) and the median, min and max of the per-round time ratios: a slow
       spell of the shared machine then lands on both sides of each ratio.
    Output: a markdown table, ratio lines (nhits / ORT and nhits / TorchScript per metric), and
    --out JSON with all raw numbers, correctness figures, machine info (lscpu model, nproc, date,
    load average before and after) and versions.
"""

import argparse
import copy
import datetime
import inspect
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
import types
import warnings

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2, help="threads for every engine (default 2)")
    ap.add_argument("--seconds", type=float, default=2.0, help="warm-up and timed seconds per measurement")
    ap.add_argument("--min-reps", type=int, default=20, help="minimum timed calls per measurement")
    ap.add_argument("--nf-calls", type=int, default=10, help="timed NeuralForecast.predict calls")
    ap.add_argument("--tol", type=float, default=1e-4, help="max relative difference allowed vs ours")
    ap.add_argument("--nhits", default=os.path.join(REPO, "build", "release", "bin", "nhits"), help="engine binary")
    ap.add_argument("--rounds", type=int, default=0,
                    help="also time every row in this many alternating rounds (nhits, then ONNX Runtime, "
                         "--round-seconds per row) and report the median of the per-round ratios: on a shared "
                         "machine a slow spell then hits both sides of a ratio, not one")
    ap.add_argument("--round-seconds", type=float, default=1.0, help="timed seconds per row per side per round")
    ap.add_argument("--out", default=os.path.join("docs", "compare.json"), help="JSON with every raw number")
    return ap.parse_args()


ARGS = parse_args()

# Quiet, CPU-only, and thread counts fixed before torch starts any pool.
warnings.filterwarnings("ignore")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("PYTORCH_LIGHTNING_DISABLE_LOGGING", "1")
import logging  # noqa: E402

import torch  # noqa: E402

torch.set_num_threads(ARGS.threads)
torch.set_num_interop_threads(1)

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
import pandas as pd  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

import neuralforecast  # noqa: E402
from neuralforecast import NeuralForecast  # noqa: E402
from neuralforecast.models import NHITS  # noqa: E402

# Lightning sets its loggers' levels when imported; quiet them afterwards.
for _name in ("pytorch_lightning", "lightning", "lightning.pytorch", "lightning_fabric"):
    logging.getLogger(_name).setLevel(logging.ERROR)

H, INPUT_SIZE, N_SERIES, SEED = 24, 168, 1000, 1
BATCH_THROUGHPUT, BATCH_SERIES = 1024, 1000
# Constructor arguments that make up the engine's nhits_config (see tools/fixtures/make_parity_fixtures.py).
CONFIG_KEYS = ["n_blocks", "mlp_units", "n_pool_kernel_size", "n_freq_downsample", "pooling_mode",
               "interpolation_mode", "activation", "dropout_prob_theta", "scaler_type"]


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------


def percentile(values, p):
    """Nearest-rank percentile, the rule `nhits bench` uses."""
    v = sorted(values)
    return v[min(len(v) - 1, int(math.ceil(p * len(v))) - 1)]


def time_calls(fn, seconds, min_reps):
    """Warm up for `seconds` (>= 3 calls), then time call by call for `seconds` (>= min_reps). Returns us."""
    start = time.perf_counter()
    n = 0
    while n < 3 or time.perf_counter() - start < seconds:
        fn()
        n += 1
    us = []
    start = time.perf_counter()
    while len(us) < min_reps or time.perf_counter() - start < seconds:
        t0 = time.perf_counter_ns()
        fn()
        us.append((time.perf_counter_ns() - t0) / 1e3)
    return us


def summarize(us, batch):
    p50 = percentile(us, 0.50)
    return {"batch": batch, "p50_us": p50, "p95_us": percentile(us, 0.95), "p99_us": percentile(us, 0.99),
            "max_us": max(us), "mean_us": float(np.mean(us)), "forecasts_per_s": batch / (p50 * 1e-6),
            "reps": len(us)}


def compare(theirs, ours):
    """Max abs and max relative difference; relative to max(|ours|, 1e-3 * max|ours|)."""
    theirs = np.asarray(theirs, dtype=np.float64)
    ours = np.asarray(ours, dtype=np.float64)
    assert theirs.shape == ours.shape, (theirs.shape, ours.shape)
    diff = np.abs(theirs - ours)
    floor = 1e-3 * float(np.max(np.abs(ours)))
    return {"max_abs": float(diff.max()), "max_rel": float((diff / np.maximum(np.abs(ours), floor)).max())}


def run_cli(cmd):
    """Run the engine; on failure show its stderr and stop."""
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"command failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr}")
    return p.stdout


def sh(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def machine_info():
    lscpu = sh(["lscpu"]) or ""
    model = next((ln.split(":", 1)[1].strip() for ln in lscpu.splitlines() if ln.startswith("Model name")), None)
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "cpu_model": model or platform.processor(),
        "nproc": int(sh(["nproc"]) or os.cpu_count()),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "nhits_hw": sh([ARGS.nhits, "hw"]),
    }


def versions():
    commit = sh(["git", "-C", REPO, "rev-parse", "HEAD"])
    dirty = bool(sh(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"]))
    return {"python": platform.python_version(), "torch": torch.__version__, "onnxruntime": ort.__version__,
            "onnx": onnx.__version__, "neuralforecast": neuralforecast.__version__, "numpy": np.__version__,
            "pandas": pd.__version__, "nhits_commit": commit, "nhits_worktree_dirty": dirty}


# --------------------------------------------------------------------------------------
# Model, data, export
# --------------------------------------------------------------------------------------


def build_model():
    """neuralforecast's default NHITS(h=24, input_size=168), random init (random_seed=1).

    max_steps=1 only matters for the throwaway fit that NeuralForecast.predict() insists on;
    the initial weights are restored after it, so every engine runs the same weights.
    """
    model = NHITS(h=H, input_size=INPUT_SIZE, random_seed=SEED, max_steps=1, accelerator="cpu", devices=1,
                  enable_progress_bar=False, logger=False, enable_model_summary=False,
                  enable_checkpointing=False)
    model.eval()
    sig = inspect.signature(NHITS.__init__)
    config = {"h": H, "input_size": INPUT_SIZE}
    config.update({k: sig.parameters[k].default for k in CONFIG_KEYS})
    assert type(model.loss).__name__ == "MAE", type(model.loss)
    config["loss"] = "MAE"
    config["freq"] = 1
    init_sd = {k: v.detach().to(torch.float32).cpu().clone().contiguous() for k, v in model.state_dict().items()}
    return model, config, init_sd


def make_random_walks(rng, n, length):
    """float32-exact values (so the CSV written with %.9g round-trips bit for bit)."""
    y = 100.0 + np.cumsum(rng.normal(0.0, 1.0, size=(n, length)), axis=1)
    return y.astype(np.float32)


def to_long_csv(y, path, prefix="s"):
    n, length = y.shape
    df = pd.DataFrame({"unique_id": np.repeat([f"{prefix}{i:04d}" for i in range(n)], length),
                       "ds": np.tile(np.arange(1, length + 1, dtype=np.int64), n),
                       "y": y.reshape(-1).astype(np.float64)})
    if path:
        df.to_csv(path, index=False, float_format="%.9g")
    return df


def windows_batch(insample_y, insample_mask):
    """NHITS.forward's input: insample_y [B, L, 1], insample_mask [B, L], no exogenous inputs."""
    return {"insample_y": insample_y.unsqueeze(-1), "insample_mask": insample_mask,
            "futr_exog": None, "hist_exog": None, "stat_exog": None}


class TensorNHITS(torch.nn.Module):
    """Tensor in / tensor out: (insample_y [B, L], insample_mask [B, L]) -> forecast [B, h].

    Runs neuralforecast's own NHITS.forward code (called with this module as `self`: it only uses
    self.blocks, self.h and self.decompose_forecast), which returns [B, h, 1]. It holds the blocks
    rather than the NHITS LightningModule because torch.jit.trace probes module attributes and
    Lightning's `trainer` property raises when no Trainer is attached. Identity scaler + MAE, so
    this is exactly what NeuralForecast.predict computes for a series with >= input_size points.
    """

    def __init__(self, blocks, h):
        super().__init__()
        self.blocks = blocks
        self.h = h
        self.decompose_forecast = False

    def forward(self, insample_y, insample_mask):
        return NHITS.forward(self, windows_batch(insample_y, insample_mask))[..., 0]


def _basis_forward_dynamic_batch(self, theta):
    """_IdentityBasis.forward for linear/nearest with `len(knots)` replaced by `knots.shape[0]`.

    The original reshapes with `len(knots)`, a Python int that torch.jit.trace and the
    TorchScript-based ONNX exporter freeze into the graph as the example's batch size (trace
    warning "Using len to get tensor shape..."), which breaks every other batch size.
    Same arithmetic otherwise.
    """
    backcast = theta[:, : self.backcast_size]
    knots = theta[:, self.backcast_size:].reshape(theta.shape[0], self.out_features, -1)
    forecast = F.interpolate(knots, size=self.forecast_size, mode=self.interpolation_mode)
    return backcast, forecast.permute(0, 2, 1)


def traceable_wrapper(model):
    """TensorNHITS over a copy of the model's blocks, with the dynamic-batch basis forward."""
    blocks = copy.deepcopy(model.blocks).eval()
    for block in blocks:
        assert block.basis.interpolation_mode in ("linear", "nearest"), block.basis.interpolation_mode
        block.basis.forward = types.MethodType(_basis_forward_dynamic_batch, block.basis)
    return TensorNHITS(blocks, model.h).eval()


def export_onnx(wrapper, path, example):
    """torch.onnx.export with a dynamic batch axis: TorchScript exporter first, dynamo as fallback."""
    names = dict(input_names=["insample_y", "insample_mask"], output_names=["forecast"])
    try:
        torch.onnx.export(wrapper, example, path, dynamo=False, opset_version=17,
                          dynamic_axes={"insample_y": {0: "batch"}, "insample_mask": {0: "batch"},
                                        "forecast": {0: "batch"}}, **names)
        return {"exporter": "torchscript (dynamo=False)", "opset": 17}
    except Exception as e:  # noqa: BLE001 - report and fall back
        first_error = f"{type(e).__name__}: {e}"
        print(f"torch.onnx.export(dynamo=False) failed ({first_error}); retrying with dynamo=True", flush=True)
    batch = torch.export.Dim("batch", min=1, max=1 << 20)
    prog = torch.onnx.export(wrapper, example, dynamo=True,
                             dynamic_shapes={"insample_y": {0: batch}, "insample_mask": {0: batch}}, **names)
    prog.save(path)
    return {"exporter": "dynamo (dynamo=True)", "dynamo_false_error": first_error}


def ort_session(path, threads):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def run_nhits_predict(model_path, csv_path, out_path):
    t0 = time.perf_counter()
    run_cli([ARGS.nhits, "predict", "--model", model_path, "--data", csv_path, "--out", out_path])
    wall = time.perf_counter() - t0
    f = pd.read_csv(out_path).sort_values(["unique_id", "ds"])
    return f["NHITS"].to_numpy(np.float64).reshape(-1, H), wall


def interleaved_rounds(model_path, json_path, ort_calls):
    """Alternating rounds: each times nhits (every precision, every batch) and then ORT (same
    batches). Per round and metric, ratio = nhits / ORT (batch 1 and 1000-series: p50 time;
    batch 1024: ORT forecasts/s over ours, so that lower is better everywhere)."""
    batches = sorted(ort_calls)
    rounds = []
    for k in range(ARGS.rounds):
        cmd = [ARGS.nhits, "bench", "--model", model_path, "--batch-sizes", ",".join(map(str, batches)),
               "--threads", str(ARGS.threads), "--seconds", str(ARGS.round_seconds), "--min-reps", str(ARGS.min_reps),
               "--precision", "fp32,bf16,int8", "--json", json_path]
        run_cli(cmd)
        with open(json_path) as fh:
            ours = {(r["precision"], int(r["batch"])): r["p50_us"] for r in json.load(fh)}
        ort = {b: summarize(time_calls(ort_calls[b], ARGS.round_seconds, ARGS.min_reps), b)["p50_us"] for b in batches}
        row = {f"ort_b{b}_p50_us": ort[b] for b in batches}
        for (p, b), v in ours.items():
            row[f"nhits_{p}_b{b}_p50_us"] = v
            row[f"{p}_b{b}/ort"] = v / ort[b]  # time ratio; for throughput rows this is ORT's rate / ours
        rounds.append(row)
        print(f"  round {k + 1}: batch 1 ORT {ort[1]:.1f} us; " +
              ", ".join(f"{p} {row[f'{p}_b1/ort']:.3f}x" for p in ("fp32", "bf16", "int8")) +
              f"; batch {BATCH_THROUGHPUT} fp32 {1 / row[f'fp32_b{BATCH_THROUGHPUT}/ort']:.2f}x ORT's rate; "
              f"{BATCH_SERIES} series fp32 {row[f'fp32_b{BATCH_SERIES}/ort']:.3f}x ORT's time", flush=True)
    summary = {}
    for p in ("fp32", "bf16", "int8"):
        for b in batches:
            r = sorted(x[f"{p}_b{b}/ort"] for x in rounds)
            summary[f"{p}_b{b}"] = {"median": float(np.median(r)), "min": r[0], "max": r[-1]}
    return rounds, summary


def run_nhits_bench(model_path, json_path):
    cmd = [ARGS.nhits, "bench", "--model", model_path, "--batch-sizes", f"1,{BATCH_SERIES},{BATCH_THROUGHPUT}",
           "--threads", str(ARGS.threads), "--seconds", str(ARGS.seconds), "--min-reps", str(ARGS.min_reps),
           "--precision", "fp32,bf16,int8", "--json", json_path]
    out = run_cli(cmd)
    with open(json_path) as fh:
        rows = json.load(fh)
    by_precision = {}
    for r in rows:
        by_precision.setdefault(r["precision"], {})[int(r["batch"])] = r
    return by_precision, out


# --------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------


def fmt(v, spec):
    return "–" if v is None else format(v, spec)


def main():
    if not os.access(ARGS.nhits, os.X_OK):
        sys.exit(f"engine binary not found: {ARGS.nhits} (build it first: make build)")
    T = ARGS.threads
    load_before = os.getloadavg()
    info = {"machine": machine_info(), "versions": versions(),
            "settings": {"threads": T, "seconds": ARGS.seconds, "min_reps": ARGS.min_reps,
                         "nf_calls": ARGS.nf_calls, "tol": ARGS.tol,
                         "torch": {"num_threads": torch.get_num_threads(),
                                   "num_interop_threads": torch.get_num_interop_threads()},
                         "onnxruntime": {"intra_op_num_threads": T, "inter_op_num_threads": 1,
                                         "graph_optimization_level": "ORT_ENABLE_ALL",
                                         "execution_mode": "ORT_SEQUENTIAL", "providers": ["CPUExecutionProvider"]}}}
    v = info["versions"]
    print(f"torch {v['torch']}, onnxruntime {v['onnxruntime']}, onnx {v['onnx']}, "
          f"neuralforecast {v['neuralforecast']}; {info['machine']['cpu_model']}, nproc {info['machine']['nproc']}, "
          f"threads {T}", flush=True)

    model, config, init_sd = build_model()
    n_params = sum(t.numel() for t in init_sd.values())
    info["model"] = {"config": config, "parameters": n_params}
    rng = np.random.default_rng(20240601)
    y = make_random_walks(rng, N_SERIES, INPUT_SIZE)
    mask = np.ones_like(y)

    with tempfile.TemporaryDirectory(prefix="nhits-compare-") as tmp:
        model_path = os.path.join(tmp, "model.safetensors")
        save_file(init_sd, model_path, metadata={"nhits_config": json.dumps(config)})
        csv_path = os.path.join(tmp, "series.csv")
        series_df = to_long_csv(y, csv_path)

        # ---------------- correctness ----------------
        ours, predict_wall = run_nhits_predict(model_path, csv_path, os.path.join(tmp, "forecast.csv"))
        info["nhits_predict_cli_wall_s"] = predict_wall  # process start + CSV in/out + 1000 forecasts

        yt, mt = torch.from_numpy(y), torch.from_numpy(mask)
        with torch.inference_mode():  # the NHITS LightningModule itself, untouched
            torch_eager = model(windows_batch(yt, mt))[..., 0].numpy()

        wrapper = traceable_wrapper(model)
        example = (yt[:2].clone(), mt[:2].clone())  # batch 2: a batch size that appears nowhere else
        with torch.inference_mode():
            script = torch.jit.freeze(torch.jit.trace(wrapper, example).eval())
            torch_script = script(yt, mt).numpy()

        onnx_path = os.path.join(tmp, "nhits.onnx")
        info["onnx_export"] = export_onnx(wrapper, onnx_path, example)
        onnx.checker.check_model(onnx_path)
        sess = ort_session(onnx_path, T)
        feeds = lambda b: {"insample_y": y[:b], "insample_mask": mask[:b]}  # noqa: E731
        onnx_out = sess.run(["forecast"], feeds(N_SERIES))[0]
        onnx_b1 = sess.run(["forecast"], feeds(1))[0]  # the dynamic batch axis really is dynamic

        # NeuralForecast.predict needs a fitted NeuralForecast: one step on a separate long series,
        # then the initial weights go back in.
        nf = NeuralForecast(models=[model], freq=1)
        nf.fit(df=to_long_csv(make_random_walks(rng, 1, 400), None, prefix="fit"))
        nf.models[0].load_state_dict(init_sd)
        nf.models[0].eval()
        one_df = series_df[series_df.unique_id == "s0000"]
        nf_fcst = nf.predict(df=one_df)
        nf_one = nf_fcst.sort_values("ds")["NHITS"].to_numpy(np.float64)

        checks = {"torch_eager": compare(torch_eager, ours), "torchscript": compare(torch_script, ours),
                  "onnxruntime": compare(onnx_out, ours), "onnxruntime_batch1": compare(onnx_b1, ours[:1]),
                  "neuralforecast_predict_1_series": compare(nf_one, ours[0])}
        info["correctness"] = {"n_series": N_SERIES, "reference": "nhits predict", **checks}
        print("\nCorrectness vs `nhits predict` (1000 random-walk series, h=24):")
        for name, c in checks.items():
            print(f"  {name:34s} max abs {c['max_abs']:.3g}  max rel {c['max_rel']:.3g}")
        bad = [n for n, c in checks.items() if not c["max_rel"] <= ARGS.tol]
        if bad:
            write_json(info)
            sys.exit(f"FAIL: relative difference above {ARGS.tol:g} for {', '.join(bad)}; not timing anything")

        # ---------------- timing ----------------
        print("\nTiming ...", flush=True)
        results = {}
        bench_rows, bench_stdout = run_nhits_bench(model_path, os.path.join(tmp, "bench.json"))
        results["nhits"] = {"bench_rows": {p: [rows[b] for b in sorted(rows)] for p, rows in bench_rows.items()},
                            "bench_stdout": bench_stdout}

        y_tp = np.ascontiguousarray(np.resize(y, (BATCH_THROUGHPUT, INPUT_SIZE)))
        m_tp = np.ones_like(y_tp)
        inputs = {1: (y[:1], mask[:1]), BATCH_SERIES: (y, mask), BATCH_THROUGHPUT: (y_tp, m_tp)}

        ort_rows = {}
        for b, (yb, mb) in inputs.items():
            fd = {"insample_y": yb, "insample_mask": mb}
            ort_rows[b] = summarize(time_calls(lambda: sess.run(["forecast"], fd), ARGS.seconds, ARGS.min_reps), b)
        results["onnxruntime"] = {"rows": [ort_rows[b] for b in sorted(ort_rows)]}
        if ARGS.rounds > 0:
            print(f"{ARGS.rounds} alternating rounds (nhits, then ONNX Runtime) ...", flush=True)
            feeds = {b: {"insample_y": yb, "insample_mask": mb} for b, (yb, mb) in inputs.items()}
            calls = {b: (lambda fd=fd: sess.run(["forecast"], fd)) for b, fd in feeds.items()}
            rounds, summary = interleaved_rounds(model_path, os.path.join(tmp, "round.json"), calls)
            results["interleaved_rounds"] = {"rounds": rounds, "ratio_to_ort": summary}

        ts_rows = {}
        with torch.inference_mode():
            for b, (yb, mb) in inputs.items():
                ty, tm = torch.from_numpy(yb), torch.from_numpy(mb)
                ts_rows[b] = summarize(time_calls(lambda: script(ty, tm), ARGS.seconds, ARGS.min_reps), b)
        results["torchscript"] = {"rows": [ts_rows[b] for b in sorted(ts_rows)]}

        nf.predict(df=one_df)  # warm-up
        nf_us = []
        for _ in range(max(1, ARGS.nf_calls)):
            t0 = time.perf_counter_ns()
            nf.predict(df=one_df)
            nf_us.append((time.perf_counter_ns() - t0) / 1e3)
        results["neuralforecast_predict"] = {"rows": [summarize(nf_us, 1)]}
        info["results"] = results

    # ---------------- report ----------------
    def metrics(rows):
        return {"p50": rows[1]["p50_us"] if 1 in rows else None, "p99": rows[1]["p99_us"] if 1 in rows else None,
                "fps": rows[BATCH_THROUGHPUT]["forecasts_per_s"] if BATCH_THROUGHPUT in rows else None,
                "ms1000": rows[BATCH_SERIES]["p50_us"] / 1e3 if BATCH_SERIES in rows else None}

    table = {"nhits": metrics(bench_rows["fp32"]), "nhits bf16": metrics(bench_rows["bf16"]),
             "nhits int8": metrics(bench_rows["int8"]), "ONNX Runtime": metrics(ort_rows),
             "PyTorch TorchScript": metrics(ts_rows),
             "neuralforecast predict": metrics({1: results["neuralforecast_predict"]["rows"][0]})}
    lines = [f"NHITS(h={H}, input_size={INPUT_SIZE}) defaults, {n_params} parameters; {T} threads; "
             f"{info['machine']['cpu_model']}",
             "",
             f"| engine | batch-1 p50 us | batch-1 p99 us | batch-{BATCH_THROUGHPUT} forecasts/s "
             f"| {BATCH_SERIES} series in one call, ms |",
             "|---|---|---|---|---|"]
    for name, m in table.items():
        lines.append(f"| {name} | {fmt(m['p50'], '.1f')} | {fmt(m['p99'], '.1f')} | {fmt(m['fps'], ',.0f')} "
                     f"| {fmt(m['ms1000'], '.2f')} |")
    ratios = {}
    lines.append("")
    for peer in ("ONNX Runtime", "PyTorch TorchScript"):
        r = {k: table["nhits"][k] / table[peer][k] for k in ("p50", "p99", "fps", "ms1000")}
        ratios[f"nhits/{peer}"] = r
        lines.append(f"nhits / {peer}: batch-1 p50 {r['p50']:.2f}x, p99 {r['p99']:.2f}x, "
                     f"batch-{BATCH_THROUGHPUT} forecasts/s {r['fps']:.2f}x, {BATCH_SERIES}-series {r['ms1000']:.2f}x "
                     f"(latency/time: lower is better; forecasts/s: higher is better)")
    for prec in ("bf16", "int8"):
        r = {k: table[f"nhits {prec}"][k] / table["ONNX Runtime"][k] for k in ("p50", "p99", "fps", "ms1000")}
        r["fps_vs_nhits_fp32"] = table[f"nhits {prec}"]["fps"] / table["nhits"]["fps"]
        ratios[f"nhits {prec}/ONNX Runtime"] = r
        lines.append(f"nhits {prec} / ONNX Runtime (fp32): batch-1 p50 {r['p50']:.2f}x, batch-{BATCH_THROUGHPUT} "
                     f"forecasts/s {r['fps']:.2f}x ({r['fps_vs_nhits_fp32']:.2f}x our fp32), "
                     f"{BATCH_SERIES}-series {r['ms1000']:.2f}x")
    b1 = bench_rows["fp32"][1]
    ratios["nhits_fp32_p50/weight_stream_floor"] = b1["p50_us"] / b1["weight_stream_floor_us"]
    ratios["nhits_fp32_p99/p50"] = b1["p99_us"] / b1["p50_us"]
    big = bench_rows["fp32"][BATCH_THROUGHPUT]
    # the FLOPs our kernels run (after the first-layer fold); older nhits bench rows lack them
    ratios["nhits_fp32_batch_gflops/sgemm_peak"] = big.get("executed_gflops", big["gflops"]) / big["gemm_peak_gflops"]
    lines.append(f"nhits fp32 batch-1 p50 / weight-streaming floor ({b1['weight_stream_floor_us']:.1f} us at "
                 f"{b1['read_gbps']:.0f} GB/s): {ratios['nhits_fp32_p50/weight_stream_floor']:.2f}x; "
                 f"p99/p50 {ratios['nhits_fp32_p99/p50']:.2f}x; batch-{BATCH_THROUGHPUT} at "
                 f"{100 * ratios['nhits_fp32_batch_gflops/sgemm_peak']:.0f}% of the measured FP32 GEMM peak in executed FLOPs "
                 f"({big['gemm_peak_gflops']:.0f} GFLOP/s)")
    if "interleaved_rounds" in results:
        summ = results["interleaved_rounds"]["ratio_to_ort"]
        ratios["interleaved_rounds_time/ORT"] = summ
        lines.append(f"Over {ARGS.rounds} alternating rounds, nhits time / ONNX Runtime time (median, min-max; for "
                     f"batch {BATCH_THROUGHPUT} the inverse of the forecasts/s ratio):")
        for key, v in summ.items():
            lines.append(f"  {key}: {v['median']:.3f}x ({v['min']:.3f}-{v['max']:.3f})")
    r = table["nhits"]["p50"] / table["neuralforecast predict"]["p50"]
    ratios["nhits/neuralforecast_predict_p50"] = r
    lines.append(f"nhits batch-1 p50 / neuralforecast predict (1 series) p50: {r:.4f}x")
    report = "\n".join(lines)
    print("\n" + report)
    info["table"] = table
    info["ratios"] = ratios
    info["report_markdown"] = report
    info["machine"]["loadavg_before"] = load_before
    info["machine"]["loadavg_after"] = os.getloadavg()
    write_json(info)
    return 0


def write_json(info):
    out = ARGS.out
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    tmp = out + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(info, fh, indent=1)
        fh.write("\n")
    os.replace(tmp, out)
    print(f"\nwrote {out}")


if __name__ == "__main__":
    sys.exit(main())
