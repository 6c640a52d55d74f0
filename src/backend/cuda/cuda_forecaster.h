// CudaForecaster: NHITS inference on one GPU. Weights live on the device in the chosen precision;
// each linear layer is one cuBLASLt matmul with bias (+ ReLU) fused in its epilogue; our kernels
// do the time reversal, pooling, other activations, and the residual update fused with the
// interpolation + forecast accumulation. A forward for a given batch bucket is captured once as
// a CUDA graph, so a forecast is: scale on the host, one pinned copy in, one graph launch, one
// copy out. Device scratch comes from the caching allocator.
//
// Compiled only when CMake finds the CUDA toolkit (NHITS_CUDA=AUTO|ON); Create() reports
// Unavailable without a device. Thread safety: one thread per forecaster (it owns a stream).
#pragma once

#include <memory>
#include <string>

#include "nhits/model.h"
#include "nhits/status.h"

namespace nhits::cuda {

enum class GpuPrecision { kFp32, kTf32, kFp16, kBf16 };
const char* ToString(GpuPrecision p);
Result<GpuPrecision> ParseGpuPrecision(const std::string& name);

struct GpuMemoryStats {
  std::size_t reserved = 0, in_use = 0, high_water = 0;
  double efficiency = 1, fragmentation = 0;
};

class CudaForecaster {
 public:
  // Checks the GPU answers against the model's FP32 CPU forward on random windows at load time;
  // with `auto_fallback` a precision over its bound falls back to FP32 (reason in fallback_reason()).
  static Result<std::unique_ptr<CudaForecaster>> Create(const Model& model, int max_batch, GpuPrecision precision,
                                                        int device = 0, bool auto_fallback = true);
  virtual ~CudaForecaster() = default;

  // Raw windows in, original-scale forecasts out (host memory), like InferenceSession::Predict.
  virtual Status Predict(int batch, const float* insample, const float* mask, float* out) = 0;
  virtual GpuPrecision precision() const = 0;
  virtual std::string fallback_reason() const = 0;
  virtual double load_check_error() const = 0;  // max relative error against the CPU at load
  virtual GpuMemoryStats memory() const = 0;
};

}  // namespace nhits::cuda
