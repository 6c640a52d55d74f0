// Activation ranges on calibration windows, for static INT8 scales (QDQ graphs, TensorRT).
#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "nhits/model.h"
#include "nhits/precision.h"
#include "nhits/scaler.h"

namespace nhits {

std::vector<std::vector<float>> CalibrateActivationRanges(const Model& model, const float* insample, const float* mask,
                                                          int windows, const ExogBatch<float>& exog) {
  const NhitsConfig& c = model.config();
  const int L = c.input_size;
  const std::size_t X = c.hist_exog_list.size(), F = c.futr_exog_list.size(), W = static_cast<std::size_t>(windows);
  std::vector<float> scaled(W * L), out(W * c.h * c.network_outputs_per_step()), hist(W * L * X), futr(W * (L + c.h) * F),
      scratch(2 * static_cast<std::size_t>(L));
  for (std::size_t b = 0; b < W; ++b) {
    const std::size_t at = b * L;
    ScaleInsampleWindow(c, insample + at, mask + at, L, scaled.data() + at);
    // Exogenous columns as Model::PredictWindows scales them: the ranges are those the kernels see.
    ScaleExogWindow(c, mask + at, exog.hist + b * L * X, exog.futr + b * (L + c.h) * F, hist.data() + b * L * X,
                    futr.data() + b * (L + c.h) * F, scratch.data());
  }
  Model::EmbeddedExog embedded;
  const ExogBatch<float> net_exog = model.NetworkExog(windows, {hist.data(), futr.data(), exog.stat}, &embedded);
  Workspace<float> ws;
  model.network().Forward(windows, scaled.data(), mask, net_exog, out.data(), ws, false, nullptr);
  const auto& blocks = model.network().layout().blocks;
  std::vector<std::vector<float>> ranges(blocks.size());
  auto amax = [](const std::vector<float>& v) {
    float m = 0;
    for (float x : v) m = std::max(m, std::abs(x));
    return m;
  };
  for (std::size_t b = 0; b < blocks.size(); ++b)
    for (std::size_t l = 0; l < blocks[b].layers.size(); ++l)  // each layer's input: pooled or the layer before
      ranges[b].push_back(l == 0                                   ? amax(ws.pooled[b])
                          : blocks[b].layers[l - 1].activated ? amax(ws.post[b][l - 1])
                                                              : amax(ws.pre[b][l - 1]));
  return ranges;
}

std::string ActivationRangesToJson(const std::vector<std::vector<float>>& ranges) {
  return nlohmann::json(ranges).dump();
}

Result<std::vector<std::vector<float>>> ActivationRangesFromJson(const std::string& text) {
  try {
    return nlohmann::json::parse(text).get<std::vector<std::vector<float>>>();
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("metadata ") + kActivationAmaxKey + ": " + e.what());
  }
}

}  // namespace nhits
