#include "train/progress.h"

#include <unistd.h>

#include <cmath>
#include <string>
#include <utility>

namespace nhits {

ProgressBar::ProgressBar(int total, bool enabled, std::string loss_label, std::string val_label)
    : total_(total), enabled_(enabled), tty_(isatty(STDERR_FILENO) != 0), loss_label_(std::move(loss_label)),
      val_label_(std::move(val_label)), start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

void ProgressBar::Update(int step, double loss, double val_loss) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  const int decile = total_ > 0 ? step * 10 / total_ : 10;
  if (tty_) {
    if (step != total_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  } else if (decile == last_decile_ && step != total_ && now - last_draw_ < std::chrono::seconds(10)) {
    return;
  }
  last_draw_ = now;
  last_decile_ = decile;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = elapsed > 0 ? step / elapsed : 0.0;
  const double eta = rate > 0 ? (total_ - step) / rate : 0.0;
  constexpr int kWidth = 24;
  const int filled = total_ > 0 ? step * kWidth / total_ : kWidth;
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar.resize(kWidth, '.');
  char val[32] = "-";
  if (!std::isnan(val_loss)) std::snprintf(val, sizeof val, "%.4g", val_loss);
  // As neuralforecast logs them: the step's training loss (on scaled windows when a scaler is
  // set), the validation loss in the data's units (a local scaler's units, with one).
  std::fprintf(stderr, "%sstep %d/%d [%s] %s %.4g  %s %s  %.1f steps/s  ETA %dm%02ds%s", tty_ ? "\r" : "", step, total_,
               bar.c_str(), loss_label_.c_str(), loss, val_label_.c_str(), val, rate, static_cast<int>(eta) / 60,
               static_cast<int>(eta) % 60, tty_ ? "\033[K" : "\n");
  std::fflush(stderr);
}

void ProgressBar::Finish(const std::string& note) {
  if (!enabled_) return;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::fprintf(stderr, "%s%s in %.1fs\n", tty_ ? "\n" : "", note.c_str(), elapsed);
}

}  // namespace nhits
