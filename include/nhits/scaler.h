// Per-window temporal normalisation (neuralforecast's TemporalNorm): statistics come from the
// insample part of each window, at available points only, and are applied to the whole window;
// forecasts are mapped back with the inverse. Nothing is fitted globally.
// Thread safety: pure functions.
#pragma once

#include <cmath>
#include <cstddef>

#include "nhits/config.h"

namespace nhits {

struct ScaleStats {
  double shift = 0.0;  // mean, median or min
  double scale = 1.0;  // std, MAD or range, always > 0
};

// Statistics of x[0..n) over the points where mask > 0 (eps 1e-6, population std, lower median,
// zero scale replaced by 1 before adding eps; robust falls back to 0.6745*std when MAD is 0).
ScaleStats ComputeScaleStats(ScalerType type, const float* x, const float* mask, int n);
// The same without allocating: `scratch` holds at least n floats and is overwritten.
ScaleStats ComputeScaleStatsNoAlloc(ScalerType type, const float* x, const float* mask, int n, float* scratch);

// One window through the scaler: its statistics from the observed points, and the whole window
// (padded slots included, as neuralforecast does) scaled into `scaled`, which must not alias `x`
// (it doubles as scratch). No allocation.
ScaleStats ScaleWindow(ScalerType type, const float* x, const float* mask, int n, float* scaled);
// y's input window as the network sees it: ScaleWindow with the config's scaler, then zeros in
// place of the values when the config sets exclude_insample_y. Every forecasting path scales y
// here (the trainer scales its batches itself: its targets need the unadjusted statistics).
// Returns the statistics that undo the scaling (RevinAdjusted).
ScaleStats ScaleInsampleWindow(const NhitsConfig& c, const float* x, const float* mask, int n, float* scaled);
// The temporal exogenous columns of one window, scaled as neuralforecast's TemporalNorm scales
// its extra channels: each column with its own statistics over the first `L` steps where y's
// `mask` > 0, applied to all `steps` values of the column (the future part of a futr column too).
// `x` and `scaled` are time-major [steps, C] and may be the same buffer; `scratch` holds at
// least 2 * L floats. With `names` (the C columns' names), the config's categorical columns are
// copied unscaled: they hold codes (categorical.h).
void ScaleExogColumns(ScalerType type, const float* x, const float* mask, int L, int steps, int C, float* scaled,
                      float* scratch, const NhitsConfig* config = nullptr, const std::vector<std::string>* names = nullptr);
// One window's hist [L, X] and futr [L + h, F] columns (the config's lists) through
// ScaleExogColumns with y's `mask` [L]; outputs may alias inputs; categorical columns stay codes.
void ScaleExogWindow(const NhitsConfig& config, const float* mask, const float* hist, const float* futr, float* hist_out,
                     float* futr_out, float* scratch);
// y's statistics for the way back: for scaler_type "revin" the learned bias and weight move them
// (neuralforecast scales the input with the plain statistics); unchanged for every other scaler.
ScaleStats RevinAdjusted(const NhitsConfig& c, ScaleStats s);
// A window's forecasts back to the original scale, in place.
void UnscaleForecast(ScalerType type, const ScaleStats& s, float* y, std::size_t n);

inline double ScaleValue(ScalerType type, const ScaleStats& s, double x) {
  switch (type) {
    case ScalerType::kIdentity: return x;
    case ScalerType::kMinMax1: return 2.0 * (x - s.shift) / s.scale - 1.0;
    case ScalerType::kInvariant: return std::asinh((x - s.shift) / s.scale);
    default: return (x - s.shift) / s.scale;
  }
}

inline double UnscaleValue(ScalerType type, const ScaleStats& s, double z) {
  switch (type) {
    case ScalerType::kIdentity: return z;
    case ScalerType::kMinMax1: return (z + 1.0) * 0.5 * s.scale + s.shift;
    case ScalerType::kInvariant: return std::sinh(z) * s.scale + s.shift;
    default: return z * s.scale + s.shift;
  }
}

}  // namespace nhits
