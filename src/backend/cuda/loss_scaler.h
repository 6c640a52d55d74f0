// Dynamic loss scaling for mixed-precision training: gradients of a loss multiplied by `scale()`
// stay representable in FP16/BF16; a step whose gradients overflowed (Inf/NaN) is skipped and the
// scale halved; after `growth_interval` clean steps in a row the scale doubles. Same policy and
// defaults as torch.cuda.amp.GradScaler. Host-side logic: the device only reports "overflow".
// Thread safety: none; one per training loop.
#pragma once

#include <cstdint>

namespace nhits::cuda {

struct LossScalerOptions {
  double init_scale = 65536.0;
  double growth_factor = 2.0;
  double backoff_factor = 0.5;
  int growth_interval = 2000;
  double min_scale = 1.0, max_scale = 16777216.0;  // 2^24
};

class DynamicLossScaler {
 public:
  explicit DynamicLossScaler(LossScalerOptions o = {}) : o_(o), scale_(o.init_scale) {}

  double scale() const { return scale_; }
  double inverse() const { return 1.0 / scale_; }  // multiply gradients by this before the step
  // Call once per step with whether any gradient was non-finite. Returns true when the optimizer
  // step should be applied, false when it must be skipped.
  bool Update(bool found_overflow);

  std::uint64_t skipped() const { return skipped_; }
  int clean_streak() const { return streak_; }

 private:
  LossScalerOptions o_;
  double scale_;
  int streak_ = 0;
  std::uint64_t skipped_ = 0;
};

}  // namespace nhits::cuda
