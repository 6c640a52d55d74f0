// A one-line progress bar for long training runs: step, loss, validation loss, speed and ETA.
// Redraws in place on a terminal; prints a plain line every 10% otherwise (CI logs).
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

namespace nhits {

class ProgressBar {
 public:
  ProgressBar(int total, bool enabled);
  void Update(int step, double loss, double val_loss);
  void Finish(const std::string& note);

 private:
  int total_;
  bool enabled_, tty_;
  int last_decile_ = -1;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace nhits
