#include "nhits/model.h"

#include <algorithm>
#include <vector>

#include "nhits/scaler.h"

namespace nhits {

void Model::PredictWindows(int batch, const float* insample, const float* mask, float* out) const {
  const NhitsConfig& c = config();
  const int L = c.input_size, HQ = c.h * c.outputs_per_step();
  // Chunks bound the activation memory of very large requests.
  constexpr int kChunk = 2048;
  // Reused across calls on the same thread: fresh multi-megabyte buffers would be page-faulted
  // in on every call, which cost more than the GEMMs at large batches.
  thread_local Workspace<float> ws;
  thread_local std::vector<float> scaled;
  thread_local std::vector<ScaleStats> stats;
  for (int begin = 0; begin < batch; begin += kChunk) {
    const int n = std::min(kChunk, batch - begin);
    const float* x = insample + static_cast<std::size_t>(begin) * L;
    const float* m = mask + static_cast<std::size_t>(begin) * L;
    scaled.resize(static_cast<std::size_t>(n) * L);
    stats.resize(static_cast<std::size_t>(n));
    for (int b = 0; b < n; ++b) {
      stats[b] = ComputeScaleStats(c.scaler_type, x + static_cast<std::size_t>(b) * L, m + static_cast<std::size_t>(b) * L, L);
      for (int t = 0; t < L; ++t) {
        const std::size_t i = static_cast<std::size_t>(b) * L + t;
        // Padded slots hold raw zeros that go through the scaler, as in neuralforecast.
        scaled[i] = static_cast<float>(ScaleValue(c.scaler_type, stats[b], x[i]));
      }
    }
    float* y = out + static_cast<std::size_t>(begin) * HQ;
    network_.Forward(n, scaled.data(), m, y, ws, /*training=*/false, nullptr);
    if (c.scaler_type == ScalerType::kIdentity) continue;
    for (int b = 0; b < n; ++b)
      for (int i = 0; i < HQ; ++i) {
        float& v = y[static_cast<std::size_t>(b) * HQ + i];
        v = static_cast<float>(UnscaleValue(c.scaler_type, stats[b], v));
      }
  }
}

}  // namespace nhits
