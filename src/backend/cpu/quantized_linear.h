// Linear layers with low-precision weights for inference: BF16 weights with FP32 activations and
// accumulation (half the bytes to stream at batch 1, nearly FP32 accuracy), and INT8 weights
// (per-output-channel symmetric scales) times UINT8 activations (per-row dynamic scale and zero
// point) with INT32 accumulation on VNNI's vpdpbusd (a quarter of the bytes, 4x the MACs per
// instruction). The FP32 kernels stay the oracle: tests/precision_test.cpp holds each kernel
// here to an exact integer or float64 reference.
#pragma once

#include <cstdint>
#include <vector>

#include "backend/cpu/small_batch_linear.h"  // Epilogue

namespace nhits::cpu {

// Round to nearest even, as PyTorch's .to(torch.bfloat16) does; NaN stays NaN.
std::uint16_t FloatToBf16(float v);
float Bf16ToFloat(std::uint16_t v);

// BF16 weights [out, ld] (ld = in rounded up to 16, zero padded).
struct Bf16Weights {
  int in = 0, out = 0, ld = 0;
  std::vector<std::uint16_t> w;
};
Bf16Weights PackBf16(int out, int in, const float* w);

// y[b, o] = epilogue(bias[o] + sum_i x[b, i] * w[o, i]) for o in [o_begin, o_end), batch <= 8.
void Bf16SmallBatchLinear(int batch, const float* x, const Bf16Weights& w, const float* bias, float* y, int ldy,
                          int o_begin, int o_end, Epilogue e);
// Rows [o_begin, o_end) of the weights back in FP32, [rows, in], for the large-batch GEMM path.
void UnpackBf16Rows(const Bf16Weights& w, int o_begin, int o_end, float* out);

// INT8 weights: q[o, i] = round(w[o, i] / scale[o]) in [-127, 127], rows padded to ld (a multiple
// of 64 bytes) with zeros. row_sum[o] = sum_i q[o, i] undoes the activations' zero point.
struct Int8Weights {
  int in = 0, out = 0, ld = 0;
  std::vector<std::int8_t> q;
  std::vector<float> scale;
  std::vector<std::int32_t> row_sum;
};
Int8Weights QuantizeInt8(int out, int in, const float* w);

// Activations [batch, ld] quantised per row (vpdpbusd multiplies unsigned by signed bytes):
// x[b, i] ~ scale[b] * (q[b, i] - zero[b]).
struct QuantizedRows {
  std::uint8_t* q = nullptr;
  float* scale = nullptr;
  std::int32_t* zero = nullptr;
};
// Per-row asymmetric quantisation of x [batch, in] (row stride in) over [min(x, 0), max(x, 0)]:
// scale[b] = (hi - lo) / 255 (1 for an all-zero row), zero[b] = round(-lo / scale[b]), q[b, i] =
// clamp(round(x[b, i] / scale[b]) + zero[b], 0, 255), padded to ld with zero[b]. Why asymmetric:
// every hidden layer's input has just passed a ReLU, and a symmetric code would spend half of its
// 256 levels on negative values that never occur.
void QuantizeRowsU8(int batch, int in, const float* x, int ld, const QuantizedRows& xq);

// y[b, o] = epilogue(bias[o] + xq.scale[b] * w.scale[o] * sum_i (xq.q[b, i] - xq.zero[b]) * q[o, i]),
// batch <= 8, xq.q with row stride w.ld.
void Int8SmallBatchLinear(int batch, const QuantizedRows& xq, const Int8Weights& w, const float* bias, float* y,
                          int ldy, int o_begin, int o_end, Epilogue e);
// The same for any batch through oneDNN's u8s8s32 GEMM; acc is scratch of batch * w.out int32.
void Int8GemmLinear(int batch, const QuantizedRows& xq, const Int8Weights& w, const float* bias, float* y,
                    std::int32_t* acc, Epilogue e);

// Which implementations run on this CPU, e.g. "bf16:avx512 int8:avx512-vnni".
const char* QuantizedLinearIsa();
// Whether large INT8 batches run oneDNN's u8s8s32 GEMM: only where oneDNN itself may use VNNI
// (its non-VNNI path saturates 16-bit sums); else the exact small-batch kernel per 8 windows.
bool Int8GemmUsesOnednn();

}  // namespace nhits::cpu
