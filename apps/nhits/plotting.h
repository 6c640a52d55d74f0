// Builds plot panels (history, forecast, intervals, truth, baselines) for `plot` and `demo`.
#pragma once

#include <vector>

#include "nhits/data.h"
#include "nhits/model.h"
#include "nhits/plot.h"

namespace nhits::cli {

// With `holdout`, each series is forecast from h points before its end and the truth and the
// baselines are drawn; otherwise the forecast extends past the end at frequency `freq`.
std::vector<PlotSeries> MakePlotPanels(const Model& model, const Panel& panel, const std::vector<int>& series,
                                       bool holdout, const Frequency& freq, int season_length, int history_points);

}  // namespace nhits::cli
