#include "backend/cuda/loss_scaler.h"

#include <algorithm>

namespace nhits::cuda {

bool DynamicLossScaler::Update(bool found_overflow) {
  if (found_overflow) {
    scale_ = std::max(o_.min_scale, scale_ * o_.backoff_factor);
    streak_ = 0;
    ++skipped_;
    return false;
  }
  if (++streak_ >= o_.growth_interval) {
    scale_ = std::min(o_.max_scale, scale_ * o_.growth_factor);
    streak_ = 0;
  }
  return true;
}

}  // namespace nhits::cuda
