// LD_PRELOAD shim: times every dnnl_sgemm call of a process and prints the count, the seconds and
// the rate at exit — how much of a training run is GEMM, and at what rate, without a profiler.
// Usage: LD_PRELOAD=build/release/bench/libsgemm_timer.so build/release/bin/nhits train ...
#include <dlfcn.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace {
using SgemmFn = int (*)(char, char, long, long, long, float, const float*, long, const float*, long, float, float*,
                        long);
double g_seconds = 0, g_flops = 0;
long g_calls = 0;
void Report() {
  std::fprintf(stderr, "sgemm_timer: %ld dnnl_sgemm calls, %.2f s, %.1f GFLOP/s\n", g_calls, g_seconds,
               g_seconds > 0 ? g_flops / g_seconds / 1e9 : 0.0);
}
}  // namespace

// Not thread safe by design: the engine calls sgemm from one thread (oneDNN threads inside it).
extern "C" int dnnl_sgemm(char ta, char tb, long m, long n, long k, float alpha, const float* a, long lda,
                          const float* b, long ldb, float beta, float* c, long ldc) {
  static SgemmFn real = [] {
    std::atexit(Report);
    return reinterpret_cast<SgemmFn>(dlsym(RTLD_NEXT, "dnnl_sgemm"));
  }();
  const auto t0 = std::chrono::steady_clock::now();
  const int status = real(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  g_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  g_flops += 2.0 * static_cast<double>(m) * n * k;
  ++g_calls;
  return status;
}
