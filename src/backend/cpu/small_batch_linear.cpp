#include "backend/cpu/small_batch_linear.h"

#include "backend/cpu/avx2_kernels.h"
#include "backend/cpu/kernel_isa.h"

#include <immintrin.h>

#include <algorithm>
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

const bool kAvx512 = MaxKernelIsa() == KernelIsa::kAvx512;
const bool kAvx2 = MaxKernelIsa() == KernelIsa::kAvx2;

}  // namespace

void SmallBatchLinear(int batch, int in, const float* x, const float* w, const float* bias, float* y, int ldy,
                      int o_begin, int o_end, Epilogue e) {
  if (kAvx2) return avx2::Linear(batch, in, x, w, bias, y, ldy, o_begin, o_end, e);
  if (!kAvx512) return LinearPortable(batch, in, x, w, bias, y, ldy, o_begin, o_end, e);
  WithSmallBatch(batch, [&]<int B>() { LinearAvx512<B>(in, x, w, bias, y, ldy, o_begin, o_end, e); });
}

const char* SmallBatchLinearIsa() { return ToString(MaxKernelIsa()); }

namespace {

constexpr int kPanelRows = 8;

int Chunks16(int in) { return (in + 15) / 16; }

// R of a panel's 8 rows at a time for B windows (R * B accumulators, at most 16): batch 1 and 2
// take whole panels, larger batches walk each panel in slices of R rows, which L1 then serves.
template <int B, int R>
__attribute__((target("avx512f,fma"))) void PanelLinearAvx512(const float* x, const Fp32Panels& w, const float* bias,
                                                              float* y, int ldy, int o_begin, int o_end, Epilogue e) {
  const int chunks = Chunks16(w.in), full = w.in / 16;
  const __mmask16 tail = static_cast<__mmask16>((1u << (w.in - full * 16)) - 1u);
  for (int o = o_begin; o < o_end; o += kPanelRows) {
    const float* panel = w.data.get() + static_cast<std::size_t>(o / kPanelRows) * chunks * kPanelRows * 16;
    for (int r0 = 0; r0 < kPanelRows && o + r0 < o_end; r0 += R) {
      __m512 acc[R][B];
      for (int r = 0; r < R; ++r)
        for (int b = 0; b < B; ++b) acc[r][b] = _mm512_setzero_ps();
      const float* p = panel + r0 * 16;
      for (int c = 0; c < chunks; ++c, p += kPanelRows * 16) {
        __m512 xv[B];
        // x past `in` may be anything (NaN included): masked, since 0 * NaN is NaN.
        for (int b = 0; b < B; ++b) {
          const float* xb = x + static_cast<std::size_t>(b) * w.in + c * 16;
          xv[b] = c < full ? _mm512_loadu_ps(xb) : _mm512_maskz_loadu_ps(tail, xb);
        }
        for (int r = 0; r < R; ++r) {
          const __m512 wv = _mm512_load_ps(p + r * 16);
          for (int b = 0; b < B; ++b) acc[r][b] = _mm512_fmadd_ps(wv, xv[b], acc[r][b]);
        }
      }
      const int rows = o_end - o - r0 < R ? o_end - o - r0 : R;
      for (int r = 0; r < rows; ++r)
        for (int b = 0; b < B; ++b)
          y[static_cast<std::size_t>(b) * ldy + o + r0 + r] =
              Finish(_mm512_reduce_add_ps(acc[r][b]) + bias[o + r0 + r], e);
    }
  }
}

std::size_t PanelFloats(int out, int in) {
  return static_cast<std::size_t>((out + kPanelRows - 1) / kPanelRows) * Chunks16(in) * kPanelRows * 16;
}

}  // namespace

std::size_t Fp32Panels::bytes() const { return empty() ? 0 : PanelFloats(out, in) * sizeof(float); }

Fp32Panels PackFp32Panels(int out, int in, const float* w) {
  Fp32Panels p;
  if (!(kAvx512 || kAvx2) || out <= 0 || in <= 0) return p;
  p.out = out;
  p.in = in;
  const std::size_t n = PanelFloats(out, in);
  p.data = std::unique_ptr<float[], void (*)(void*)>(static_cast<float*>(std::aligned_alloc(64, n * sizeof(float))),
                                                     std::free);
  std::fill_n(p.data.get(), n, 0.0f);
  const int chunks = Chunks16(in);
  for (int o = 0; o < out; ++o)
    for (int i = 0; i < in; ++i)
      p.data[(static_cast<std::size_t>(o / kPanelRows) * chunks + i / 16) * kPanelRows * 16 + (o % kPanelRows) * 16 +
             i % 16] = w[static_cast<std::size_t>(o) * in + i];
  return p;
}

void PanelLinear(int batch, const float* x, const Fp32Panels& w, const float* bias, float* y, int ldy, int o_begin,
                 int o_end, Epilogue e) {
  if (kAvx2) return avx2::PanelLinear(batch, x, w, bias, y, ldy, o_begin, o_end, e);
  WithSmallBatch(batch, [&]<int B>() {
    constexpr int R = B <= 2 ? 8 : B <= 4 ? 4 : 2;
    PanelLinearAvx512<B, R>(x, w, bias, y, ldy, o_begin, o_end, e);
  });
}

}  // namespace nhits::cpu
