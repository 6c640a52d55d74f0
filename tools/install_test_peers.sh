#!/usr/bin/env bash
# Installs the real peers that some tests drive, from PyPI, into BUILD_DIR (never into the repo):
#   BUILD_DIR/pyenv-tritonclient  Triton's Python client (tritonclient[http]) + numpy
#   BUILD_DIR/pyenv-onnx          onnx + onnxruntime + numpy
#   BUILD_DIR/perf-analyzer       Triton's perf_analyzer binary (from the tritonclient 2.34.0
#                                 wheel, the last with a manylinux binary) and the CUDA 12
#                                 runtime library it links against (nvidia-cuda-runtime-cu12)
# Each is installed once. Without PyPI nothing fails here: the tests that need a peer skip (77).
# Usage: tools/install_test_peers.sh BUILD_DIR
set -u
BUILD=${1:?usage: install_test_peers.sh BUILD_DIR}
mkdir -p "$BUILD"
PIP_QUIET="-q --disable-pip-version-check --retries 2 --timeout 20"  # bounded when PyPI is unreachable

venv() {  # venv DIR IMPORT_CHECK PACKAGES...
  local dir=$1 check=$2
  shift 2
  if [ -x "$dir/bin/python" ] && "$dir/bin/python" -c "$check" 2>/dev/null; then return 0; fi
  echo "install_test_peers: $* -> $dir"
  python3 -m venv "$dir" && "$dir/bin/pip" install $PIP_QUIET "$@" ||
    echo "install_test_peers: could not install $* (no PyPI?); the tests that need them will skip"
}

venv "$BUILD/pyenv-tritonclient" "import tritonclient.http, numpy" "tritonclient[http]" numpy
venv "$BUILD/pyenv-onnx" "import onnx, onnxruntime, numpy" onnx onnxruntime numpy

PA="$BUILD/perf-analyzer"
if [ ! -x "$PA/bin/perf_analyzer" ] || [ ! -e "$PA/lib/libcudart.so.12" ]; then
  echo "install_test_peers: perf_analyzer -> $PA"
  venv "$BUILD/pyenv-tritonclient" "import tritonclient.http, numpy" "tritonclient[http]" numpy
  tmp=$(mktemp -d)
  if "$BUILD/pyenv-tritonclient/bin/pip" download $PIP_QUIET --no-deps -d "$tmp" "tritonclient==2.34.0" nvidia-cuda-runtime-cu12 &&
     "$BUILD/pyenv-tritonclient/bin/python" - "$tmp" "$PA" <<'PY'
import glob, os, shutil, sys, zipfile
tmp, out = sys.argv[1], sys.argv[2]
os.makedirs(os.path.join(out, "bin"), exist_ok=True)
os.makedirs(os.path.join(out, "lib"), exist_ok=True)
with zipfile.ZipFile(glob.glob(os.path.join(tmp, "tritonclient-*.whl"))[0]) as z:
    name = next(n for n in z.namelist() if n.endswith("/bin/perf_analyzer"))
    with z.open(name) as src, open(os.path.join(out, "bin", "perf_analyzer"), "wb") as dst:
        shutil.copyfileobj(src, dst)
with zipfile.ZipFile(glob.glob(os.path.join(tmp, "nvidia_cuda_runtime_cu12-*.whl"))[0]) as z:
    name = next(n for n in z.namelist() if n.endswith("/libcudart.so.12"))
    with z.open(name) as src, open(os.path.join(out, "lib", "libcudart.so.12"), "wb") as dst:
        shutil.copyfileobj(src, dst)
os.chmod(os.path.join(out, "bin", "perf_analyzer"), 0o755)
PY
  then
    :
  else
    echo "install_test_peers: could not fetch perf_analyzer (no PyPI?); its test will skip"
  fi
  rm -rf "$tmp"
fi
exit 0
