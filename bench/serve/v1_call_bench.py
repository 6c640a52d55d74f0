"""Times /v1/forecast calls of N series against a running server (median of R calls after one warm-up).

Usage: v1_call_bench.py PORT N R   (start `nhits serve --model NAME=PATH --port PORT --no-cache` first)
"""
import json, sys, time, urllib.request, statistics
port, n, reps = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
V = [112,118,132,129,121,135,148,148,136,119,104,118,115,126,141,135,125,149,170,170,158,133,114,140]
times = []
for r in range(reps + 1):
    body = json.dumps({"series": [{"id": str(i), "values": [v * (1 + (i + r) / 5000) for v in V]} for i in range(n)]}).encode()
    t = time.perf_counter()
    with urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/v1/forecast", data=body, method="POST")) as resp:
        out = json.loads(resp.read())
    if r: times.append(time.perf_counter() - t)  # the first call warms up
    assert len(out["forecasts"]) == n
print(f"{n} series: median {statistics.median(times)*1e3:.1f} ms over {reps} calls ({n/statistics.median(times):.0f} series/s)")
