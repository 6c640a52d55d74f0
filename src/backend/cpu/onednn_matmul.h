// A linear layer as a oneDNN matmul primitive with its weights reordered once into the layout
// the primitive wants, and bias + ReLU fused as post-ops. For large batches this runs 1.2-1.3x
// faster than dnnl_sgemm, which re-packs the weights on every call (bench/gemm_backends.cpp,
// docs/PERFORMANCE.md). The batch dimension is a runtime value: one primitive serves every size.
// Thread safety: Run may be called from several threads at once, each with its own scratchpad
// (the serving workers of one model share one copy of the packed weights).
#pragma once

#include <cstddef>
#include <memory>

#include "backend/cpu/small_batch_linear.h"  // Epilogue

namespace nhits::cpu {

class OnednnMatmul {
 public:
  // w: [out, in] row-major, bias: [out]; both copied (w into the packed layout).
  OnednnMatmul(int out, int in, const float* w, const float* bias, Epilogue e);
  ~OnednnMatmul();
  OnednnMatmul(OnednnMatmul&&) noexcept;
  OnednnMatmul& operator=(OnednnMatmul&&) noexcept;

  // y[b, :] = epilogue(x[b, :] W^T + bias) for b < batch; x [batch, in], y [batch, out].
  // `scratchpad`: scratchpad_bytes() of memory no other call uses at the same time (64-byte
  // aligned; may be null when scratchpad_bytes() is 0).
  void Run(int batch, const float* x, float* y, void* scratchpad) const;
  std::size_t scratchpad_bytes() const;
  std::size_t packed_bytes() const;
  const char* implementation() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace nhits::cpu
