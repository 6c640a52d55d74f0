#include "evaluation.h"

#include <algorithm>
#include <cstdio>
#include <span>

#include "cli_common.h"
#include "nhits/distribution.h"
#include "nhits/forecast.h"

namespace nhits::cli {

Evaluation EvaluateRollingOrigin(const Model& model, const Panel& panel, int n_windows, int step, int m, int refit,
                                 const std::function<void(int)>& fit) {
  const NhitsConfig& c = model.config();
  const int H = c.h, Q = c.outputs_per_step();
  const int test_size = H + step * (n_windows - 1);
  Evaluation e;
  std::vector<ForecastOrigin> origins;
  std::vector<int> window;  // of each origin
  for (std::size_t s = 0; s < panel.series.size(); ++s) {
    const int T = static_cast<int>(panel.series[s].y.size());
    for (int i = 0; i < n_windows; ++i) {
      const int end = T - test_size + i * step;
      if (end < 1) continue;
      origins.push_back({static_cast<int>(s), end});
      window.push_back(i);
      e.series.push_back(static_cast<int>(s));
      e.ends.push_back(end);
    }
  }
  if (refit <= 0) {
    e.model_forecast = ForecastFromHistories(model, panel, origins);
  } else {  // each group of `refit` windows by the model fitted on the data before it
    const std::size_t per_window = static_cast<std::size_t>(H) * Q;
    e.model_forecast.resize(origins.size() * per_window);
    for (int first = 0; first < n_windows; first += refit) {
      fit(H + step * (n_windows - 1 - first));
      std::vector<ForecastOrigin> group;
      std::vector<std::size_t> at;
      for (std::size_t k = 0; k < origins.size(); ++k)
        if (window[k] >= first && window[k] < first + refit) group.push_back(origins[k]), at.push_back(k);
      if (group.empty()) continue;
      const std::vector<float> f = ForecastFromHistories(model, panel, group);
      for (std::size_t g = 0; g < group.size(); ++g)
        std::copy_n(f.begin() + static_cast<std::ptrdiff_t>(g * per_window), per_window,
                    e.model_forecast.begin() + static_cast<std::ptrdiff_t>(at[g] * per_window));
    }
  }
  MetricsAccumulator acc_model, acc_naive, acc_snaive;
  std::vector<double> point(static_cast<std::size_t>(H));
  for (std::size_t w = 0; w < origins.size(); ++w) {
    const Series& s = panel.series[static_cast<std::size_t>(origins[w].series)];
    bool observed = true;
    for (int j = 0; j < H; ++j) observed = observed && s.observed(static_cast<std::size_t>(origins[w].end + j));
    e.scored.push_back(observed ? 1 : 0);
    if (!observed) continue;
    const auto& y = s.y;
    const std::span<const double> history(y.data(), static_cast<std::size_t>(origins[w].end));
    const std::span<const double> actual(y.data() + origins[w].end, static_cast<std::size_t>(H));
    for (int j = 0; j < H; ++j) point[static_cast<std::size_t>(j)] = e.model_forecast[(w * H + j) * Q + c.point_column()];
    acc_model.Add(actual, point, history, m);
    acc_naive.Add(actual, NaiveForecast(history, H), history, m);
    acc_snaive.Add(actual, SeasonalNaiveForecast(history, H, m), history, m);
  }
  e.model = acc_model.Result();
  e.naive = acc_naive.Result();
  e.seasonal_naive = acc_snaive.Result();
  return e;
}

std::string MetricsTable(const Evaluation& e, int m) {
  std::string out = "| forecaster | MAE | MSE | RMSE | MAPE % | sMAPE % (0-200) | MASE |\n|---|---|---|---|---|---|---|\n";
  auto row = [&out](const std::string& name, const Metrics& x) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "| %s | %.4g | %.4g | %.4g | %.3f | %.3f | %.4g |\n", name.c_str(), x.mae, x.mse,
                  x.rmse, 100 * x.mape, 100 * x.smape, x.mase);
    out += buf;
  };
  row("NHITS", e.model);
  row("SeasonalNaive(" + std::to_string(m) + ")", e.seasonal_naive);
  row("Naive", e.naive);
  return out;
}

std::string QuantileCalibration(const NhitsConfig& c, const Evaluation& e, const Panel& panel) {
  if (!c.single_quantile() && !c.multi_quantile() && !c.distribution_loss()) return "";
  const int H = c.h, C = c.outputs_per_step(), first = c.first_quantile_column();
  const std::vector<double> qs = c.quantiles();
  const int Q = static_cast<int>(qs.size());
  std::vector<long> below(static_cast<std::size_t>(Q), 0);
  std::vector<double> pinball(static_cast<std::size_t>(Q), 0.0);
  long points = 0;
  // Intervals: each quantile below 0.5 whose mirror 1 - q is a column too, the widest first
  // (levels give every pair; a quantile list those it happens to hold).
  std::vector<std::pair<int, int>> bounds;
  for (int lo = 0; lo < Q; ++lo)
    for (int hi = 0; hi < Q; ++hi)
      if (qs[static_cast<std::size_t>(lo)] < 0.5 &&
          std::abs(qs[static_cast<std::size_t>(lo)] + qs[static_cast<std::size_t>(hi)] - 1.0) < 1e-9)
        bounds.emplace_back(lo, hi);
  std::sort(bounds.begin(), bounds.end(),
            [&](const auto& a, const auto& b) { return qs[static_cast<std::size_t>(a.first)] < qs[static_cast<std::size_t>(b.first)]; });
  const int pairs = static_cast<int>(bounds.size());
  std::vector<long> inside(static_cast<std::size_t>(pairs), 0);
  std::vector<double> width(static_cast<std::size_t>(pairs), 0.0);
  for (std::size_t w = 0; w < e.ends.size(); ++w) {
    if (!e.scored[w]) continue;
    const Series& s = panel.series[static_cast<std::size_t>(e.series[w])];
    for (int j = 0; j < H; ++j, ++points) {
      const double y = s.y[static_cast<std::size_t>(e.ends[w] + j)];
      const float* f = &e.model_forecast[(w * H + j) * C + first];
      for (int k = 0; k < Q; ++k) {
        const double q = qs[static_cast<std::size_t>(k)], d = y - f[k];
        below[static_cast<std::size_t>(k)] += y <= f[k];
        pinball[static_cast<std::size_t>(k)] += std::max(q * d, (q - 1) * d);
      }
      for (int i = 0; i < pairs; ++i) {
        const double lo = f[bounds[static_cast<std::size_t>(i)].first], hi = f[bounds[static_cast<std::size_t>(i)].second];
        inside[static_cast<std::size_t>(i)] += lo <= y && y <= hi;
        width[static_cast<std::size_t>(i)] += hi - lo;
      }
    }
  }
  if (points == 0) return "";
  const auto pct = [&](long n) { return 100.0 * static_cast<double>(n) / static_cast<double>(points); };
  char line[256];
  if (c.single_quantile()) {
    std::snprintf(line, sizeof line,
                  "quantile %g: the truth is at or below the forecast at %.1f%% of %ld points; pinball loss %.4g\n",
                  qs[0], pct(below[0]), points, pinball[0] / points);
    return line;
  }
  std::string out;
  for (int i = 0; i < pairs; ++i) {
    const double level = 100.0 * (qs[static_cast<std::size_t>(bounds[static_cast<std::size_t>(i)].second)] -
                                  qs[static_cast<std::size_t>(bounds[static_cast<std::size_t>(i)].first)]);
    std::snprintf(line, sizeof line, "%g%% interval: covers %.1f%% of %ld points, mean width %.4g\n", level,
                  pct(inside[static_cast<std::size_t>(i)]), points, width[static_cast<std::size_t>(i)] / points);
    out += line;
  }
  double mean_pinball = 0;
  for (double p : pinball) mean_pinball += p / Q;
  if (c.has_quantile_list()) {  // each quantile's exceedance rate: a value-at-risk backtest
    for (int k = 0; k < Q; ++k) {
      std::snprintf(line, sizeof line, "quantile %g: the truth is at or below it at %.1f%% of points; pinball loss %.4g\n",
                    qs[static_cast<std::size_t>(k)], pct(below[static_cast<std::size_t>(k)]),
                    pinball[static_cast<std::size_t>(k)] / points);
      out += line;
    }
    std::snprintf(line, sizeof line, "mean pinball loss over the %d quantiles %.4g\n", Q, mean_pinball / points);
    return out + line;
  }
  std::snprintf(line, sizeof line, "median: the truth is at or below it at %.1f%% of points; mean pinball loss over the "
                "%d quantiles %.4g\n", pct(below[0]), Q, mean_pinball / points);
  return out + line;
}

std::string DistributionScore(const Model& model, const Evaluation& e, const Panel& panel) {
  const NhitsConfig& c = model.config();
  if (!c.distribution_loss() || e.ends.empty()) return "";
  std::vector<ForecastOrigin> origins;
  for (std::size_t w = 0; w < e.ends.size(); ++w) origins.push_back({e.series[w], e.ends[w]});
  const Model with_params = WithReturnedParams(model);
  const std::vector<float> fc = ForecastFrom(with_params, panel, origins);
  const std::size_t C = static_cast<std::size_t>(with_params.config().outputs_per_step());
  double sum = 0;
  long points = 0;
  for (std::size_t w = 0; w < e.ends.size(); ++w) {
    if (!e.scored[w]) continue;
    const Series& s = panel.series[static_cast<std::size_t>(e.series[w])];
    for (int j = 0; j < c.h; ++j, ++points) {
      const DistributionParams p = ReturnedParams(with_params.config(), &fc[(w * c.h + static_cast<std::size_t>(j)) * C]);
      sum += NegativeLogLikelihood(c.distribution, p, s.y[static_cast<std::size_t>(e.ends[w] + j)]);
    }
  }
  if (points == 0) return "";
  char line[256];
  std::snprintf(line, sizeof line,
                "%s likelihood: mean negative log-likelihood of the truths %.4g over %ld points (lower is better)\n",
                ToString(c.distribution).c_str(), sum / static_cast<double>(points), points);
  return line;
}

}  // namespace nhits::cli
