// Linear layers for small batches (the batch-1 latency regime), where a GEMM library's packing
// costs more than the math: each weight row is streamed once and multiplied with every batch row
// while it is in registers. Bound by weight bandwidth, so threads split the OUTPUT rows and each
// streams its own slice of the weights.
#pragma once

#include <cstddef>
#include <memory>

namespace nhits::cpu {

// What a kernel applies to each output after the bias, so activations never take a second pass.
enum class Epilogue { kNone, kRelu };

// Output rows a small-batch kernel computes together for a batch of B: enough independent
// accumulator chains (R * B >= 8) to cover the FMA/VNNI latency, within the 32 vector registers.
constexpr int RowsPerStep(int batch) { return batch == 1 ? 8 : batch == 2 ? 4 : batch <= 4 ? 2 : 1; }

// Largest batch the small-batch kernel takes; larger batches go to the GEMM path.
constexpr int kSmallBatchMax = 8;

// Calls f.template operator()<B>() with B = batch as a compile-time constant (1..8; larger
// values clamp to 8): the kernels keep one accumulator per window in registers.
template <typename F>
void WithSmallBatch(int batch, F&& f) {
  switch (batch) {
    case 1: return f.template operator()<1>();
    case 2: return f.template operator()<2>();
    case 3: return f.template operator()<3>();
    case 4: return f.template operator()<4>();
    case 5: return f.template operator()<5>();
    case 6: return f.template operator()<6>();
    case 7: return f.template operator()<7>();
    default: return f.template operator()<8>();
  }
}

// y[b, o] = epilogue(bias[o] + sum_i x[b, i] * w[o, i]) for o in [o_begin, o_end), b < batch <= 8.
// Uses AVX-512 or AVX2 + FMA when the CPU has it (kernel_isa.h), else portable code.
void SmallBatchLinear(int batch, int in, const float* x, const float* w, const float* bias, float* y, int ldy,
                      int o_begin, int o_end, Epilogue e = Epilogue::kNone);

// Which implementation SmallBatchLinear uses on this CPU ("avx512", "avx2" or "portable").
const char* SmallBatchLinearIsa();

// FP32 weights laid out for small batches: panels of 8 output rows, each [ceil(in/16)][8][16] floats
// (zero-padded), so the kernel streams one sequential run instead of eight interleaved rows,
// which the hardware prefetchers follow better (74 against 59 GB/s from L3 for 8 MB of 512x512
// layers at batch 1 on this machine's Zen 4 core). Empty on a CPU without AVX2 (SmallBatchLinear then).
struct Fp32Panels {
  int out = 0, in = 0;
  std::unique_ptr<float[], void (*)(void*)> data{nullptr, nullptr};  // 64-byte aligned
  bool empty() const { return data == nullptr; }
  std::size_t bytes() const;
};
Fp32Panels PackFp32Panels(int out, int in, const float* w);
// Batches the engine runs on panels: at 1 and 2 they beat the row-major kernel by ~28% here (1
// thread, default model: 89 against 121-129 us, 121 against 170 us); at 3-8 the row-major one
// was as fast or faster in the same runs.
constexpr int kPanelBatchMax = 2;
// SmallBatchLinear on panels: y[b, o] = epilogue(bias[o] + sum_i x[b, i] * w[o, i]) for o in
// [o_begin, o_end), o_begin a multiple of 8, b < batch <= 8; the same sums in another order.
void PanelLinear(int batch, const float* x, const Fp32Panels& w, const float* bias, float* y, int ldy, int o_begin,
                 int o_end, Epilogue e = Epilogue::kNone);

}  // namespace nhits::cpu
