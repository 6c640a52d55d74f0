#include "backend/cpu/small_batch_linear.h"

#include <immintrin.h>

#include <cstdlib>
#include <cstring>

namespace nhits::cpu {
namespace {

template <int B>
__attribute__((target("avx512f,fma"))) void LinearAvx512(int in, const float* x, const float* w, const float* bias,
                                                         float* y, int ldy, int o_begin, int o_end) {
  const int full = in & ~15;
  const __mmask16 tail = static_cast<__mmask16>((1u << (in - full)) - 1u);
  for (int o = o_begin; o < o_end; ++o) {
    const float* wr = w + static_cast<std::size_t>(o) * in;
    __m512 acc[B];
    for (int b = 0; b < B; ++b) acc[b] = _mm512_setzero_ps();
    for (int i = 0; i < full; i += 16) {
      const __m512 wv = _mm512_loadu_ps(wr + i);
      for (int b = 0; b < B; ++b) acc[b] = _mm512_fmadd_ps(wv, _mm512_loadu_ps(x + static_cast<std::size_t>(b) * in + i), acc[b]);
    }
    if (tail != 0) {
      const __m512 wv = _mm512_maskz_loadu_ps(tail, wr + full);
      for (int b = 0; b < B; ++b)
        acc[b] = _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(tail, x + static_cast<std::size_t>(b) * in + full), acc[b]);
    }
    for (int b = 0; b < B; ++b) y[static_cast<std::size_t>(b) * ldy + o] = _mm512_reduce_add_ps(acc[b]) + bias[o];
  }
}

// Portable fallback with the same 16-lane partial sums (the final reduction order differs).
void LinearPortable(int batch, int in, const float* x, const float* w, const float* bias, float* y, int ldy,
                    int o_begin, int o_end) {
  for (int b = 0; b < batch; ++b)
    for (int o = o_begin; o < o_end; ++o) {
      const float* wr = w + static_cast<std::size_t>(o) * in;
      const float* xr = x + static_cast<std::size_t>(b) * in;
      float lanes[16] = {};
      for (int i = 0; i < in; ++i) lanes[i % 16] += wr[i] * xr[i];
      float s = 0;
      for (float l : lanes) s += l;
      y[static_cast<std::size_t>(b) * ldy + o] = s + bias[o];
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
                      int o_begin, int o_end) {
  if (!kAvx512) return LinearPortable(batch, in, x, w, bias, y, ldy, o_begin, o_end);
  switch (batch) {
    case 1: return LinearAvx512<1>(in, x, w, bias, y, ldy, o_begin, o_end);
    case 2: return LinearAvx512<2>(in, x, w, bias, y, ldy, o_begin, o_end);
    case 3: return LinearAvx512<3>(in, x, w, bias, y, ldy, o_begin, o_end);
    case 4: return LinearAvx512<4>(in, x, w, bias, y, ldy, o_begin, o_end);
    case 5: return LinearAvx512<5>(in, x, w, bias, y, ldy, o_begin, o_end);
    case 6: return LinearAvx512<6>(in, x, w, bias, y, ldy, o_begin, o_end);
    case 7: return LinearAvx512<7>(in, x, w, bias, y, ldy, o_begin, o_end);
    default: return LinearAvx512<8>(in, x, w, bias, y, ldy, o_begin, o_end);
  }
}

const char* SmallBatchLinearIsa() { return kAvx512 ? "avx512" : "portable"; }

}  // namespace nhits::cpu
