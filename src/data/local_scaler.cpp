#include "nhits/local_scaler.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace nhits {
namespace {

// numpy.percentile(values, 100 * q) with its default linear interpolation; `sorted` ascending.
double Percentile(const std::vector<double>& sorted, double q) {
  const double at = q * static_cast<double>(sorted.size() - 1);
  const std::size_t lo = static_cast<std::size_t>(std::floor(at));
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (at - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

}  // namespace

LocalScale FitLocalScale(LocalScalerType type, std::span<const double> values) {
  LocalScale s;
  if (type == LocalScalerType::kNone || values.empty()) return s;
  double spread = 0.0;
  switch (type) {
    case LocalScalerType::kStandard: {
      double sum = 0.0;
      for (double v : values) sum += v;
      s.offset = sum / static_cast<double>(values.size());
      double sq = 0.0;
      for (double v : values) sq += (v - s.offset) * (v - s.offset);
      spread = std::sqrt(sq / static_cast<double>(values.size()));
      break;
    }
    case LocalScalerType::kMinMax: {
      const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
      s.offset = *lo;
      spread = *hi - *lo;
      break;
    }
    case LocalScalerType::kRobust:
    case LocalScalerType::kRobustIqr: {
      std::vector<double> sorted(values.begin(), values.end());
      std::sort(sorted.begin(), sorted.end());
      s.offset = Percentile(sorted, 0.5);
      if (type == LocalScalerType::kRobustIqr) {
        spread = Percentile(sorted, 0.75) - Percentile(sorted, 0.25);
      } else {
        for (double& v : sorted) v = std::abs(v - s.offset);
        std::sort(sorted.begin(), sorted.end());
        spread = Percentile(sorted, 0.5);
      }
      break;
    }
    case LocalScalerType::kNone: break;
  }
  // coreforecast keeps a spread below the data type's epsilon as 1; neuralforecast's data are float32
  s.scale = std::abs(spread) < std::numeric_limits<float>::epsilon() ? 1.0 : spread;
  return s;
}

std::vector<LocalScale> ApplyLocalScaler(LocalScalerType type, Panel* panel,
                                         const std::vector<CategoricalColumn>* categorical) {
  auto coded = [&](std::size_t k) {
    return k < panel->exog_names.size() && FindCategoricalColumn(categorical, panel->exog_names[k]) != nullptr;
  };
  std::vector<LocalScale> target(panel->series.size());
  if (type == LocalScalerType::kNone) return target;
  for (std::size_t i = 0; i < panel->series.size(); ++i) {
    Series& series = panel->series[i];
    const std::size_t history = series.y.size();
    target[i] = FitLocalScale(type, series.y);
    for (double& v : series.y) v = target[i].Apply(v);
    for (std::size_t k = 0; k < series.exog.size(); ++k) {
      if (coded(k)) continue;  // codes, not values (neuralforecast skips them too)
      std::vector<double>& column = series.exog[k];
      const LocalScale s = FitLocalScale(type, std::span<const double>(column.data(), std::min(history, column.size())));
      for (double& v : column) v = s.Apply(v);
    }
  }
  return target;
}

}  // namespace nhits
