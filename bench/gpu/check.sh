#!/usr/bin/env bash
# The one GPU check: builds with the CUDA backend, runs the GPU consistency tests and the GPU
# benchmark, prints a short table. Meant for a machine with a GPU (an H200 is the target) and
# to finish well under 10 minutes. Usage: bench/gpu/check.sh [BUILD_DIR]
set -euo pipefail
BUILD=${1:-build/gpu}
export PATH=/usr/local/cuda/bin:$PATH
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || echo "nvidia-smi: no GPU visible"
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DNHITS_CUDA=ON -DNHITS_BUILD_TESTS=ON \
  -DCMAKE_CUDA_ARCHITECTURES="80;90" > "$BUILD.configure.log"
cmake --build "$BUILD" --target nhits_gpu_tests gpu_bench nhits_cli -j"$(nproc)"
echo "== GPU consistency tests"
"$BUILD/tests/nhits_gpu_tests" --gtest_brief=1
echo "== nhits hw"
"$BUILD/bin/nhits" hw | grep -E "gpu|cpu "
echo "== GPU benchmark (default NHITS h=24, input 168; host in -> host out, one graph launch)"
"$BUILD/bench/gpu_bench"
