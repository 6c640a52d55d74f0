#!/usr/bin/env bash
# Builds a TensorRT engine from `nhits export --onnx` with a dynamic batch profile.
# NOT RUN HERE: these machines have no TensorRT (and no GPU); see docs/INTEROP.md for what was
# and was not verified. Needs trtexec (TensorRT 8.6+ / 10.x) on PATH.
#
# Usage: build_engine.sh MODEL.onnx OUT.plan INPUT_SIZE [fp32|fp16|int8] [MAX_BATCH] [OPT_BATCH] [CALIB_CACHE]
#   e.g. nhits export --model m.safetensors --onnx m.onnx --with-scaler
#        deploy/tensorrt/build_engine.sh m.onnx m.plan 168 fp16 4096 256
#   INT8, explicit (QDQ graph, scales inside):
#        nhits quantize --model m.safetensors --calibration data.csv --out m8.safetensors
#        nhits export --model m8.safetensors --onnx m8.onnx --int8 --with-scaler
#        deploy/tensorrt/build_engine.sh m8.onnx m8.plan 168 int8
#   INT8, implicit (plain graph + calibration cache):
#        nhits export --model m8.safetensors --onnx m.onnx --with-scaler --tensorrt-cache m.cache
#        deploy/tensorrt/build_engine.sh m.onnx m.plan 168 int8 4096 256 m.cache
set -euo pipefail
ONNX=${1:?MODEL.onnx} OUT=${2:?OUT.plan} L=${3:?INPUT_SIZE} PREC=${4:-fp32} MAX=${5:-4096} OPT=${6:-256} CACHE=${7:-}
command -v trtexec >/dev/null || { echo "trtexec not found: install TensorRT (it is not on these machines)" >&2; exit 1; }
shapes() { echo "insample_y:${1}x${L},insample_mask:${1}x${L}"; }
flags=()
case "$PREC" in
  fp32) ;;
  fp16) flags+=(--fp16) ;;  # or export with `nhits export --fp16` for an FP16 graph
  int8) flags+=(--int8 --fp16)  # FP16 for layers the plan kept out of INT8
        if [ -n "$CACHE" ]; then flags+=(--calib="$CACHE"); fi ;;
  *) echo "precision must be fp32, fp16 or int8" >&2; exit 1 ;;
esac
trtexec --onnx="$ONNX" --saveEngine="$OUT" \
  --minShapes="$(shapes 1)" --optShapes="$(shapes "$OPT")" --maxShapes="$(shapes "$MAX")" \
  "${flags[@]}" --skipInference
echo "wrote $OUT; time it with: trtexec --loadEngine=$OUT --shapes=$(shapes "$OPT")"
