// Forecasting whole series: assembles each series' window (its last input_size points before a
// cutoff, left-padded with zeros and mask 0 when the series is shorter, as neuralforecast does)
// and runs the model over all of them in one batch.
#pragma once

#include <vector>

#include "nhits/data.h"
#include "nhits/model.h"

namespace nhits {

// Where to forecast from: series index in the panel and the number of its points the forecast
// may see (the forecast covers points end .. end + h - 1).
struct ForecastOrigin {
  int series = 0;
  int end = 0;
};

// Returns forecasts [origins.size(), h, Q] in the original scale, computed in `precision`
// (FP32: the reference network; BF16/INT8: the inference kernels).
std::vector<float> ForecastFrom(const Model& model, const Panel& panel, const std::vector<ForecastOrigin>& origins,
                                const PrecisionPlan& precision = {});

// Fills one window: the `input_size` points before `end` of `y` (oldest first) and their mask.
void FillInsampleWindow(const std::vector<double>& y, int end, int input_size, float* insample, float* mask);

}  // namespace nhits
