// Forecast metrics and the Naive / SeasonalNaive baselines (see metrics.h for definitions).
#include "nhits/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace nhits {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// In-sample MAE of the seasonal naive forecast: mean |x_t - x_{t-m}| over t >= m.
// Returns 0 when it is undefined, which makes the caller skip MASE for that window.
double SeasonalScale(std::span<const double> x, int m) {
  if (m <= 0 || x.size() <= static_cast<std::size_t>(m)) return 0;
  double sum = 0;
  for (std::size_t t = static_cast<std::size_t>(m); t < x.size(); ++t)
    sum += std::abs(x[t] - x[t - m]);
  return sum / static_cast<double>(x.size() - static_cast<std::size_t>(m));
}

}  // namespace

void MetricsAccumulator::Add(std::span<const double> y, std::span<const double> yhat,
                             std::span<const double> insample, int season_length) {
  // Mismatched spans are a caller bug; scoring the common prefix is the least surprising
  // answer for a function that cannot report errors.
  const std::size_t n = std::min(y.size(), yhat.size());
  if (n == 0) return;
  double window_abs = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double e = std::abs(y[i] - yhat[i]);
    window_abs += e;
    sq_sum_ += e * e;
    if (y[i] != 0) {
      ape_sum_ += e / std::abs(y[i]);
      ++ape_n_;
    }
    const double denom = std::abs(y[i]) + std::abs(yhat[i]);
    if (denom > 0) sape_sum_ += 2 * e / denom;  // both zero: a perfect forecast, counts as 0
  }
  abs_sum_ += window_abs;
  n_ += static_cast<long>(n);
  ++windows_;
  const double scale = SeasonalScale(insample, season_length);
  if (scale > 0 && std::isfinite(scale)) {
    mase_sum_ += (window_abs / static_cast<double>(n)) / scale;
    ++mase_windows_;
  }
}

Metrics MetricsAccumulator::Result() const {
  Metrics m;
  if (n_ == 0) return m;  // nothing scored: all zeros, count 0
  const double n = static_cast<double>(n_);
  m.mae = abs_sum_ / n;
  m.mse = sq_sum_ / n;
  m.rmse = std::sqrt(m.mse);
  m.smape = sape_sum_ / n;
  // Undefined (not 0) when every actual was zero / no window had a usable MASE scale, so a
  // report cannot mistake "no data" for "perfect".
  m.mape = ape_n_ > 0 ? ape_sum_ / static_cast<double>(ape_n_) : kNaN;
  m.mase = mase_windows_ > 0 ? mase_sum_ / static_cast<double>(mase_windows_) : kNaN;
  m.count = n_;
  return m;
}

std::vector<double> NaiveForecast(std::span<const double> history, int h) {
  if (h <= 0) return {};
  return std::vector<double>(static_cast<std::size_t>(h), history.empty() ? kNaN : history.back());
}

std::vector<double> SeasonalNaiveForecast(std::span<const double> history, int h,
                                          int season_length) {
  const std::size_t t = history.size();
  if (season_length <= 0 || t < static_cast<std::size_t>(season_length))
    return NaiveForecast(history, h);
  if (h <= 0) return {};
  const std::size_t m = static_cast<std::size_t>(season_length);
  std::vector<double> out(static_cast<std::size_t>(h));
  for (std::size_t j = 0; j < out.size(); ++j) out[j] = history[t - m + j % m];
  return out;
}

}  // namespace nhits
