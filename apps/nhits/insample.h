// neuralforecast's predict_insample(step_size): the model's forecasts over the data it was fitted
// on, one h-step window every step_size points, for residual checks and in-sample fit plots.
#pragma once

#include <string>
#include <vector>

#include "nhits/data.h"
#include "nhits/local_scaler.h"
#include "nhits/model.h"
#include "nhits/precision.h"

namespace nhits::cli {

// CSV unique_id,ds,cutoff,<alias columns>,y. As neuralforecast lays the windows out: each series
// is first trimmed at the start by (T - h) mod step_size points, so that the last window ends at
// the series' end; windows then start every step_size points from the trimmed start, whose first
// one sees no history (its cutoff is the point before, one step of `freq` before the data when
// nothing was trimmed), and every window's history begins at the trimmed start. `local` (one
// scale per series, fitted over the whole series as neuralforecast's fit did) scales the
// forecasts back. Series shorter than h have no window.
std::string InsampleCsv(const Model& model, const Panel& panel, const Frequency& freq, int step_size,
                        const PrecisionPlan& plan, const std::string& alias, const std::vector<LocalScale>& local);

}  // namespace nhits::cli
