#!/usr/bin/env bash
# Builds a TensorRT engine from `nhits export --onnx` with a dynamic batch profile.
# NOT RUN HERE: these machines have no TensorRT (and no GPU); see docs/INTEROP.md for what was
# and was not verified. Needs trtexec (TensorRT 8.6+ / 10.x) on PATH.
#
# Usage: build_engine.sh MODEL.onnx OUT.plan INPUT_SIZE [fp32|fp16] [MAX_BATCH] [OPT_BATCH]
#   e.g. nhits export --model m.safetensors --onnx m.onnx --with-scaler
#        deploy/tensorrt/build_engine.sh m.onnx m.plan 168 fp16 4096 256
set -euo pipefail
ONNX=${1:?MODEL.onnx} OUT=${2:?OUT.plan} L=${3:?INPUT_SIZE} PREC=${4:-fp32} MAX=${5:-4096} OPT=${6:-256}
command -v trtexec >/dev/null || { echo "trtexec not found: install TensorRT (it is not on these machines)" >&2; exit 1; }
shapes() { echo "insample_y:${1}x${L},insample_mask:${1}x${L}"; }
flags=()
case "$PREC" in
  fp32) ;;
  fp16) flags+=(--fp16) ;;  # or export with `nhits export --fp16` for an FP16 graph
  *) echo "precision must be fp32 or fp16 (INT8: see docs/INTEROP.md, no calibration cache is written yet)" >&2; exit 1 ;;
esac
trtexec --onnx="$ONNX" --saveEngine="$OUT" \
  --minShapes="$(shapes 1)" --optShapes="$(shapes "$OPT")" --maxShapes="$(shapes "$MAX")" \
  "${flags[@]}" --skipInference
echo "wrote $OUT; time it with: trtexec --loadEngine=$OUT --shapes=$(shapes "$OPT")"
