// Adam with PyTorch's defaults (betas 0.9/0.999, eps 1e-8, no weight decay) and the same update
// order, so trajectories are comparable with torch.optim.Adam.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

namespace nhits {

class Adam {
 public:
  explicit Adam(std::size_t n) : m_(n, 0.0f), v_(n, 0.0f) {}

  void Step(std::vector<float>& params, const std::vector<float>& grad, double lr);

 private:
  static constexpr float kBeta1 = 0.9f, kBeta2 = 0.999f, kEps = 1e-8f;
  std::vector<float> m_, v_;
  int t_ = 0;
};

// StepLR(step_size = max(max_steps // num_lr_decays, 1), gamma = 0.5), stepped every step.
inline double LearningRateAt(double base, int step, int max_steps, int num_lr_decays) {
  if (num_lr_decays <= 0) return base;
  const int every = std::max(max_steps / num_lr_decays, 1);
  return base * std::pow(0.5, step / every);
}

}  // namespace nhits
