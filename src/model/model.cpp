#include "nhits/model.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "nhits/distribution.h"
#include "nhits/scaler.h"

namespace nhits {

void Model::SetRevinY(float bias, float weight) {
  const std::size_t n = static_cast<std::size_t>(config_.revin_channels());
  if (config_.revin_bias.size() != n) config_.revin_bias.assign(n, 0.0f);
  if (config_.revin_weight.size() != n) config_.revin_weight.assign(n, 1.0f);
  config_.revin_bias[0] = bias;
  config_.revin_weight[0] = weight;
}

void Model::PredictWindows(int batch, const float* insample, const float* mask, const ExogBatch<float>& exog,
                           float* out) const {
  const NhitsConfig& c = config();
  const int HQ = c.h * c.outputs_per_step(), HP = c.h * c.network_outputs_per_step();
  constexpr int kChunk = 2048;
  thread_local std::vector<float> raw;
  thread_local std::vector<ScaleStats> stats;
  for (int begin = 0; begin < batch; begin += kChunk) {
    const int n = std::min(kChunk, batch - begin);
    const std::size_t at = static_cast<std::size_t>(begin);
    float* y = out + at * HQ;
    // Raw channels in place when the forecast has the same layout (every loss but DistributionLoss).
    float* r = y;
    if (c.distribution_loss()) {
      raw.resize(static_cast<std::size_t>(n) * HP);
      r = raw.data();
    }
    ExogBatch<float> chunk_exog;
    if (exog.hist != nullptr) chunk_exog.hist = exog.hist + at * c.input_size * c.hist_exog_list.size();
    if (exog.futr != nullptr) chunk_exog.futr = exog.futr + at * (c.input_size + c.h) * c.futr_exog_list.size();
    if (exog.stat != nullptr) chunk_exog.stat = exog.stat + at * c.stat_exog_list.size();
    stats.resize(static_cast<std::size_t>(n));
    ForwardRaw(n, insample + at * c.input_size, mask + at * c.input_size, chunk_exog, r, stats.data());
    for (int b = 0; b < n; ++b)
      DecodeForecast(c, stats[b], r + static_cast<std::size_t>(b) * HP, y + static_cast<std::size_t>(b) * HQ);
  }
}

ExogBatch<float> Model::NetworkExog(int windows, const ExogBatch<float>& scaled, float* hist, float* futr,
                                   float* stat) const {
  if (embeddings_.empty()) return scaled;
  embeddings_.Embed(windows, scaled, hist, futr, stat);
  const NhitsConfig& n = network_.config();
  return {n.hist_exog_list.empty() ? nullptr : hist, n.futr_exog_list.empty() ? nullptr : futr,
          n.stat_exog_list.empty() ? nullptr : stat};
}

ExogBatch<float> Model::NetworkExog(int windows, const ExogBatch<float>& scaled, EmbeddedExog* buffers) const {
  if (embeddings_.empty()) return scaled;
  const std::size_t n = static_cast<std::size_t>(windows), L = static_cast<std::size_t>(config_.input_size);
  buffers->hist.resize(n * L * embeddings_.hist_width());
  buffers->futr.resize(n * (L + config_.h) * embeddings_.futr_width());
  buffers->stat.resize(n * embeddings_.stat_width());
  return NetworkExog(windows, scaled, buffers->hist.data(), buffers->futr.data(), buffers->stat.data());
}

void Model::ForwardRaw(int batch, const float* insample, const float* mask, const ExogBatch<float>& exog, float* raw,
                       ScaleStats* window_stats) const {
  const NhitsConfig& c = config();
  const int L = c.input_size, HQ = c.h * c.network_outputs_per_step();
  const int X = static_cast<int>(c.hist_exog_list.size()), F = static_cast<int>(c.futr_exog_list.size()),
            S = static_cast<int>(c.stat_exog_list.size());
  thread_local std::vector<float> hist, futr, exog_scratch;
  if ((X > 0 && exog.hist == nullptr) || (F > 0 && exog.futr == nullptr) || (S > 0 && exog.stat == nullptr)) {
    // A caller bug, not bad data: the commands and the engine check requests first.
    std::fprintf(stderr, "nhits: Model::ForwardRaw/PredictWindows without the exogenous inputs its config lists\n");
    std::abort();
  }
  // Chunks bound the activation memory of very large requests.
  constexpr int kChunk = 2048;
  // Reused across calls on the same thread: fresh multi-megabyte buffers would be page-faulted
  // in on every call, which cost more than the GEMMs at large batches.
  thread_local Workspace<float> ws;
  thread_local std::vector<float> scaled;
  thread_local EmbeddedExog embedded;
  thread_local std::vector<ScaleStats> stats;
  for (int begin = 0; begin < batch; begin += kChunk) {
    const int n = std::min(kChunk, batch - begin);
    const float* x = insample + static_cast<std::size_t>(begin) * L;
    const float* m = mask + static_cast<std::size_t>(begin) * L;
    scaled.resize(static_cast<std::size_t>(n) * L);
    stats.resize(static_cast<std::size_t>(n));
    for (int b = 0; b < n; ++b) {
      const std::size_t at = static_cast<std::size_t>(b) * L;
      stats[b] = ScaleInsampleWindow(c, x + at, m + at, L, scaled.data() + at);
    }
    ExogBatch<float> scaled_exog;
    if (X > 0 || F > 0) {
      hist.resize(static_cast<std::size_t>(n) * L * X);
      futr.resize(static_cast<std::size_t>(n) * (L + c.h) * F);
      exog_scratch.resize(2 * static_cast<std::size_t>(L));
      for (int b = 0; b < n; ++b) {
        const std::size_t w = static_cast<std::size_t>(begin + b);
        const std::size_t at = static_cast<std::size_t>(b);
        ScaleExogWindow(c, m + at * L, exog.hist + w * L * X, exog.futr + w * (L + c.h) * F, hist.data() + at * L * X,
                        futr.data() + at * (L + c.h) * F, exog_scratch.data());
      }
      scaled_exog.hist = hist.data();
      scaled_exog.futr = futr.data();
    }
    if (S > 0) scaled_exog.stat = exog.stat + static_cast<std::size_t>(begin) * S;
    scaled_exog = NetworkExog(n, scaled_exog, &embedded);
    network_.Forward(n, scaled.data(), m, scaled_exog, raw + static_cast<std::size_t>(begin) * HQ, ws,
                     /*training=*/false, nullptr);
    std::copy(stats.begin(), stats.end(), window_stats + begin);
  }
}

}  // namespace nhits
