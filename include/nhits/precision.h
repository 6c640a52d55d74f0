// Numeric precision of a model's linear layers at inference time: a per-model runtime choice.
//   fp32  the reference (what training produced)
//   bf16  BF16 weights, FP32 activations and accumulation
//   int8  INT8 weights (per-output-channel symmetric) x INT8 activations (per-window dynamic)
// A PrecisionPlan may keep chosen layers in FP32 or, in an INT8 plan, in BF16: `nhits quantize`
// moves the layers whose quantisation costs the most accuracy on calibration windows to BF16
// (half the bytes of FP32, ~0.2% error) or FP32 (see docs/PERFORMANCE.md).
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "nhits/network.h"  // ExogBatch
#include "nhits/status.h"

namespace nhits {

enum class Precision { kFp32, kBf16, kInt8 };

const char* ToString(Precision p);
// "fp32", "bf16" or "int8"; anything else is InvalidArgument listing the choices.
Result<Precision> ParsePrecision(const std::string& name);

struct PrecisionPlan {
  Precision precision = Precision::kFp32;
  std::vector<std::pair<int, int>> fp32_layers;  // (block, linear layer within the block)
  std::vector<std::pair<int, int>> bf16_layers;  // INT8 plans only: layers in BF16 instead

  bool KeepsFp32(int block, int layer) const;
  // What one layer runs in: FP32 if kept, BF16 if listed in bf16_layers, else `precision`.
  Precision LayerPrecision(int block, int layer) const;
  std::string Describe() const;  // e.g. "int8 (2 layers kept fp32: 0.0 2.4; 1 layer bf16: 1.0)"
};

// Checkpoint metadata keys written by `nhits quantize`; absent keys mean FP32.
inline constexpr const char* kPrecisionKey = "nhits_precision";
inline constexpr const char* kFp32LayersKey = "nhits_fp32_layers";  // "0.0,2.4"
inline constexpr const char* kBf16LayersKey = "nhits_bf16_layers";  // the same form

// Per block, per linear layer: the largest |input| the FP32 network saw on calibration windows
// (raw windows [n, L] and masks, and the raw exogenous inputs of a model that has them; scaled
// inside with the model's scaler). Static activation scales for QDQ graphs and TensorRT
// calibration caches come from these.
inline constexpr const char* kActivationAmaxKey = "nhits_activation_amax";  // JSON [[...], ...]
class Model;
std::vector<std::vector<float>> CalibrateActivationRanges(const Model& model, const float* insample, const float* mask,
                                                          int windows, const ExogBatch<float>& exog = {});
std::string ActivationRangesToJson(const std::vector<std::vector<float>>& ranges);
Result<std::vector<std::vector<float>>> ActivationRangesFromJson(const std::string& json);

Result<PrecisionPlan> PrecisionPlanFromMetadata(const std::map<std::string, std::string>& metadata);
void PrecisionPlanToMetadata(const PrecisionPlan& plan, std::map<std::string, std::string>* metadata);

}  // namespace nhits
