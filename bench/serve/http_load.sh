#!/bin/bash
# The HTTP load runs of docs/PERFORMANCE.md ("Serving"), on one checkpoint of the default NHITS
# (input 168): throughput at concurrency 64 (wrk, binary tensors), latency at concurrency 1
# (nhits loadgen), and priority 1 beside a priority-3 flood. Server and load tools share this
# machine's cores.
#   bench/serve/http_load.sh MODEL.safetensors [SECONDS=60] [extra nhits serve flags...]
# Needs wrk (Debian `wrk`) and a built `nhits` (build/release/bin/nhits or $NHITS).
set -euo pipefail
MODEL=${1:?usage: http_load.sh MODEL.safetensors [SECONDS] [serve flags...]}
SECONDS_RUN=${2:-60}
shift $(( $# < 2 ? $# : 2 ))
NHITS=${NHITS:-$(dirname "$0")/../../build/release/bin/nhits}
PORT=${PORT:-18000}
FLOOD_NICE=${FLOOD_NICE:-10}   # the load tools stand in for remote clients (see PERFORMANCE.md)
command -v wrk >/dev/null || { echo "http_load.sh: needs wrk (apt-get install wrk)" >&2; exit 2; }
WORK=$(mktemp -d)
SERVER=
trap '[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; rm -rf "$WORK"' EXIT
mkdir -p "$WORK/repo/m/1" && cp "$MODEL" "$WORK/repo/m/1/model.safetensors"

# Request bodies: Triton's binary tensor extension, one window, priority 1 and 3.
python3 - "$WORK" <<'PY'
import json, math, struct, sys
work = sys.argv[1]
window = [10 + math.sin(0.3 * t) for t in range(168)]
for prio in (1, 3):
    header = {"inputs": [{"name": "insample_y", "datatype": "FP32", "shape": [1, 168],
                          "parameters": {"binary_data_size": 672}}],
              "outputs": [{"name": "forecast", "parameters": {"binary_data": True}}]}
    if prio != 1:
        header["parameters"] = {"priority": prio}
    h = json.dumps(header).encode()
    open(f"{work}/p{prio}.bin", "wb").write(h + struct.pack("<168f", *window))
    open(f"{work}/p{prio}.lua", "w").write(
        f'wrk.method = "POST"\nlocal f = io.open("{work}/p{prio}.bin", "rb")\nwrk.body = f:read("*a")\nf:close()\n'
        f'wrk.headers["Content-Type"] = "application/octet-stream"\n'
        f'wrk.headers["Inference-Header-Content-Length"] = "{len(h)}"\n')
PY

start() {
  # Another server on the port would answer in place of ours (and ours would fail to bind).
  if curl -s -o /dev/null "http://127.0.0.1:$PORT/v2/health/live"; then
    echo "http_load.sh: port $PORT is already in use; stop that server or set PORT" >&2
    exit 2
  fi
  "$NHITS" serve --model-repository "$WORK/repo" --port "$PORT" --no-cache "$@" > "$WORK/serve.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/v2/health/ready" >/dev/null && break; sleep 0.1; done
  kill -0 "$SERVER" 2>/dev/null || { echo "http_load.sh: nhits serve exited:" >&2; cat "$WORK/serve.log" >&2; exit 2; }
  head -1 "$WORK/serve.log"
}
stop() { kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; }
stats() { curl -s "http://127.0.0.1:$PORT/v2/stats" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print("server: success", d["success"], "failures", d["failures"])
for k, v in d["end_to_end_us_by_priority"].items():
    print("server: priority %s end-to-end us p50 %.0f p95 %.0f p99 %.0f max %.0f" % (k, v["p50"], v["p95"], v["p99"], v["max"]))'; }
URL="http://127.0.0.1:$PORT/v2/models/m/infer"

echo "== concurrency 64, ${SECONDS_RUN} s (wrk, binary tensors)"
start "$@"
wrk -t1 -c64 -d"${SECONDS_RUN}s" --latency -s "$WORK/p1.lua" "$URL" | grep -E "Latency|50%|99%|Requests/sec|Non-2xx|errors"
echo "server RSS MB: $(( $(ps -o rss= -p "$SERVER") / 1024 ))"
stats; stop

echo "== concurrency 1, 20 s (nhits loadgen)"
start "$@"
"$NHITS" loadgen --url "http://127.0.0.1:$PORT" --model m --concurrency 1 --seconds 20 | tail -2
stop

echo "== overload: priority 3 from 192 connections (wrk, 503 when its queue is full) + priority 1 at 400/s"
start --max-queue-size 64 "$@"
nice -n "$FLOOD_NICE" wrk -t1 -c192 -d20s --latency -s "$WORK/p3.lua" "$URL" > "$WORK/flood.txt" &
FLOOD=$!
sleep 4
nice -n "$FLOOD_NICE" "$NHITS" loadgen --url "http://127.0.0.1:$PORT" --model m --concurrency 4 --rate 400 --priority 1 --seconds 12 | tail -2
wait "$FLOOD"
grep -E "Requests/sec|Non-2xx" "$WORK/flood.txt"
echo "server RSS MB: $(( $(ps -o rss= -p "$SERVER") / 1024 ))"
stats; stop
