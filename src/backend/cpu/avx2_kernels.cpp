#include "backend/cpu/avx2_kernels.h"

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <vector>

// Every function that touches a 256-bit intrinsic carries the target attribute itself: the
// library is built for the host (-march=native), which may lack AVX2, and a lambda would not
// inherit the attribute from its enclosing function.
#define NHITS_AVX2 __attribute__((target("avx2,fma")))

namespace nhits::cpu::avx2 {
namespace {

inline float Finish(float v, Epilogue e) { return e == Epilogue::kRelu && !(v > 0.0f) ? 0.0f : v; }

NHITS_AVX2 inline float Sum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

NHITS_AVX2 inline std::int32_t Sum(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm_cvtsi128_si32(s);
}

// Lanes [0, n) on (n in 0..8), for vmaskmovps: masked lanes are neither read nor faulted on.
NHITS_AVX2 inline __m256i FirstLanes(int n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// ---- FP32 panels: [chunk][8 rows][16], each 16-float run read as two 8-lane halves ----

constexpr int kPanelRows = 8;

template <int B, int R>
NHITS_AVX2 void PanelRows(const float* x, const Fp32Panels& w, const float* bias, float* y, int ldy, int o_begin,
                          int o_end, Epilogue e) {
  const int chunks = (w.in + 15) / 16, full = w.in / 16, rest = w.in - full * 16;
  // x past `in` may be anything (NaN included) and 0 * NaN is NaN: the last chunk is masked.
  const __m256i lo_mask = FirstLanes(rest < 8 ? rest : 8), hi_mask = FirstLanes(rest > 8 ? rest - 8 : 0);
  for (int o = o_begin; o < o_end; o += kPanelRows) {
    const float* panel = w.data.get() + static_cast<std::size_t>(o / kPanelRows) * chunks * kPanelRows * 16;
    for (int r0 = 0; r0 < kPanelRows && o + r0 < o_end; r0 += R) {
      __m256 acc[R][B];
      for (int r = 0; r < R; ++r)
        for (int b = 0; b < B; ++b) acc[r][b] = _mm256_setzero_ps();
      const float* p = panel + r0 * 16;
      for (int c = 0; c < chunks; ++c, p += kPanelRows * 16) {
        __m256 xl[B], xh[B];
        for (int b = 0; b < B; ++b) {
          const float* xb = x + static_cast<std::size_t>(b) * w.in + c * 16;
          xl[b] = c < full ? _mm256_loadu_ps(xb) : _mm256_maskload_ps(xb, lo_mask);
          xh[b] = c < full ? _mm256_loadu_ps(xb + 8) : _mm256_maskload_ps(xb + 8, hi_mask);
        }
        for (int r = 0; r < R; ++r) {
          const __m256 wl = _mm256_load_ps(p + r * 16), wh = _mm256_load_ps(p + r * 16 + 8);
          for (int b = 0; b < B; ++b) acc[r][b] = _mm256_fmadd_ps(wh, xh[b], _mm256_fmadd_ps(wl, xl[b], acc[r][b]));
        }
      }
      const int rows = o_end - o - r0 < R ? o_end - o - r0 : R;
      for (int r = 0; r < rows; ++r)
        for (int b = 0; b < B; ++b)
          y[static_cast<std::size_t>(b) * ldy + o + r0 + r] = Finish(Sum(acc[r][b]) + bias[o + r0 + r], e);
    }
  }
}

// ---- Row-major weights: FP32 [out, in], or BF16 [out, ld] (ld a multiple of 16, zero padded) ----

NHITS_AVX2 inline __m256 LoadWeights(const float* p) { return _mm256_loadu_ps(p); }
// BF16 is the top half of an FP32: widening is a shift.
NHITS_AVX2 inline __m256 LoadWeights(const std::uint16_t* p) {
  const __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
}
// The last (partial) 8 weights of a row: FP32 rows end at `in`; BF16 rows are padded with zeros.
NHITS_AVX2 inline __m256 LoadLastWeights(const float* p, __m256i lanes) { return _mm256_maskload_ps(p, lanes); }
NHITS_AVX2 inline __m256 LoadLastWeights(const std::uint16_t* p, __m256i) { return LoadWeights(p); }

// R rows x B windows of independent accumulators; rows are `ld` weights apart.
template <int B, int R, typename W>
NHITS_AVX2 inline void Rows(int in, int ld, const float* x, const W* w, const float* bias, float* y, int ldy, int o,
                            Epilogue e) {
  const int full = in & ~7;
  const W* wr = w + static_cast<std::size_t>(o) * ld;
  __m256 acc[R][B];
  for (int r = 0; r < R; ++r)
    for (int b = 0; b < B; ++b) acc[r][b] = _mm256_setzero_ps();
  for (int i = 0; i < full; i += 8) {
    __m256 xv[B];
    for (int b = 0; b < B; ++b) xv[b] = _mm256_loadu_ps(x + static_cast<std::size_t>(b) * in + i);
    for (int r = 0; r < R; ++r) {
      const __m256 wv = LoadWeights(wr + static_cast<std::size_t>(r) * ld + i);
      for (int b = 0; b < B; ++b) acc[r][b] = _mm256_fmadd_ps(wv, xv[b], acc[r][b]);
    }
  }
  if (full < in) {
    const __m256i m = FirstLanes(in - full);
    __m256 xv[B];
    for (int b = 0; b < B; ++b) xv[b] = _mm256_maskload_ps(x + static_cast<std::size_t>(b) * in + full, m);
    for (int r = 0; r < R; ++r) {
      const __m256 wv = LoadLastWeights(wr + static_cast<std::size_t>(r) * ld + full, m);
      for (int b = 0; b < B; ++b) acc[r][b] = _mm256_fmadd_ps(wv, xv[b], acc[r][b]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int b = 0; b < B; ++b) y[static_cast<std::size_t>(b) * ldy + o + r] = Finish(Sum(acc[r][b]) + bias[o + r], e);
}

template <typename W>
void RowMajorLinear(int batch, int in, int ld, const float* x, const W* w, const float* bias, float* y, int ldy,
                    int o_begin, int o_end, Epilogue e) {
  WithSmallBatch(batch, [&]<int B>() {
    constexpr int R = RowsPerStep(B);
    int o = o_begin;
    for (; o + R <= o_end; o += R) Rows<B, R>(in, ld, x, w, bias, y, ldy, o, e);
    for (; o < o_end; ++o) Rows<B, 1>(in, ld, x, w, bias, y, ldy, o, e);
  });
}

// ---- INT8: u8 activations x s8 weights, rows of ld bytes (a multiple of 64, padded) ----

template <int B, int R>
NHITS_AVX2 inline void Int8Rows(const std::int16_t* x16, const QuantizedRows& xq, const Int8Weights& w, const float* bias,
                                float* y, int ldy, int o, Epilogue e) {
  const int ld = w.ld;
  const std::int8_t* wr = w.q.data() + static_cast<std::size_t>(o) * ld;
  __m256i acc[R][B];
  for (int r = 0; r < R; ++r)
    for (int b = 0; b < B; ++b) acc[r][b] = _mm256_setzero_si256();
  for (int i = 0; i < ld; i += 16) {
    for (int r = 0; r < R; ++r) {
      const __m256i wv =
          _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(wr + static_cast<std::size_t>(r) * ld + i)));
      // Pairs of 16-bit products summed into 32 bits: at most 2 * 255 * 127, exact. x is read
      // already widened (a memory operand of vpmaddwd), not widened again for every row.
      for (int b = 0; b < B; ++b)
        acc[r][b] = _mm256_add_epi32(
            acc[r][b], _mm256_madd_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x16 + static_cast<std::size_t>(b) * ld + i)), wv));
    }
  }
  for (int r = 0; r < R; ++r)
    for (int b = 0; b < B; ++b) {
      const std::int32_t dot = Sum(acc[r][b]) - xq.zero[b] * w.row_sum[o + r];
      y[static_cast<std::size_t>(b) * ldy + o + r] =
          Finish(static_cast<float>(dot) * (xq.scale[b] * w.scale[o + r]) + bias[o + r], e);
    }
}

NHITS_AVX2 void WidenBytes(const std::uint8_t* q, std::size_t n, std::int16_t* out) {
  std::size_t i = 0;  // n is a multiple of 16 (w.ld is)
  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i),
                        _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q + i))));
  for (; i < n; ++i) out[i] = q[i];
}

}  // namespace

void Linear(int batch, int in, const float* x, const float* w, const float* bias, float* y, int ldy, int o_begin,
            int o_end, Epilogue e) {
  RowMajorLinear(batch, in, in, x, w, bias, y, ldy, o_begin, o_end, e);
}

void PanelLinear(int batch, const float* x, const Fp32Panels& w, const float* bias, float* y, int ldy, int o_begin,
                 int o_end, Epilogue e) {
  // 16 registers: R * B accumulators plus 2 * B halves of x stay within them up to batch 2.
  WithSmallBatch(batch, [&]<int B>() {
    constexpr int R = B == 1 ? 8 : B == 2 ? 4 : B <= 4 ? 2 : 1;
    PanelRows<B, R>(x, w, bias, y, ldy, o_begin, o_end, e);
  });
}

void Bf16Linear(int batch, const float* x, const Bf16Weights& w, const float* bias, float* y, int ldy, int o_begin,
                int o_end, Epilogue e) {
  RowMajorLinear(batch, w.in, w.ld, x, w.w.data(), bias, y, ldy, o_begin, o_end, e);
}

void Int8Linear(int batch, const QuantizedRows& xq, const Int8Weights& w, const float* bias, float* y, int ldy,
                int o_begin, int o_end, Epilogue e) {
  if (o_begin >= o_end) return;  // a thread given no rows of a small layer
  // The windows' bytes widened to 16 bits once per call, not once per block of rows: the
  // widening cost as much as the multiply-adds. Grown once per thread, then reused.
  thread_local std::vector<std::int16_t> x16;
  const std::size_t n = static_cast<std::size_t>(batch) * w.ld;
  if (x16.size() < n) x16.resize(n);
  WidenBytes(xq.q, n, x16.data());
  WithSmallBatch(batch, [&]<int B>() {
    constexpr int R = RowsPerStep(B);
    int o = o_begin;
    for (; o + R <= o_end; o += R) Int8Rows<B, R>(x16.data(), xq, w, bias, y, ldy, o, e);
    for (; o < o_end; ++o) Int8Rows<B, 1>(x16.data(), xq, w, bias, y, ldy, o, e);
  });
}

}  // namespace nhits::cpu::avx2
