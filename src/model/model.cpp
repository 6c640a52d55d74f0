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
      const std::size_t at = static_cast<std::size_t>(b) * L;
      stats[b] = ScaleWindow(c.scaler_type, x + at, m + at, L, scaled.data() + at);
    }
    float* y = out + static_cast<std::size_t>(begin) * HQ;
    network_.Forward(n, scaled.data(), m, y, ws, /*training=*/false, nullptr);
    for (int b = 0; b < n; ++b) UnscaleForecast(c.scaler_type, stats[b], y + static_cast<std::size_t>(b) * HQ, HQ);
  }
}

}  // namespace nhits
