#include "nhits/scaler.h"

#include <algorithm>
#include <limits>
#include <vector>

namespace nhits {
namespace {

constexpr double kEps = 1e-6;
constexpr double kMadToStd = 0.6744897501960817;

// torch.nanmedian: the LOWER middle value for an even count.
double LowerMedian(std::vector<double> v) {
  if (v.empty()) return 0.0;
  const std::size_t mid = (v.size() - 1) / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
  return v[mid];
}

double PopulationStd(const std::vector<double>& v) {
  if (v.empty()) return 0.0;
  double mean = 0;
  for (double x : v) mean += x;
  mean /= static_cast<double>(v.size());
  double ss = 0;
  for (double x : v) ss += (x - mean) * (x - mean);
  return std::sqrt(ss / static_cast<double>(v.size()));
}

}  // namespace

ScaleStats ComputeScaleStats(ScalerType type, const float* x, const float* mask, int n) {
  if (type == ScalerType::kIdentity) return {};
  std::vector<double> v;
  v.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i)
    if (mask[i] > 0) v.push_back(x[i]);
  ScaleStats s;
  switch (type) {
    case ScalerType::kIdentity: break;
    case ScalerType::kStandard: {
      double mean = 0;
      for (double a : v) mean += a;
      s.shift = v.empty() ? 0.0 : mean / static_cast<double>(v.size());
      double sd = PopulationStd(v);
      s.scale = (sd == 0 ? 1.0 : sd) + kEps;
      break;
    }
    case ScalerType::kRobust:
    case ScalerType::kInvariant: {
      s.shift = LowerMedian(v);
      std::vector<double> dev(v.size());
      for (std::size_t i = 0; i < v.size(); ++i) dev[i] = std::abs(v[i] - s.shift);
      double mad = LowerMedian(std::move(dev));
      if (mad == 0) mad = kMadToStd * PopulationStd(v);
      s.scale = (mad == 0 ? 1.0 : mad) + kEps;
      break;
    }
    case ScalerType::kMinMax:
    case ScalerType::kMinMax1: {
      if (v.empty()) return {};
      const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
      s.shift = *lo;
      const double range = *hi - *lo;
      s.scale = (range == 0 ? 1.0 : range) + kEps;
      break;
    }
  }
  return s;
}

}  // namespace nhits
