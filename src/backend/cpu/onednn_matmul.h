// A linear layer as a oneDNN matmul primitive with its weights reordered once into the layout
// the primitive wants, and bias + ReLU fused as post-ops. For large batches this runs 1.2-1.3x
// faster than dnnl_sgemm, which re-packs the weights on every call (bench/gemm_backends.cpp,
// docs/PERFORMANCE.md). The batch dimension is a runtime value: one primitive serves every size.
// Thread safety: Run may be called by one thread at a time (it owns a stream).
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
  void Run(int batch, const float* x, float* y) const;
  std::size_t packed_bytes() const;
  const char* implementation() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace nhits::cpu
