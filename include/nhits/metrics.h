// Forecast accuracy metrics and the two baselines every forecast is judged against.
//
// Conventions follow Nixtla's utilsforecast / neuralforecast losses:
//   MAE = mean|y - yhat|, MSE = mean (y - yhat)^2, RMSE = sqrt(MSE),
//   MAPE = mean |y - yhat| / |y| (points with y == 0 are skipped),
//   sMAPE = mean 2|y - yhat| / (|y| + |yhat|) (points where both are 0 count as 0),
//   MASE = MAE / (in-sample MAE of the seasonal naive forecast with season m).
// MAPE and sMAPE are fractions (0.05 = 5%).
// Thread safety: pure functions.
#pragma once

#include <span>
#include <vector>

namespace nhits {

struct Metrics {
  double mae = 0, mse = 0, rmse = 0, mape = 0, smape = 0, mase = 0;
  long count = 0;  // number of forecast points that entered the means
};

// Accumulates metrics over many forecast windows (possibly from different series) and gives the
// means over all points. MASE is averaged over windows, each scaled by its own series' in-sample
// seasonal-naive MAE.
class MetricsAccumulator {
 public:
  // `insample` is the history the forecast was made from (used only for MASE's scale).
  void Add(std::span<const double> y, std::span<const double> yhat, std::span<const double> insample,
           int season_length);
  Metrics Result() const;

 private:
  double abs_sum_ = 0, sq_sum_ = 0, ape_sum_ = 0, sape_sum_ = 0, mase_sum_ = 0;
  long n_ = 0, ape_n_ = 0, windows_ = 0, mase_windows_ = 0;
};

// Naive: every horizon step repeats the last observation.
std::vector<double> NaiveForecast(std::span<const double> history, int h);
// SeasonalNaive(m): step j repeats history[T - m + (j mod m)]. Falls back to Naive when the
// history is shorter than m.
std::vector<double> SeasonalNaiveForecast(std::span<const double> history, int h, int season_length);

}  // namespace nhits
