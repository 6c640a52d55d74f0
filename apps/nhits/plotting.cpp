#include "plotting.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <span>

#include "nhits/forecast.h"
#include "nhits/metrics.h"

namespace nhits::cli {

std::vector<PlotSeries> MakePlotPanels(const Model& model, const Panel& panel, const std::vector<int>& series,
                                       bool holdout, const Frequency& freq, int m, int history_points) {
  const NhitsConfig& c = model.config();
  const int H = c.h, Q = c.outputs_per_step();
  std::vector<ForecastOrigin> origins;
  for (int s : series) {
    const int T = static_cast<int>(panel.series[static_cast<std::size_t>(s)].y.size());
    origins.push_back({s, holdout ? std::max(T - H, 1) : T});
  }
  // NeuralForecast(local_scaler_type=...): each series scaled over its history up to the origin.
  const std::vector<float> fc = ForecastFromHistories(model, panel, origins);
  const std::vector<double> quantiles = c.quantiles();
  std::vector<PlotSeries> panels;
  for (std::size_t i = 0; i < origins.size(); ++i) {
    const Series& s = panel.series[static_cast<std::size_t>(origins[i].series)];
    const int end = origins[i].end;
    PlotSeries p;
    p.title = s.unique_id;
    for (int t = std::max(0, end - history_points); t < end; ++t) {
      p.history_x.push_back(FormatTimestamp(s.ds[static_cast<std::size_t>(t)], panel.time_kind));
      p.history_y.push_back(s.y[static_cast<std::size_t>(t)]);
    }
    const std::vector<Timestamp> future = FutureTimestamps(s.ds[static_cast<std::size_t>(end - 1)], freq, H);
    for (const Timestamp& t : future) p.future_x.push_back(FormatTimestamp(t, panel.time_kind));
    auto channel = [&](int q) {
      std::vector<double> v(static_cast<std::size_t>(H));
      for (int j = 0; j < H; ++j) v[static_cast<std::size_t>(j)] = fc[(i * H + j) * Q + q];
      return v;
    };
    p.forecast = channel(c.first_quantile_column() + c.point_column());
    // A band for each quantile below 0.5 whose mirror is a column too, the widest first.
    if (c.multi_quantile() || c.distribution_loss()) {
      std::vector<std::pair<double, std::size_t>> lows;
      for (std::size_t q = 0; q < quantiles.size(); ++q)
        if (quantiles[q] < 0.5) lows.emplace_back(quantiles[q], q);
      std::sort(lows.begin(), lows.end());
      for (const auto& [q_lo, lo] : lows)
        for (std::size_t hi = 0; hi < quantiles.size(); ++hi)
          if (std::abs(quantiles[hi] - (1.0 - q_lo)) < 1e-9) {
            const int first = c.first_quantile_column();
            p.intervals.push_back(PlotInterval{std::round(1e6 * 100.0 * (1.0 - 2.0 * q_lo)) / 1e6, channel(first + static_cast<int>(lo)),
                                               channel(first + static_cast<int>(hi))});
            break;
          }
    }
    if (holdout && end + H > static_cast<int>(s.y.size()))  // too short to hold h points out
      std::fprintf(stderr, "note: --holdout: series '%s' has %zu points, not more than h=%d: drawn without the truth and "
                           "the baselines\n", s.unique_id.c_str(), s.y.size(), H);
    if (holdout && end + H <= static_cast<int>(s.y.size())) {
      p.actual.assign(s.y.begin() + end, s.y.begin() + end + H);
      const std::span<const double> history(s.y.data(), static_cast<std::size_t>(end));
      p.baselines.emplace_back("SeasonalNaive(" + std::to_string(m) + ")", SeasonalNaiveForecast(history, H, m));
      p.baselines.emplace_back("Naive", NaiveForecast(history, H));
    }
    panels.push_back(std::move(p));
  }
  return panels;
}

}  // namespace nhits::cli
