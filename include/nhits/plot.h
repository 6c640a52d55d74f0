// SVG plots of a forecast: history, point forecast, prediction intervals and (when known) the
// actual values over the horizon. Self-contained SVG, viewable in any browser.
#pragma once

#include <string>
#include <vector>

#include "nhits/status.h"

namespace nhits {

struct PlotInterval {
  double level = 90;         // e.g. 90 for the 90% interval
  std::vector<double> lo;    // size h
  std::vector<double> hi;    // size h
};

struct PlotSeries {
  std::string title;                   // e.g. the unique_id
  std::vector<std::string> history_x;  // tick labels of the history points
  std::vector<double> history_y;
  std::vector<std::string> future_x;   // size h
  std::vector<double> forecast;        // size h (the point forecast or the median)
  std::vector<PlotInterval> intervals; // widest first is drawn first
  std::vector<double> actual;          // size h or empty: the truth over the horizon
  std::vector<std::pair<std::string, std::vector<double>>> baselines;  // name, size-h forecast
};

// Renders one panel per series, stacked vertically, with axes, ticks, a legend and the
// forecast metrics in the caption when `actual` is given.
std::string RenderForecastSvg(const std::vector<PlotSeries>& panels, const std::string& model_name);

}  // namespace nhits
