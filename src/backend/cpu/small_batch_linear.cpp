#include "backend/cpu/small_batch_linear.h"

#include <immintrin.h>

#include <cstdlib>
#include <cstring>

namespace nhits::cpu {
namespace {

inline float Finish(float v, Epilogue e) { return e == Epilogue::kRelu && !(v > 0.0f) ? 0.0f : v; }

// R output rows x B batch rows at a time: R * B independent FMA chains hide the FMA latency
// (batch 1 with one chain ran at a quarter of the FMA rate), and each x load serves R rows.
template <int B, int R>
__attribute__((target("avx512f,fma"))) inline void RowsAvx512(int in, const float* x, const float* w,
                                                              const float* bias, float* y, int ldy, int o,
                                                              Epilogue e) {
  const int full = in & ~15;
  const __mmask16 tail = static_cast<__mmask16>((1u << (in - full)) - 1u);
  __m512 acc[R][B];
  for (int r = 0; r < R; ++r)
    for (int b = 0; b < B; ++b) acc[r][b] = _mm512_setzero_ps();
  for (int i = 0; i < full; i += 16) {
    __m512 xv[B];
    for (int b = 0; b < B; ++b) xv[b] = _mm512_loadu_ps(x + static_cast<std::size_t>(b) * in + i);
    for (int r = 0; r < R; ++r) {
      const __m512 wv = _mm512_loadu_ps(w + static_cast<std::size_t>(o + r) * in + i);
      for (int b = 0; b < B; ++b) acc[r][b] = _mm512_fmadd_ps(wv, xv[b], acc[r][b]);
    }
  }
  if (tail != 0) {
    __m512 xv[B];
    for (int b = 0; b < B; ++b) xv[b] = _mm512_maskz_loadu_ps(tail, x + static_cast<std::size_t>(b) * in + full);
    for (int r = 0; r < R; ++r) {
      const __m512 wv = _mm512_maskz_loadu_ps(tail, w + static_cast<std::size_t>(o + r) * in + full);
      for (int b = 0; b < B; ++b) acc[r][b] = _mm512_fmadd_ps(wv, xv[b], acc[r][b]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int b = 0; b < B; ++b)
      y[static_cast<std::size_t>(b) * ldy + o + r] = Finish(_mm512_reduce_add_ps(acc[r][b]) + bias[o + r], e);
}

template <int B>
void LinearAvx512(int in, const float* x, const float* w, const float* bias, float* y, int ldy, int o_begin,
                  int o_end, Epilogue e) {
  constexpr int R = RowsPerStep(B);
  int o = o_begin;
  for (; o + R <= o_end; o += R) RowsAvx512<B, R>(in, x, w, bias, y, ldy, o, e);
  for (; o < o_end; ++o) RowsAvx512<B, 1>(in, x, w, bias, y, ldy, o, e);
}

// Portable fallback with the same 16-lane partial sums (the final reduction order differs).
void LinearPortable(int batch, int in, const float* x, const float* w, const float* bias, float* y, int ldy,
                    int o_begin, int o_end, Epilogue e) {
  for (int b = 0; b < batch; ++b)
    for (int o = o_begin; o < o_end; ++o) {
      const float* wr = w + static_cast<std::size_t>(o) * in;
      const float* xr = x + static_cast<std::size_t>(b) * in;
      float lanes[16] = {};
      for (int i = 0; i < in; ++i) lanes[i % 16] += wr[i] * xr[i];
      float s = 0;
      for (float l : lanes) s += l;
      y[static_cast<std::size_t>(b) * ldy + o] = Finish(s + bias[o], e);
    }
}

bool HasAvx512() {
  // NHITS_MAX_CPU_ISA=portable caps the ISA for tests, like oneDNN's ONEDNN_MAX_CPU_ISA.
  const char* cap = std::getenv("NHITS_MAX_CPU_ISA");
  if (cap != nullptr && std::strcmp(cap, "portable") == 0) return false;
  return __builtin_cpu_supports("avx512f");
}

const bool kAvx512 = HasAvx512();

}  // namespace

void SmallBatchLinear(int batch, int in, const float* x, const float* w, const float* bias, float* y, int ldy,
                      int o_begin, int o_end, Epilogue e) {
  if (!kAvx512) return LinearPortable(batch, in, x, w, bias, y, ldy, o_begin, o_end, e);
  WithSmallBatch(batch, [&]<int B>() { LinearAvx512<B>(in, x, w, bias, y, ldy, o_begin, o_end, e); });
}

const char* SmallBatchLinearIsa() { return kAvx512 ? "avx512" : "portable"; }

}  // namespace nhits::cpu
