#include "backend/cpu/quantized_linear.h"

#include "backend/cpu/avx2_kernels.h"
#include "backend/cpu/kernel_isa.h"
#include "backend/cpu/parallel_rows.h"

#include <dnnl.h>
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

namespace nhits::cpu {
namespace {

const bool kAvx512 = MaxKernelIsa() == KernelIsa::kAvx512;
const bool kAvx2 = MaxKernelIsa() == KernelIsa::kAvx2;
const bool kVnni = kAvx512 && __builtin_cpu_supports("avx512vnni");

inline float ApplyEpilogue(float v, Epilogue e) { return e == Epilogue::kRelu && !(v > 0.0f) ? 0.0f : v; }

int RoundUp(int v, int m) { return (v + m - 1) / m * m; }

// ---- BF16 ----

// BF16 is the top half of an FP32: widening is a shift. A named function, not a lambda: a lambda
// does not inherit its enclosing function's target attribute, so on a compiler targeting a CPU
// without AVX-512 (-march=native on an AVX2 machine) the intrinsics inside it would not compile.
__attribute__((target("avx512f,avx512bw"))) inline __m512 WidenBf16(const std::uint16_t* p) {
  const __m512i v = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  return _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
}

// R rows x B windows of independent accumulators, as in the FP32 kernel (small_batch_linear.cpp).
template <int B, int R>
__attribute__((target("avx512f,avx512bw,fma"))) inline void Bf16Rows(const float* x, const Bf16Weights& w,
                                                                     const float* bias, float* y, int ldy, int o,
                                                                     Epilogue e) {
  const int in = w.in, full = in & ~15;
  const __mmask16 tail = static_cast<__mmask16>((1u << (in - full)) - 1u);
  const std::uint16_t* wr = w.w.data() + static_cast<std::size_t>(o) * w.ld;
  __m512 acc[R][B];
  for (int r = 0; r < R; ++r)
    for (int b = 0; b < B; ++b) acc[r][b] = _mm512_setzero_ps();
  for (int i = 0; i < full; i += 16) {
    __m512 xv[B];
    for (int b = 0; b < B; ++b) xv[b] = _mm512_loadu_ps(x + static_cast<std::size_t>(b) * in + i);
    for (int r = 0; r < R; ++r) {
      const __m512 wv = WidenBf16(wr + static_cast<std::size_t>(r) * w.ld + i);
      for (int b = 0; b < B; ++b) acc[r][b] = _mm512_fmadd_ps(wv, xv[b], acc[r][b]);
    }
  }
  if (tail != 0) {
    __m512 xv[B];
    for (int b = 0; b < B; ++b) xv[b] = _mm512_maskz_loadu_ps(tail, x + static_cast<std::size_t>(b) * in + full);
    for (int r = 0; r < R; ++r) {
      const __m512 wv = WidenBf16(wr + static_cast<std::size_t>(r) * w.ld + full);  // zero padded up to ld
      for (int b = 0; b < B; ++b) acc[r][b] = _mm512_fmadd_ps(wv, xv[b], acc[r][b]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int b = 0; b < B; ++b)
      y[static_cast<std::size_t>(b) * ldy + o + r] = ApplyEpilogue(_mm512_reduce_add_ps(acc[r][b]) + bias[o + r], e);
}

template <int B>
void Bf16Avx512(const float* x, const Bf16Weights& w, const float* bias, float* y, int ldy, int o_begin, int o_end,
                Epilogue e) {
  constexpr int R = RowsPerStep(B);
  int o = o_begin;
  for (; o + R <= o_end; o += R) Bf16Rows<B, R>(x, w, bias, y, ldy, o, e);
  for (; o < o_end; ++o) Bf16Rows<B, 1>(x, w, bias, y, ldy, o, e);
}

void Bf16Portable(int batch, const float* x, const Bf16Weights& w, const float* bias, float* y, int ldy, int o_begin,
                  int o_end, Epilogue e) {
  for (int b = 0; b < batch; ++b)
    for (int o = o_begin; o < o_end; ++o) {
      const std::uint16_t* wr = w.w.data() + static_cast<std::size_t>(o) * w.ld;
      const float* xr = x + static_cast<std::size_t>(b) * w.in;
      float lanes[16] = {};
      for (int i = 0; i < w.in; ++i) lanes[i % 16] += Bf16ToFloat(wr[i]) * xr[i];
      float s = 0;
      for (float l : lanes) s += l;
      y[static_cast<std::size_t>(b) * ldy + o] = ApplyEpilogue(s + bias[o], e);
    }
}

// ---- INT8 ----

template <int B, int R>
__attribute__((target("avx512f,avx512bw,avx512vnni"))) inline void Int8Rows(const QuantizedRows& xq,
                                                                             const Int8Weights& w, const float* bias,
                                                                             float* y, int ldy, int o, Epilogue e) {
  const int ld = w.ld;
  const std::int8_t* wr = w.q.data() + static_cast<std::size_t>(o) * ld;
  __m512i acc[R][B];
  for (int r = 0; r < R; ++r)
    for (int b = 0; b < B; ++b) acc[r][b] = _mm512_setzero_si512();
  for (int i = 0; i < ld; i += 64) {
    __m512i xv[B];
    for (int b = 0; b < B; ++b) xv[b] = _mm512_loadu_si512(xq.q + static_cast<std::size_t>(b) * ld + i);
    for (int r = 0; r < R; ++r) {
      const __m512i wv = _mm512_loadu_si512(wr + static_cast<std::size_t>(r) * ld + i);
      for (int b = 0; b < B; ++b) acc[r][b] = _mm512_dpbusd_epi32(acc[r][b], xv[b], wv);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int b = 0; b < B; ++b) {
      const std::int32_t dot = _mm512_reduce_add_epi32(acc[r][b]) - xq.zero[b] * w.row_sum[o + r];
      y[static_cast<std::size_t>(b) * ldy + o + r] =
          ApplyEpilogue(static_cast<float>(dot) * (xq.scale[b] * w.scale[o + r]) + bias[o + r], e);
    }
}

template <int B>
void Int8Vnni(const QuantizedRows& xq, const Int8Weights& w, const float* bias, float* y, int ldy, int o_begin,
              int o_end, Epilogue e) {
  constexpr int R = RowsPerStep(B);
  int o = o_begin;
  for (; o + R <= o_end; o += R) Int8Rows<B, R>(xq, w, bias, y, ldy, o, e);
  for (; o < o_end; ++o) Int8Rows<B, 1>(xq, w, bias, y, ldy, o, e);
}

// Not auto-vectorised: GCC 12 at -O3 -march=native turns this unsigned x signed byte reduction
// into a VNNI dot product with the wrong sign handling (wrong sums; reproduced with a 10-line
// program). The VNNI kernel above is the fast path; this one must simply be right.
__attribute__((optimize("no-tree-vectorize"))) void Int8Portable(int batch, const QuantizedRows& xq,
                                                                 const Int8Weights& w, const float* bias, float* y,
                                                                 int ldy, int o_begin, int o_end, Epilogue e) {
  for (int b = 0; b < batch; ++b)
    for (int o = o_begin; o < o_end; ++o) {
      const std::int8_t* wr = w.q.data() + static_cast<std::size_t>(o) * w.ld;
      const std::uint8_t* xr = xq.q + static_cast<std::size_t>(b) * w.ld;
      std::int32_t dot = 0;
      for (int i = 0; i < w.in; ++i) dot += (static_cast<std::int32_t>(xr[i]) - xq.zero[b]) * wr[i];
      y[static_cast<std::size_t>(b) * ldy + o] =
          ApplyEpilogue(static_cast<float>(dot) * (xq.scale[b] * w.scale[o]) + bias[o], e);
    }
}

// The range [lo, hi] always contains 0, so zero is exact (padding, ReLU zeros).
struct RowCode {
  float scale, inv;
  std::int32_t zero;
};
RowCode CodeFor(float lo, float hi) {
  lo = std::min(lo, 0.0f);
  hi = std::max(hi, 0.0f);
  // A range too narrow for 255 / range to be finite (below ~7.5e-37) holds nothing but rounding
  // dust: coded as zeros, as an all-zero row is (an infinite inv would make the zero point NaN).
  if (!(hi - lo > 1e-30f)) return {1.0f, 1.0f, 0};
  const float inv = 255.0f / (hi - lo);
  return {(hi - lo) / 255.0f, inv, static_cast<std::int32_t>(std::clamp(std::nearbyint(-lo * inv), 0.0f, 255.0f))};
}

inline std::uint8_t QuantizeOne(float v, const RowCode& c) {
  return static_cast<std::uint8_t>(std::clamp(static_cast<int>(std::nearbyint(v * c.inv)) + c.zero, 0, 255));
}

__attribute__((target("avx512f,avx512bw"))) void QuantizeRowAvx512(int in, const float* x, int ld, std::uint8_t* xq,
                                                                    float* scale, std::int32_t* zero) {
  const int full = in & ~15;
  const __mmask16 tail = static_cast<__mmask16>((1u << (in - full)) - 1u);
  __m512 lo = _mm512_setzero_ps(), hi = _mm512_setzero_ps();
  for (int i = 0; i < full; i += 16) {
    const __m512 v = _mm512_loadu_ps(x + i);
    lo = _mm512_min_ps(lo, v);
    hi = _mm512_max_ps(hi, v);
  }
  if (tail) {
    const __m512 v = _mm512_maskz_loadu_ps(tail, x + full);  // masked lanes read as 0: inside [lo, hi]
    lo = _mm512_min_ps(lo, v);
    hi = _mm512_max_ps(hi, v);
  }
  const RowCode c = CodeFor(_mm512_reduce_min_ps(lo), _mm512_reduce_max_ps(hi));
  *scale = c.scale;
  *zero = c.zero;
  const __m512 vinv = _mm512_set1_ps(c.inv);
  const __m512i vzero = _mm512_set1_epi32(c.zero), floor = _mm512_setzero_si512();
  // cvtps_epi32 rounds to nearest even (the default MXCSR mode), like std::nearbyint; the unsigned
  // saturating narrow clamps the top at 255 once the bottom is clamped at 0.
  for (int i = 0; i < full; i += 16) {
    const __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + i), vinv)), vzero);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(xq + i), _mm512_cvtusepi32_epi8(_mm512_max_epi32(q, floor)));
  }
  for (int i = full; i < in; ++i) xq[i] = QuantizeOne(x[i], c);
  std::memset(xq + in, c.zero, static_cast<std::size_t>(ld - in));
}

}  // namespace

std::uint16_t FloatToBf16(float v) {
  std::uint32_t u;
  std::memcpy(&u, &v, 4);
  if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu) != 0) return static_cast<std::uint16_t>((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<std::uint16_t>(u >> 16);
}

float Bf16ToFloat(std::uint16_t v) {
  const std::uint32_t u = static_cast<std::uint32_t>(v) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

Bf16Weights PackBf16(int out, int in, const float* w) {
  Bf16Weights p{in, out, RoundUp(in, 16), {}};
  p.w.assign(static_cast<std::size_t>(out) * p.ld, 0);
  for (int o = 0; o < out; ++o)
    for (int i = 0; i < in; ++i) p.w[static_cast<std::size_t>(o) * p.ld + i] = FloatToBf16(w[static_cast<std::size_t>(o) * in + i]);
  return p;
}

void Bf16SmallBatchLinear(int batch, const float* x, const Bf16Weights& w, const float* bias, float* y, int ldy,
                          int o_begin, int o_end, Epilogue e) {
  if (kAvx2) return avx2::Bf16Linear(batch, x, w, bias, y, ldy, o_begin, o_end, e);
  if (!kAvx512) return Bf16Portable(batch, x, w, bias, y, ldy, o_begin, o_end, e);
  WithSmallBatch(batch, [&]<int B>() { Bf16Avx512<B>(x, w, bias, y, ldy, o_begin, o_end, e); });
}

void UnpackBf16Rows(const Bf16Weights& w, int o_begin, int o_end, float* out) {
  for (int o = o_begin; o < o_end; ++o)
    for (int i = 0; i < w.in; ++i)
      out[static_cast<std::size_t>(o - o_begin) * w.in + i] = Bf16ToFloat(w.w[static_cast<std::size_t>(o) * w.ld + i]);
}

Int8Weights QuantizeInt8(int out, int in, const float* w) {
  Int8Weights q{in, out, RoundUp(in, 64), {}, {}, {}};
  q.q.assign(static_cast<std::size_t>(out) * q.ld, 0);
  q.scale.resize(out);
  q.row_sum.resize(out);
  for (int o = 0; o < out; ++o) {
    const float* wr = w + static_cast<std::size_t>(o) * in;
    float amax = 0;
    for (int i = 0; i < in; ++i) amax = std::max(amax, std::abs(wr[i]));
    // amax / 127 underflows to 0 below ~1e-43 (w / 0 would be NaN): such a row codes as zeros.
    const float scale = amax / 127.0f > 0 ? amax / 127.0f : 1.0f;
    q.scale[o] = scale;
    std::int32_t sum = 0;
    for (int i = 0; i < in; ++i) {
      const int v = static_cast<int>(std::clamp(std::nearbyint(wr[i] / scale), -127.0f, 127.0f));
      q.q[static_cast<std::size_t>(o) * q.ld + i] = static_cast<std::int8_t>(v);
      sum += v;
    }
    q.row_sum[o] = sum;
  }
  return q;
}

void QuantizeRowsU8(int batch, int in, const float* x, int ld, const QuantizedRows& xq) {
  for (int b = 0; b < batch; ++b) {
    const float* xr = x + static_cast<std::size_t>(b) * in;
    std::uint8_t* qr = xq.q + static_cast<std::size_t>(b) * ld;
    if (kAvx512) {
      QuantizeRowAvx512(in, xr, ld, qr, xq.scale + b, xq.zero + b);
      continue;
    }
    float lo = 0, hi = 0;
    for (int i = 0; i < in; ++i) {
      lo = std::min(lo, xr[i]);
      hi = std::max(hi, xr[i]);
    }
    const RowCode c = CodeFor(lo, hi);
    xq.scale[b] = c.scale;
    xq.zero[b] = c.zero;
    for (int i = 0; i < in; ++i) qr[i] = QuantizeOne(xr[i], c);
    std::memset(qr + in, c.zero, static_cast<std::size_t>(ld - in));
  }
}

void Int8SmallBatchLinear(int batch, const QuantizedRows& xq, const Int8Weights& w, const float* bias, float* y,
                          int ldy, int o_begin, int o_end, Epilogue e) {
  // An AVX-512 CPU without VNNI has AVX2 too, and its 16-bit multiply-adds beat scalar code.
  if (!kVnni && (kAvx2 || kAvx512)) return avx2::Int8Linear(batch, xq, w, bias, y, ldy, o_begin, o_end, e);
  if (!kVnni) return Int8Portable(batch, xq, w, bias, y, ldy, o_begin, o_end, e);
  WithSmallBatch(batch, [&]<int B>() { Int8Vnni<B>(xq, w, bias, y, ldy, o_begin, o_end, e); });
}

void Int8GemmLinear(int batch, const QuantizedRows& xq, const Int8Weights& w, const float* bias, float* y,
                    std::int32_t* acc, Epilogue e) {
  if (!Int8GemmUsesOnednn()) {
    // Without VNNI oneDNN's u8s8 path may saturate int16 intermediates; stay exact instead, with
    // the small-batch kernel on blocks of 8 windows, the threads splitting the windows.
    ForRows(batch, [&](int r0, int r1) {
      for (int b0 = r0; b0 < r1; b0 += kSmallBatchMax) {
        const QuantizedRows part{xq.q + static_cast<std::size_t>(b0) * w.ld, xq.scale + b0, xq.zero + b0};
        Int8SmallBatchLinear(std::min(kSmallBatchMax, r1 - b0), part, w, bias, y + static_cast<std::size_t>(b0) * w.out,
                             w.out, 0, w.out, e);
      }
    });
    return;
  }
  const std::int32_t zero = 0;
  // xq.q [batch, in] (stride ld) times q [out, in]^T (stride ld); the per-row zero points come
  // off in the epilogue, as oneDNN's A offset is one scalar for the whole matrix.
  const dnnl_status_t st = dnnl_gemm_u8s8s32('N', 'T', 'F', batch, w.out, w.in, 1.0f, xq.q, w.ld, 0, w.q.data(), w.ld,
                                             0, 0.0f, acc, w.out, &zero);
  if (st != dnnl_success) throw std::runtime_error("oneDNN u8s8s32 GEMM failed with status " + std::to_string(st));
  ForRows(batch, [&](int b0, int b1) {
    for (int b = b0; b < b1; ++b) {
      const std::int32_t* ar = acc + static_cast<std::size_t>(b) * w.out;
      float* yr = y + static_cast<std::size_t>(b) * w.out;
      const float sx = xq.scale[b];
      const std::int32_t zx = xq.zero[b];
      for (int o = 0; o < w.out; ++o)
        yr[o] = ApplyEpilogue(static_cast<float>(ar[o] - zx * w.row_sum[o]) * (sx * w.scale[o]) + bias[o], e);
    }
  });
}

bool Int8GemmUsesOnednn() {
  // oneDNN follows ONEDNN_MAX_CPU_ISA, not the CPUID bits: a cap below VNNI on a VNNI CPU would
  // take its saturating path too.
  static const bool vnni = kVnni && (dnnl_get_effective_cpu_isa() & dnnl_cpu_isa_avx512_core_vnni) ==
                                        dnnl_cpu_isa_avx512_core_vnni;
  return vnni;
}

const char* QuantizedLinearIsa() {
  if (kVnni) return "bf16:avx512 int8:avx512-vnni";
  if (kAvx512) return "bf16:avx512 int8:avx2";
  if (kAvx2) return "bf16:avx2 int8:avx2";
  return "bf16:portable int8:portable";
}

}  // namespace nhits::cpu
