#include "nhits/forecast.h"

#include <algorithm>

#include "nhits/inference.h"

namespace nhits {

void FillInsampleWindow(const std::vector<double>& y, int end, int input_size, float* insample, float* mask) {
  for (int t = 0; t < input_size; ++t) {
    const int src = end - input_size + t;
    const bool present = src >= 0 && src < static_cast<int>(y.size());
    insample[t] = present ? static_cast<float>(y[static_cast<std::size_t>(src)]) : 0.0f;
    mask[t] = present ? 1.0f : 0.0f;
  }
}

std::vector<float> ForecastFrom(const Model& model, const Panel& panel, const std::vector<ForecastOrigin>& origins,
                                const PrecisionPlan& precision) {
  const int L = model.config().input_size;
  const std::size_t n = origins.size();
  std::vector<float> insample(n * L), mask(n * L);
  for (std::size_t i = 0; i < n; ++i)
    FillInsampleWindow(panel.series[static_cast<std::size_t>(origins[i].series)].y, origins[i].end, L,
                       insample.data() + i * L, mask.data() + i * L);
  std::vector<float> out(n * static_cast<std::size_t>(model.config().h) * model.config().outputs_per_step());
  if (precision.precision == Precision::kFp32 || n == 0) {
    model.PredictWindows(static_cast<int>(n), insample.data(), mask.data(), out.data());
    return out;
  }
  const int chunk = static_cast<int>(std::min<std::size_t>(n, 1024));
  const std::size_t hq = static_cast<std::size_t>(model.config().h) * model.config().outputs_per_step();
  InferenceSession session(model, chunk, 0, precision);
  for (std::size_t b = 0; b < n; b += static_cast<std::size_t>(chunk)) {
    const int m = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(chunk), n - b));
    (void)session.Predict(m, insample.data() + b * L, mask.data() + b * L, out.data() + b * hq);
  }
  return out;
}

}  // namespace nhits
