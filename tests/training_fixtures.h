// Shared by the tests that train a model and check its spread: data whose noise is known and a
// short single-threaded schedule.
#pragma once

#include <cmath>
#include <random>
#include <string>

#include "nhits/config.h"
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

// 600 steps of 256 windows at 3e-3, one thread (deterministic), no progress output.
inline TrainOptions ShortTrainOptions() {
  TrainOptions o;
  o.max_steps = 600;
  o.windows_batch_size = 256;
  o.learning_rate = 3e-3;
  o.verbose = false;
  o.num_threads = 1;
  return o;
}

}  // namespace nhits::testing
