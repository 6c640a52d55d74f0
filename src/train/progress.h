// A one-line progress bar for long training runs: step, loss, validation loss, speed and ETA.
// Redraws in place on a terminal; prints a plain line every 10% otherwise (CI logs), and at
// least every 10 s on a slow run, so a log never goes quiet for long.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

namespace nhits {

class ProgressBar {
 public:
  // `loss_label` and `val_label` name the two numbers (e.g. "loss (scaled)", "val MAE").
  ProgressBar(int total, bool enabled, std::string loss_label = "loss", std::string val_label = "val");
  void Update(int step, double loss, double val_loss);
  void Finish(const std::string& note);

 private:
  int total_;
  bool enabled_, tty_;
  std::string loss_label_, val_label_;
  int last_decile_ = -1;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace nhits
