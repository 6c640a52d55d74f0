// NeuralForecast(local_scaler_type=...): before the model sees a panel, neuralforecast scales
// each series' target and temporal exogenous columns with that series' own statistics over its
// whole history (coreforecast's Local*Scaler), and scales the forecasts back with the target's.
// A model trained that way forecasts in those units, so predicting with it needs the same
// scaling: neuralforecast's predict(df=...) fits the statistics on the df it is given, and so
// does ApplyLocalScaler. This is on top of the model's own per-window scaler (scaler_type).
#pragma once

#include <span>
#include <vector>

#include "nhits/config.h"
#include "nhits/data.h"

namespace nhits {

// z = (x - offset) / scale. A spread below float32's epsilon gives scale 1 (coreforecast, on
// neuralforecast's float32 data, leaves such a series shifted only).
struct LocalScale {
  double offset = 0.0, scale = 1.0;
  double Apply(double x) const { return (x - offset) / scale; }
  double Invert(double z) const { return z * scale + offset; }
};

// standard: mean and population standard deviation; robust: median and median absolute
// deviation; robust-iqr: median and the 75th minus the 25th percentile (linear interpolation,
// as numpy); minmax: minimum and range. kNone (or no values) is the identity.
LocalScale FitLocalScale(LocalScalerType type, std::span<const double> values);

// Scales every series of `panel` in place: y, and each temporal exogenous column with its own
// statistics over the series' history (the first y.size() values; the known future of a futr
// column is scaled with them). Returns each series' target scale, in panel order, to invert its
// forecasts with. kNone changes nothing and returns identities. Columns named in `categorical`
// hold codes and are left alone.
std::vector<LocalScale> ApplyLocalScaler(LocalScalerType type, Panel* panel,
                                         const std::vector<CategoricalColumn>* categorical = nullptr);

}  // namespace nhits
