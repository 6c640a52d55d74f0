// Trials that an earlier run of `nhits benchmark` already trained and scored, read back from its
// --out file so that `--resume` continues an interrupted search (or extends one to more trials)
// instead of retraining hours of work.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nhits/long_horizon.h"

namespace nhits::cli {

// One trained configuration: `record` holds config, val_mae, val_mse, test_mse, test_mae, steps,
// train_seconds, early_stopped, best_val_loss; `baselines` the test split's Naive/SeasonalNaive.
struct FinishedTrial {
  nlohmann::ordered_json record;
  LongHorizonScores baselines;
};

class FinishedTrials {
 public:
  // Reads the rows JSON that `--out` writes; a missing file gives an empty set. Fails naming the
  // file when it is not that JSON.
  static FinishedTrials Load(const std::string& path);

  // The trial of (dataset, h) scored with the same strides whose configuration (model and
  // training options) equals `config` exactly; nullptr when none. The data must be the same
  // files: the rows do not record their content.
  const FinishedTrial* Find(const std::string& dataset, int h, int test_stride, int val_stride,
                            const nlohmann::ordered_json& config) const;

  // Complete rows of cells other than those listed: kept in the new file so resuming part of a
  // run loses nothing.
  std::vector<nlohmann::ordered_json> RowsOutside(const std::vector<std::pair<std::string, int>>& cells) const;

  std::size_t size() const { return trials_.size(); }

 private:
  struct Entry {
    std::string dataset;
    int h = 0, test_stride = 0, val_stride = 0;
    nlohmann::json config;  // unordered: files written by older versions sort their keys
    FinishedTrial trial;
  };
  std::vector<Entry> trials_;
  std::vector<nlohmann::ordered_json> rows_;
};

}  // namespace nhits::cli
