// Conformal prediction intervals for point-loss models, as neuralforecast's
// PredictionIntervals(n_windows, method, step_size) computes them: at fit time a cross-validation
// (a model trained on each series minus its last h + step_size * (n_windows - 1) points) records
// the absolute errors |y - yhat| of n_windows windows per series; at predict time those scores
// turn a point forecast into intervals, per series and horizon step:
//   conformal_distribution: quantiles of {yhat - s_w, yhat + s_w} over the windows;
//   conformal_error: yhat -/+ the upper quantile of the scores.
// Quantiles are numpy's default (linear interpolation between order statistics).
// Thread safety: plain values and pure functions.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "nhits/config.h"
#include "nhits/data.h"
#include "nhits/model.h"
#include "nhits/status.h"

namespace nhits {

struct ConformalScores {
  std::string method = "conformal_distribution";  // or "conformal_error"
  int n_windows = 2, step_size = 1, h = 0;
  // unique_id -> n_windows * h absolute errors, window-major (oldest cutoff first).
  std::map<std::string, std::vector<float>> by_series;
};

// The checkpoint metadata entry that holds the scores (JSON).
inline constexpr const char* kConformalKey = "nhits_conformal";
std::string ConformalToJson(const ConformalScores& scores);
// `where` prefixes messages; fails on a malformed entry or scores that do not fit n_windows * h.
Result<ConformalScores> ConformalFromJson(const std::string& json, const std::string& where);

// Checks the settings (n_windows >= 2, step_size >= 1, a known method), as neuralforecast does.
Status ValidateConformalSettings(const std::string& method, int n_windows, int step_size);
// Conformal intervals surround a point forecast: a loss that forecasts quantiles is refused.
Status CheckConformalLoss(const NhitsConfig& config);

// Scores from a cross-validation: trains a model of `config` with `options` on every series minus
// its last h + step_size * (n_windows - 1) points and forecasts the n_windows windows. Needs a
// point-loss model (one output per step, not a quantile loss: neuralforecast cannot predict
// those either) and series long enough for the windows (else fails naming the shortest).
// `trained`, when given, receives the cross-validation model: neuralforecast's final fit
// continues from those weights (TrainOptions::warm_start). With options.warm_start the
// cross-validation itself continues from `trained` (a refit in neuralforecast's cross_validation).
Result<ConformalScores> ComputeConformalScores(const NhitsConfig& config, const TrainOptions& options, const Panel& panel,
                                               const std::string& method, int n_windows, int step_size,
                                               Model* trained = nullptr);

// Interval bounds around one series' point forecast [h]: [h, 2 * levels] in neuralforecast's
// column order (levels sorted and de-duplicated as its predict does; lo from the widest level to
// the narrowest, then hi from the narrowest to the widest). Fails for a series without scores or
// a level outside (0, 100).
Result<std::vector<float>> ConformalIntervals(const ConformalScores& scores, const std::string& unique_id,
                                              const float* point, const std::vector<double>& levels);
// "-lo-90", "-lo-80", "-hi-80", "-hi-90" for levels {80, 90}: the suffixes of those columns.
std::vector<std::string> ConformalColumnSuffixes(const std::vector<double>& levels);

}  // namespace nhits
