#include "evaluation.h"

#include <cstdio>
#include <span>

#include "nhits/forecast.h"

namespace nhits::cli {

Evaluation EvaluateRollingOrigin(const Model& model, const Panel& panel, int n_windows, int step, int m) {
  const NhitsConfig& c = model.config();
  const int H = c.h, Q = c.outputs_per_step();
  const int test_size = H + step * (n_windows - 1);
  Evaluation e;
  std::vector<ForecastOrigin> origins;
  for (std::size_t s = 0; s < panel.series.size(); ++s) {
    const int T = static_cast<int>(panel.series[s].y.size());
    for (int i = 0; i < n_windows; ++i) {
      const int end = T - test_size + i * step;
      if (end < 1) continue;
      origins.push_back({static_cast<int>(s), end});
      e.series.push_back(static_cast<int>(s));
      e.ends.push_back(end);
    }
  }
  e.model_forecast = ForecastFrom(model, panel, origins);
  MetricsAccumulator acc_model, acc_naive, acc_snaive;
  std::vector<double> point(static_cast<std::size_t>(H));
  for (std::size_t w = 0; w < origins.size(); ++w) {
    const auto& y = panel.series[static_cast<std::size_t>(origins[w].series)].y;
    const std::span<const double> history(y.data(), static_cast<std::size_t>(origins[w].end));
    const std::span<const double> actual(y.data() + origins[w].end, static_cast<std::size_t>(H));
    for (int j = 0; j < H; ++j) point[static_cast<std::size_t>(j)] = e.model_forecast[(w * H + j) * Q];
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
  std::string out = "| forecaster | MAE | MSE | RMSE | MAPE % | sMAPE % | MASE |\n|---|---|---|---|---|---|---|\n";
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

}  // namespace nhits::cli
