// Holdout evaluation shared by `cv`, `plot` and `demo`: forecasts from chosen origins with the
// model and the Naive / SeasonalNaive baselines, and the metrics of each.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "nhits/data.h"
#include "nhits/metrics.h"
#include "nhits/model.h"

namespace nhits::cli {

struct Evaluation {
  std::vector<int> series, ends;       // one entry per forecast window
  std::vector<float> model_forecast;   // [windows, h, Q]
  // Per window: every target observed, so it is scored. A window with a missing target (an
  // available_mask 0) is forecast but not scored: a placeholder is no truth.
  std::vector<char> scored;
  Metrics model, naive, seasonal_naive;
};

// Evaluates windows ending `n_windows` times every `step` points, the last one ending h points
// before each series' end (neuralforecast's cross_validation layout). Series too short for a
// window are skipped.
// With `refit` > 0 (neuralforecast's cross_validation(refit=...)), `fit(test_size)` runs before
// windows 0, refit, 2 * refit, ... with test_size = h + step * (windows left, that one included),
// so each fit sees only the data before its first window; every window is forecast by the model as
// last fitted.
Evaluation EvaluateRollingOrigin(const Model& model, const Panel& panel, int n_windows, int step, int season_length,
                                 int refit = 0, const std::function<void(int test_size)>& fit = {});

// "| model | MAE | ... |" markdown rows for the three forecasters.
std::string MetricsTable(const Evaluation& e, int season_length);

// How well quantile outputs are calibrated, which MAE cannot tell: for one quantile (QuantileLoss,
// HuberQLoss) the share of truths at or below it and its pinball loss; for MQLoss/HuberMQLoss the
// coverage and mean width of each interval. Empty for point losses.
std::string QuantileCalibration(const NhitsConfig& config, const Evaluation& e, const Panel& panel);

// A DistributionLoss model's mean negative log-likelihood of the truths under its forecast
// distributions (a proper score: it rewards calibrated and sharp forecasts at once). Empty for
// other losses.
std::string DistributionScore(const Model& model, const Evaluation& e, const Panel& panel);

}  // namespace nhits::cli
