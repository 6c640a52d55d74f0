// Registers the CUDA backend with the engine: models loaded with ModelOptions::device "cuda:N"
// (or "cuda:N:fp32|tf32|fp16|bf16") run on GPU N. Without a precision suffix the choice is
// automatic: BF16 on sm_80 and newer, FP16 on sm_70/75 (FP32 there for a model without a scaler_type,
// whose raw windows can overflow FP16), FP32 below, each checked against the FP32
// CPU reference at load time (falls back to FP32, with the reason, when over its bound).
#pragma once

namespace nhits::cuda {

void RegisterEngineBackend();

}  // namespace nhits::cuda
