// Training an NHITS model the way neuralforecast does: random windows from random series,
// per-window scaling, loss in scaled space, Adam with StepLR halvings, validation on the last
// val_size points of every series every val_check_steps steps, and optional early stopping
// (which keeps the last weights, as neuralforecast does without checkpointing).
//
// Determinism: the same data, options, seed and thread count give bit-identical weights.
// Thread safety: one Train call per Model at a time.
#pragma once

#include <functional>
#include <limits>
#include <vector>

#include "nhits/data.h"
#include "nhits/model.h"

namespace nhits {

struct TrainReport {
  int steps = 0;                 // optimizer steps taken
  double train_loss = 0;         // mean training loss over the last val_check_steps steps
  // NaN when no validation ran (a sentinel of -1 would not do: a likelihood can be negative).
  double best_val_loss = std::numeric_limits<double>::quiet_NaN();
  std::vector<std::pair<int, double>> val_history;  // (step, validation loss)
  // (step, what early stopping compared) at each check: the validation loss, or with
  // monitor_train_loss the training loss of that step.
  std::vector<std::pair<int, double>> monitored_history;
  bool early_stopped = false;
  int diverged_at_step = 0;      // the first validation check whose loss was not finite (0: none)
  double seconds = 0;
  long windows_available = 0;    // training windows over all series
};

// Trains `model` in place on `panel`, holding out the last `test_size` points of each series
// entirely (as cross-validation does) and the `val_size` before them for validation.
// Fails when no series has a usable training window, naming the shortest series and lengths.
Result<TrainReport> Train(Model& model, const Panel& panel, const TrainOptions& options, int test_size = 0);

}  // namespace nhits
