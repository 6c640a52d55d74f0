// CudaTrainer: NHITS training steps on one GPU with mixed precision. FP32 master weights and
// Adam state live on the device; each step converts them to the compute type (FP32, FP16 or
// BF16), runs the forward and the backward pass there (cuBLASLt GEMMs, FP32 weight gradients),
// and scales the loss dynamically (DynamicLossScaler): a step whose gradients overflowed is
// skipped and the scale halved. The loss and its gradient w.r.t. the forecast are computed on the
// host with the engine's own loss code (every loss neuralforecast's NHITS has), so the device
// sees only d(loss)/d(forecast) [batch, h, Q].
// Scope: ReLU activations, no dropout (others are refused with the reason).
// Thread safety: one thread per trainer.
#pragma once

#include <memory>

#include "backend/cuda/cuda_forecaster.h"
#include "backend/cuda/loss_scaler.h"
#include "nhits/model.h"

namespace nhits::cuda {

struct GpuTrainStep {
  double loss = 0;
  bool skipped = false;   // gradients overflowed: no update this step
  double loss_scale = 1;  // the scale used for this step
};

class CudaTrainer {
 public:
  // FP32 ignores the scaler (scale 1, nothing can overflow that FP32 would not).
  static Result<std::unique_ptr<CudaTrainer>> Create(const Model& model, int max_batch, GpuPrecision precision,
                                                     LossScalerOptions scaler = {}, int device = 0);
  virtual ~CudaTrainer() = default;

  // One Adam step (PyTorch defaults) at learning rate `lr` on scaled windows: insample/mask
  // [batch, input_size], targets y/y_mask [batch, h] (scaled like the windows).
  virtual Result<GpuTrainStep> Step(int batch, const float* insample, const float* mask, const float* y,
                                    const float* y_mask, double lr) = 0;
  // The FP32 master weights into `model` (same layout).
  virtual Status CopyWeightsTo(Model& model) = 0;
  virtual std::uint64_t skipped_steps() const = 0;
};

}  // namespace nhits::cuda
