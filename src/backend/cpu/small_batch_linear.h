// Linear layers for small batches (the batch-1 latency regime), where a GEMM library's packing
// costs more than the math: each weight row is streamed once and multiplied with every batch row
// while it is in registers. Bound by weight bandwidth, so threads split the OUTPUT rows and each
// streams its own slice of the weights.
#pragma once

namespace nhits::cpu {

// Largest batch the small-batch kernel takes; larger batches go to the GEMM path.
constexpr int kSmallBatchMax = 8;

// y[b, o] = bias[o] + sum_i x[b, i] * w[o, i] for o in [o_begin, o_end), b < batch <= 8.
// Uses AVX-512 when the CPU has it, else portable code with the same summation shape.
void SmallBatchLinear(int batch, int in, const float* x, const float* w, const float* bias, float* y, int ldy,
                      int o_begin, int o_end);

// Which implementation SmallBatchLinear uses on this CPU ("avx512" or "portable").
const char* SmallBatchLinearIsa();

}  // namespace nhits::cpu
