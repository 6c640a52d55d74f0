// One (dataset, horizon) cell of `nhits benchmark`: its trials trained (or reused from an earlier
// run), the one with the lowest validation MAE chosen, and the row that reports it.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "finished_trials.h"
#include "nhits/long_horizon.h"
#include "nhits/model.h"

namespace nhits::cli {

// What every cell of one run shares.
struct BenchmarkSettings {
  std::string protocol, search_space;
  unsigned search_seed = 1;
  int test_stride = 1;
  bool searching = false;     // trials drawn from search_space; otherwise the base flags, once
  bool auto_space = false;    // the AutoNHITS space, which also draws input, windows and scaler
  bool refit_with_val = false;
};

class BenchmarkCell {
 public:
  // `base`: the flags with h, input_size and val_size set; `trials`: the search's draws (unused
  // when not searching).
  BenchmarkCell(const BenchmarkSettings& settings, const LongHorizonDataset& dataset, const PreparedData& data, int h,
                ModelFlags base, std::vector<SearchTrial> trials);

  // Trains every trial that `finished` does not hold, scores each on validation and test, keeps
  // the lowest validation MAE and returns the cell's row (also printed as a table line on
  // stdout). `save_partial` gets the row so far after each trial but the last (marked
  // "complete": false), so an interrupted search can be resumed.
  nlohmann::ordered_json Run(const FinishedTrials& finished,
                             const std::function<void(const nlohmann::ordered_json&)>& save_partial);

  // The chosen model's first test window against the truth, as DIR/DATASET_H.svg (a trial reused
  // from an earlier run is retrained: same configuration and seed give the same weights).
  void WritePlot(const std::string& dir);

 private:
  std::unique_ptr<Model> TrainModel(const ModelFlags& flags, const TrainOptions& options, TrainReport& report) const;
  nlohmann::ordered_json TrainAndScore(const ModelFlags& flags, const TrainOptions& options, const SearchTrial* trial,
                                       std::unique_ptr<Model>& model);
  nlohmann::ordered_json MakeRow() const;

  const BenchmarkSettings& settings_;
  const LongHorizonDataset& dataset_;
  const PreparedData& data_;
  const int h_;
  const ModelFlags base_;
  const std::vector<SearchTrial> trials_;
  const int val_stride_;
  const LongHorizonScores val_baselines_;  // model-free, so a row rebuilt from reused trials has them

  // The chosen trial: the lowest validation MAE; test scores are recorded for every trial but
  // never looked at in the choice.
  struct Chosen {
    nlohmann::ordered_json record;
    ModelFlags flags;
    TrainOptions options;
    std::unique_ptr<Model> model;  // null when the trial was reused from --out
  } best_;
  LongHorizonScores test_baselines_;
  double seconds_ = 0;
  int steps_ = 0, reused_ = 0;
  nlohmann::ordered_json trial_rows_ = nlohmann::json::array();
};

}  // namespace nhits::cli
