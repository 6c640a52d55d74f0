#include "train/adam.h"

namespace nhits {

void Adam::Step(std::vector<float>& params, const std::vector<float>& grad, double lr) {
  ++t_;
  const double bc1 = 1.0 - std::pow(kBeta1, t_), bc2 = 1.0 - std::pow(kBeta2, t_);
  const float step = static_cast<float>(lr / bc1);
  const float inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(bc2));
  // Element-wise, so splitting it across threads changes no result; it streams four arrays the
  // size of the model, which one core does at half the machine's memory bandwidth.
  const long n = static_cast<long>(params.size());
  float* p = params.data();
  float* m = m_.data();
  float* v = v_.data();
  const float* g = grad.data();
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (long i = 0; i < n; ++i) {
    m[i] = kBeta1 * m[i] + (1.0f - kBeta1) * g[i];
    v[i] = kBeta2 * v[i] + (1.0f - kBeta2) * g[i] * g[i];
    p[i] -= step * m[i] / (std::sqrt(v[i]) * inv_sqrt_bc2 + kEps);
  }
}

}  // namespace nhits
