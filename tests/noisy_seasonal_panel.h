// Shared test data: series whose noise is known, so a trained model's spread can be checked.
#pragma once

#include <cmath>
#include <random>
#include <string>

#include "nhits/data.h"

namespace nhits::testing {

// `series` series of `length` points: a level, a period-12 sine of amplitude 3 (its phase per
// series) and Gaussian noise of standard deviation `sd`.
inline Panel NoisySeasonalPanel(int series, int length, double sd, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise(0, sd);
  Panel panel;
  for (int s = 0; s < series; ++s) {
    Series one;
    one.unique_id = "s" + std::to_string(s);
    for (int t = 0; t < length; ++t) {
      one.ds.push_back(Timestamp{t});
      one.y.push_back(10 + s + 3 * std::sin(2 * M_PI * t / 12.0 + s) + noise(rng));
    }
    panel.series.push_back(one);
  }
  return panel;
}

}  // namespace nhits::testing
