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

// Where a config's exogenous columns sit in a panel (indices into Panel::exog_names and
// Panel::static_names).
struct ExogColumns {
  std::vector<int> hist, futr, stat;
};
// Fails naming the first column the panel lacks and how to provide it.
Result<ExogColumns> FindExogColumns(const NhitsConfig& config, const Panel& panel);

// Raw exogenous values of windows, laid out as ExogBatch: hist [n, L, X], futr [n, L + h, F],
// stat [n, S].
struct ExogWindows {
  std::vector<float> hist, futr, stat;
  ExogBatch<float> batch() const { return {hist.data(), futr.data(), stat.data()}; }
};
// Appends the exogenous values of the window of `series` whose insample part ends before `end`:
// hist over [end - L, end), futr over [end - L, end + h). A point before the series start or at
// or after `limit` (and past its column) is 0, as neuralforecast pads windows.
void AppendExogWindow(const Series& series, const ExogColumns& cols, int end, int input_size, int h, int limit,
                      ExogWindows* out);

// Returns forecasts [origins.size(), h, Q] in the original scale, computed in `precision`
// (FP32: the reference network; BF16/INT8: the inference kernels). A model with exogenous
// columns reads them from the panel (futr values past a series' end from AttachFutureCsv); the
// caller has checked them with FindExogColumns and attached the future values every origin
// needs (a missing one aborts: a programming error, not bad data).
std::vector<float> ForecastFrom(const Model& model, const Panel& panel, const std::vector<ForecastOrigin>& origins,
                                const PrecisionPlan& precision = {});

// ForecastFrom for any model: with local_scaler_type (NeuralForecast(local_scaler_type=...)) each
// origin's history, the points before it, is scaled over itself as predict(df=history) scales it,
// and its forecast scaled back; without one, ForecastFrom itself.
std::vector<float> ForecastFromHistories(const Model& model, const Panel& panel, const std::vector<ForecastOrigin>& origins);

// Fills one window: the `input_size` points before `end` of `y` (oldest first) and their mask.
void FillInsampleWindow(const std::vector<double>& y, int end, int input_size, float* insample, float* mask);
// The same for a series, whose available_mask zeroes the mask of its missing points (their values
// stay, as neuralforecast's windows keep them: the first block sees them, the residuals do not).
void FillInsampleWindow(const Series& series, int end, int input_size, float* insample, float* mask);
// Whether any series has a point its available_mask marks missing.
bool HasMissingPoints(const Panel& panel);

}  // namespace nhits
