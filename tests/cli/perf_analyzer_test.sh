#!/usr/bin/env bash
# Triton's own load tool, perf_analyzer (from PyPI's tritonclient 2.34.0 wheel, installed by
# tools/install_test_peers.sh), loads `nhits serve`: it reads the model's metadata, Triton's
# model configuration and statistics endpoints, sends binary-tensor requests at concurrency 2,
# and must finish with every request answered (its client and server counts agree).
# Exits 77 (skipped) when perf_analyzer was not installed (no PyPI).
# Usage: perf_analyzer_test.sh NHITS_BINARY SOURCE_DIR PERF_ANALYZER_DIR
set -u
NHITS=$1 SRC=$2 PA_DIR=$3
PA="$PA_DIR/bin/perf_analyzer"
[ -x "$PA" ] || { echo "SKIP: $PA not installed (tools/install_test_peers.sh needs PyPI)"; exit 77; }
export LD_LIBRARY_PATH="$PA_DIR/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if ldd "$PA" | grep -q "not found"; then
  echo "SKIP: perf_analyzer misses libraries: $(ldd "$PA" | grep 'not found' | tr -s ' \t' ' ')(Debian: libb64-0d)"
  exit 77
fi
WORK=$(mktemp -d)
SERVER=""
cleanup() { [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
fail() { echo "FAIL $*"; exit 1; }

"$NHITS" train --data "$SRC/data/air_passengers.csv" --h 12 --input-size 24 --mlp-units 16,16 --max-steps 20 \
  --random-seed 1 --out "$WORK/m.safetensors" >/dev/null 2>&1 || fail "nhits train"
mkdir -p "$WORK/repo/air/1" && cp "$WORK/m.safetensors" "$WORK/repo/air/1/model.safetensors"
"$NHITS" serve --model-repository "$WORK/repo" --port 0 --no-cache > "$WORK/serve.out" 2> "$WORK/serve.err" &
SERVER=$!
for _ in $(seq 100); do grep -q "listening on" "$WORK/serve.out" && break; sleep 0.1; done
PORT=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$WORK/serve.out" | head -1)
[ -n "$PORT" ] || fail "server did not start: $(cat "$WORK/serve.err")"

# This checks that the tool works against us, not how steady a shared CI machine is: windows of
# 500 requests, and a lax stability bound so a noisy neighbour cannot fail it.
timeout 120 "$PA" -m air -u "127.0.0.1:$PORT" -i http --concurrency-range 2 --measurement-mode count_windows \
  --measurement-request-count 500 --stability-percentage 500 --max-trials 20 -f "$WORK/pa.csv" > "$WORK/pa.txt" 2>&1
rc=$?
cat "$WORK/pa.txt"
[ $rc -eq 0 ] || fail "perf_analyzer exited $rc"
echo "ok   perf_analyzer ran against nhits serve"
client=$(sed -n 's/^ *Request count: \([0-9]*\)/\1/p' "$WORK/pa.txt" | tail -1)
server=$(sed -n 's/^ *Successful request count: \([0-9]*\)/\1/p' "$WORK/pa.txt" | tail -1)
[ -n "$client" ] && [ "$client" -gt 0 ] || fail "no client request count"
# perf_analyzer reads the server's statistics at its window edges, so a request or two in flight
# there may land on either side: the counts must agree to 1%.
[ -n "$server" ] && [ $(( (server - client) * (server - client) * 10000 )) -le $(( client * client )) ] ||
  fail "server statistics count $server differs from the client's $client by more than 1%"
echo "ok   server statistics ($server) match the client's requests ($client)"
grep -q "^Concurrency,Inferences/Second" "$WORK/pa.csv" || fail "no CSV report"
echo "ok   CSV report written"
echo "all perf_analyzer checks passed"
