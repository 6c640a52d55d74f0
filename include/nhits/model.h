// Model: a configured NHITS network with its float32 weights, and batched forecasting from raw
// (unscaled) windows. This is the object the CLI, the trainer and the servers share.
//
// Usage:
//   auto model = nhits::LoadCheckpoint("m.safetensors");      // or Model(config) + training
//   model->PredictWindows(batch, insample, mask, forecasts);  // [B, L] -> [B, h, Q]
// Thread safety: PredictWindows is const and may run concurrently from many threads; training
// (mutable_network) must not overlap with prediction.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "nhits/config.h"
#include "nhits/network.h"
#include "nhits/precision.h"
#include "nhits/scaler.h"
#include "nhits/status.h"

namespace nhits {

class Model {
 public:
  explicit Model(const NhitsConfig& config)
      : config_(config), network_(EmbeddedConfig(config)), embeddings_(config) {}

  // The model as neuralforecast describes it: one column per exogenous input. The network's own
  // config (network().config()) differs only with categorical columns: it lists their embeddings.
  const NhitsConfig& config() const { return config_; }
  const Network<float>& network() const { return network_; }
  Network<float>& mutable_network() { return network_; }
  const CategoricalEmbeddings& embeddings() const { return embeddings_; }
  CategoricalEmbeddings& mutable_embeddings() { return embeddings_; }
  // y's learned pair of scaler_type "revin" (revin_bias[0], revin_weight[0]), which training with
  // a DistributionLoss steps; the exogenous channels' pairs keep their values (0 and 1 if unset).
  void SetRevinY(float bias, float weight);

  // Scaled, coded exogenous inputs of `windows` windows -> the network's inputs: `scaled` itself
  // without categorical columns, else their embedded copy in `hist`/`futr`/`stat`, which must hold
  // windows * L * hist_width(), windows * (L + h) * futr_width() and windows * stat_width() floats.
  ExogBatch<float> NetworkExog(int windows, const ExogBatch<float>& scaled, float* hist, float* futr,
                               float* stat) const;
  // The same into buffers of its own, resized as needed (reuse one across calls).
  struct EmbeddedExog {
    std::vector<float> hist, futr, stat;
  };
  ExogBatch<float> NetworkExog(int windows, const ExogBatch<float>& scaled, EmbeddedExog* buffers) const;

  // The network's weights plus the embedding tables (neuralforecast counts both).
  std::int64_t ParameterCount() const {
    return static_cast<std::int64_t>(network_.params().size() + embeddings_.weight_count());
  }
  std::int64_t FlopsPerForecast() const { return 2 * network_.MacsPerWindow(); }

  // Forecasts from raw windows: insample [B, L] (oldest first, padded slots 0), mask [B, L]
  // (1 = observed). Applies the per-window scaler and its inverse. out: [B, h, Q]. A model with
  // exogenous columns needs the overload below (calling this one for it is a programming error).
  void PredictWindows(int batch, const float* insample, const float* mask, float* out) const {
    PredictWindows(batch, insample, mask, ExogBatch<float>{}, out);
  }
  // The same with the raw exogenous values of each window (layout of ExogBatch); the temporal
  // columns are scaled per window like y (ScaleExogColumns), static values are not scaled.
  void PredictWindows(int batch, const float* insample, const float* mask, const ExogBatch<float>& exog,
                      float* out) const;
  // The network's raw output for the same inputs: raw [B, h, network_outputs_per_step()] in the
  // scaled space, and each window's scaler statistics in window_stats [B]. PredictWindows is this
  // followed by DecodeForecast; the trainer's validation scores DistributionLoss on it.
  void ForwardRaw(int batch, const float* insample, const float* mask, const ExogBatch<float>& exog, float* raw,
                  ScaleStats* window_stats) const;

 private:
  NhitsConfig config_;
  Network<float> network_;
  CategoricalEmbeddings embeddings_;
};

// Training metadata kept beside the weights (free-form strings, e.g. data path, steps run).
using CheckpointInfo = std::map<std::string, std::string>;

// Writes neuralforecast's state_dict names (blocks.{b}.layers.{i}.weight|bias, loss.quantiles
// for MQLoss) and the configuration as JSON in __metadata__["nhits_config"]. Atomic.
// With a BF16/INT8 `precision`, quantised layers are stored as BF16, or as I8 plus an F32
// `weight_scale` [out] per layer, and the plan goes to the metadata (see precision.h).
Status SaveCheckpoint(const std::string& path, const Model& model, const TrainOptions* train = nullptr,
                      const CheckpointInfo& info = {}, const PrecisionPlan& precision = {});

// Loads and validates a checkpoint written by SaveCheckpoint or exported from PyTorch. Every
// missing, unexpected or mis-shaped tensor is reported by name with expected and found shapes.
// Quantised weights are dequantised into the FP32 parameters (re-quantising them is exact), and
// the precision plan stays in `info` (PrecisionPlanFromMetadata).
Result<Model> LoadCheckpoint(const std::string& path, CheckpointInfo* info = nullptr);

}  // namespace nhits
