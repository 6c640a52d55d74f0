#include "nhits/scaler.h"

#include <algorithm>
#include <vector>

namespace nhits {
namespace {

constexpr double kEps = 1e-6;
constexpr double kMadToStd = 0.6744897501960817;

// torch.nanmedian: the LOWER middle value for an even count. Reorders v[0..n).
double LowerMedian(float* v, int n) {
  if (n == 0) return 0.0;
  const int mid = (n - 1) / 2;
  std::nth_element(v, v + mid, v + n);
  return v[mid];
}

// Gathers the observed values into `scratch`; returns how many there are.
int Observed(const float* x, const float* mask, int n, float* scratch) {
  int k = 0;
  for (int i = 0; i < n; ++i)
    if (mask[i] > 0) scratch[k++] = x[i];
  return k;
}

double Mean(const float* v, int n) {
  double s = 0;
  for (int i = 0; i < n; ++i) s += v[i];
  return n > 0 ? s / n : 0.0;
}

double PopulationStd(const float* v, int n) {
  if (n == 0) return 0.0;
  const double mean = Mean(v, n);
  double ss = 0;
  for (int i = 0; i < n; ++i) ss += (v[i] - mean) * (v[i] - mean);
  return std::sqrt(ss / n);
}

}  // namespace

ScaleStats ComputeScaleStatsNoAlloc(ScalerType type, const float* x, const float* mask, int n, float* scratch) {
  if (type == ScalerType::kIdentity) return {};
  const int k = Observed(x, mask, n, scratch);
  ScaleStats s;
  switch (type) {
    case ScalerType::kIdentity: break;
    case ScalerType::kStandard:
    case ScalerType::kRevin: {
      s.shift = Mean(scratch, k);
      const double sd = PopulationStd(scratch, k);
      s.scale = (sd == 0 ? 1.0 : sd) + kEps;
      break;
    }
    case ScalerType::kRobust:
    case ScalerType::kInvariant: {
      const double sd = PopulationStd(scratch, k);  // before the median reorders scratch
      s.shift = LowerMedian(scratch, k);
      for (int i = 0; i < k; ++i) scratch[i] = static_cast<float>(std::abs(scratch[i] - s.shift));
      double mad = LowerMedian(scratch, k);
      if (mad == 0) mad = kMadToStd * sd;
      s.scale = (mad == 0 ? 1.0 : mad) + kEps;
      break;
    }
    case ScalerType::kMinMax:
    case ScalerType::kMinMax1: {
      if (k == 0) return {};
      const auto [lo, hi] = std::minmax_element(scratch, scratch + k);
      s.shift = *lo;
      const double range = static_cast<double>(*hi) - *lo;
      s.scale = (range == 0 ? 1.0 : range) + kEps;
      break;
    }
  }
  return s;
}

ScaleStats ComputeScaleStats(ScalerType type, const float* x, const float* mask, int n) {
  if (type == ScalerType::kIdentity) return {};
  std::vector<float> scratch(static_cast<std::size_t>(n));
  return ComputeScaleStatsNoAlloc(type, x, mask, n, scratch.data());
}

ScaleStats ScaleWindow(ScalerType type, const float* x, const float* mask, int n, float* scaled) {
  const ScaleStats s = ComputeScaleStatsNoAlloc(type, x, mask, n, scaled);
  for (int t = 0; t < n; ++t) scaled[t] = static_cast<float>(ScaleValue(type, s, x[t]));
  return s;
}

ScaleStats RevinAdjusted(const NhitsConfig& c, ScaleStats s) {
  if (c.scaler_type != ScalerType::kRevin) return s;
  const double bias = c.revin_bias.empty() ? 0.0 : c.revin_bias[0];
  const double weight = c.revin_weight.empty() ? 1.0 : c.revin_weight[0];
  s.shift += bias;
  s.scale *= std::max(weight, 0.0) + kEps;
  return s;
}

ScaleStats ScaleInsampleWindow(const NhitsConfig& c, const float* x, const float* mask, int n, float* scaled) {
  const ScaleStats s = ScaleWindow(c.scaler_type, x, mask, n, scaled);
  if (c.exclude_insample_y) std::fill_n(scaled, n, 0.0f);
  return RevinAdjusted(c, s);
}

void ScaleExogColumns(ScalerType type, const float* x, const float* mask, int L, int steps, int C, float* scaled,
                      float* scratch, const NhitsConfig* config, const std::vector<std::string>* names) {
  float* column = scratch;
  for (int c = 0; c < C; ++c) {
    if (config != nullptr && config->FindCategorical((*names)[static_cast<std::size_t>(c)]) != nullptr) {
      for (int t = 0; t < steps; ++t) scaled[static_cast<std::size_t>(t) * C + c] = x[static_cast<std::size_t>(t) * C + c];
      continue;
    }
    for (int t = 0; t < L; ++t) column[t] = x[static_cast<std::size_t>(t) * C + c];
    const ScaleStats st = ComputeScaleStatsNoAlloc(type, column, mask, L, scratch + L);
    for (int t = 0; t < steps; ++t) {
      const std::size_t i = static_cast<std::size_t>(t) * C + c;
      scaled[i] = static_cast<float>(ScaleValue(type, st, x[i]));
    }
  }
}

void ScaleExogWindow(const NhitsConfig& c, const float* mask, const float* hist, const float* futr, float* hist_out,
                     float* futr_out, float* scratch) {
  const int L = c.input_size;
  const NhitsConfig* coded = c.categorical.empty() ? nullptr : &c;
  ScaleExogColumns(c.scaler_type, hist, mask, L, L, static_cast<int>(c.hist_exog_list.size()), hist_out, scratch, coded,
                   &c.hist_exog_list);
  ScaleExogColumns(c.scaler_type, futr, mask, L, L + c.h, static_cast<int>(c.futr_exog_list.size()), futr_out, scratch,
                   coded, &c.futr_exog_list);
}

void UnscaleForecast(ScalerType type, const ScaleStats& s, float* y, std::size_t n) {
  if (type == ScalerType::kIdentity) return;
  for (std::size_t i = 0; i < n; ++i) y[i] = static_cast<float>(UnscaleValue(type, s, y[i]));
}

}  // namespace nhits
