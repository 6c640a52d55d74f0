#include "nhits/conformal.h"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "nhits/forecast.h"
#include "nhits/train.h"

namespace nhits {
namespace {

// numpy.quantile's default ("linear"): interpolation between order statistics at q * (n - 1).
double Quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const std::size_t lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, v.size() - 1);
  const double t = pos - static_cast<double>(lo);
  // numpy's _lerp: the same expression from the nearer end keeps it monotone
  return t >= 0.5 ? v[hi] - (v[hi] - v[lo]) * (1 - t) : v[lo] + (v[hi] - v[lo]) * t;
}

// neuralforecast's cuts: alpha/200 for the levels reversed, then 1 - alpha/200 in level order.
std::vector<double> Cuts(const std::vector<double>& levels) {
  std::vector<double> cuts;
  for (auto it = levels.rbegin(); it != levels.rend(); ++it) cuts.push_back((100.0 - *it) / 200.0);
  for (double l : levels) cuts.push_back(1.0 - (100.0 - l) / 200.0);
  return cuts;
}

}  // namespace

Status ValidateConformalSettings(const std::string& method, int n_windows, int step_size) {
  if (n_windows < 2)
    return Status::InvalidArgument("prediction intervals need at least 2 windows of conformity scores (got " +
                                   std::to_string(n_windows) + ")");
  if (step_size < 1) return Status::InvalidArgument("the prediction-interval step size must be at least 1");
  if (method != "conformal_distribution" && method != "conformal_error")
    return Status::InvalidArgument("prediction-interval method '" + method +
                                   "' is unknown (accepted: conformal_distribution, conformal_error)");
  return Status::Ok();
}

std::string ConformalToJson(const ConformalScores& s) {
  nlohmann::ordered_json j;
  j["method"] = s.method;
  j["n_windows"] = s.n_windows;
  j["step_size"] = s.step_size;
  j["h"] = s.h;
  j["scores"] = s.by_series;
  return j.dump();
}

Result<ConformalScores> ConformalFromJson(const std::string& text, const std::string& where) {
  ConformalScores s;
  try {
    const nlohmann::json j = nlohmann::json::parse(text);
    s.method = j.at("method").get<std::string>();
    s.n_windows = j.at("n_windows").get<int>();
    s.step_size = j.at("step_size").get<int>();
    s.h = j.at("h").get<int>();
    s.by_series = j.at("scores").get<std::map<std::string, std::vector<float>>>();
  } catch (const std::exception& e) {
    return Status::Corruption(where + ": metadata " + kConformalKey + ": " + e.what());
  }
  if (Status st = ValidateConformalSettings(s.method, s.n_windows, s.step_size); !st.ok())
    return Status::Corruption(where + ": metadata " + kConformalKey + ": " + st.message());
  if (s.h < 1) return Status::Corruption(where + ": metadata " + kConformalKey + ": h must be >= 1, got " + std::to_string(s.h));
  for (const auto& [id, v] : s.by_series)
    if (v.size() != static_cast<std::size_t>(s.n_windows) * s.h)
      return Status::Corruption(where + ": metadata " + kConformalKey + ": series '" + id + "' has " +
                                std::to_string(v.size()) + " scores, n_windows x h = " +
                                std::to_string(static_cast<long long>(s.n_windows) * s.h));
  return s;
}

Status CheckConformalLoss(const NhitsConfig& config) {
  if (config.outputs_per_step() != 1 || config.single_quantile())
    return Status::InvalidArgument("conformal prediction intervals are for point losses; " + ToString(config.loss) +
                                   " forecasts quantiles itself");
  return Status::Ok();
}

Result<ConformalScores> ComputeConformalScores(const NhitsConfig& config, const TrainOptions& options, const Panel& panel,
                                               const std::string& method, int n_windows, int step_size,
                                               Model* trained) {
  NHITS_RETURN_IF_ERROR(ValidateConformalSettings(method, n_windows, step_size));
  NHITS_RETURN_IF_ERROR(CheckConformalLoss(config));
  const int test_size = config.h + step_size * (n_windows - 1);
  // neuralforecast's minimum: every window plus one point to train on (and the validation split).
  const int need = test_size + 1 + options.val_size;
  for (const Series& s : panel.series)
    if (static_cast<int>(s.y.size()) < need)
      return Status::InvalidArgument("prediction intervals with " + std::to_string(n_windows) + " windows of h=" +
                                     std::to_string(config.h) + " (step " + std::to_string(step_size) +
                                     ") need series of at least " + std::to_string(need) + " points; '" + s.unique_id +
                                     "' has " + std::to_string(s.y.size()));
  // A warm start continues from `trained` (neuralforecast's refits calibrate on the fitted model).
  Model model = options.warm_start && trained != nullptr ? *trained : Model(config);
  TrainOptions o = options;
  const Result<TrainReport> report = Train(model, panel, o, test_size);
  if (!report.ok()) return report.status();
  std::vector<ForecastOrigin> origins;
  for (std::size_t s = 0; s < panel.series.size(); ++s)
    for (int w = 0; w < n_windows; ++w)
      origins.push_back({static_cast<int>(s), static_cast<int>(panel.series[s].y.size()) - test_size + w * step_size});
  const std::vector<float> fc = ForecastFrom(model, panel, origins);
  ConformalScores out;
  out.method = method;
  out.n_windows = n_windows;
  out.step_size = step_size;
  out.h = config.h;
  for (std::size_t k = 0; k < origins.size(); ++k) {
    const Series& s = panel.series[static_cast<std::size_t>(origins[k].series)];
    std::vector<float>& v = out.by_series[s.unique_id];
    for (int j = 0; j < config.h; ++j)
      v.push_back(static_cast<float>(
          std::abs(s.y[static_cast<std::size_t>(origins[k].end + j)] - static_cast<double>(fc[k * config.h + j]))));
  }
  if (trained != nullptr) *trained = std::move(model);
  return out;
}

std::vector<std::string> ConformalColumnSuffixes(const std::vector<double>& given) {
  const std::vector<double> levels = SortedLevels(given);
  std::vector<std::string> names;
  for (auto it = levels.rbegin(); it != levels.rend(); ++it) names.push_back("-lo-" + LevelName(*it));
  for (double l : levels) names.push_back("-hi-" + LevelName(l));
  return names;
}

Result<std::vector<float>> ConformalIntervals(const ConformalScores& scores, const std::string& unique_id,
                                              const float* point, const std::vector<double>& given) {
  const std::vector<double> levels = SortedLevels(given);
  for (double l : levels)
    if (!(l > 0 && l < 100)) return Status::InvalidArgument("level " + LevelName(l) + " is not in (0, 100)");
  const auto it = scores.by_series.find(unique_id);
  if (it == scores.by_series.end())
    return Status::InvalidArgument("series '" + unique_id +
                                   "' has no conformity scores: the intervals were calibrated on the training series only");
  const int H = scores.h, N = scores.n_windows;
  const std::vector<double> cuts = Cuts(levels);
  std::vector<float> out(static_cast<std::size_t>(H) * cuts.size());
  std::vector<double> values;
  for (int j = 0; j < H; ++j) {
    const double mean = point[j];
    values.clear();
    for (int w = 0; w < N; ++w) values.push_back(it->second[static_cast<std::size_t>(w) * H + j]);
    if (scores.method == "conformal_distribution") {
      std::vector<double> paths;
      for (double s : values) paths.push_back(mean - s);
      for (double s : values) paths.push_back(mean + s);
      for (std::size_t c = 0; c < cuts.size(); ++c)
        out[static_cast<std::size_t>(j) * cuts.size() + c] = static_cast<float>(Quantile(paths, cuts[c]));
    } else {  // conformal_error: symmetric, the lower bound from the mirrored upper cut
      for (std::size_t c = 0; c < cuts.size(); ++c) {
        const double q = cuts[c];
        const double bound = q < 0.5 ? mean - Quantile(values, cuts[cuts.size() - 1 - c])
                           : q > 0.5 ? mean + Quantile(values, q)
                                     : mean;
        out[static_cast<std::size_t>(j) * cuts.size() + c] = static_cast<float>(bound);
      }
    }
  }
  return out;
}

}  // namespace nhits
