#include "nhits/loss.h"

#include "backend/cpu/parallel_rows.h"
#include "nhits/distribution.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace nhits {
namespace {

// PyTorch's huber_loss(x, 0, delta) for x >= 0, and its derivative.
double Huber(double x, double delta) { return x < delta ? 0.5 * x * x : delta * (x - 0.5 * delta); }
double HuberSlope(double x, double delta) { return x < delta ? x : delta; }

// DistributionLoss: the mean negative log-likelihood over the available points. Windows run on
// both cores (the Student-t's lgamma and digamma per point cost ~7% of a training step on one);
// their sums are added in window order, so the value does not depend on the thread count.
template <typename T>
double DistributionLoss(const NhitsConfig& config, int batch, double weight, const T* yhat, const T* y,
                        const T* mask, T* d_yhat, const double* log_scale) {
  const int H = config.h, P = config.network_outputs_per_step();
  std::vector<double> window_sum(static_cast<std::size_t>(batch), 0.0);
  cpu::ForRows(batch, [&](int b0, int b1) {
    double raw[3], grad[3];
    for (int b = b0; b < b1; ++b)
      for (int j = 0; j < H; ++j) {
        const std::size_t i = static_cast<std::size_t>(b) * H + j;
        const double m = static_cast<double>(mask[i]);
        if (m == 0) continue;
        for (int k = 0; k < P; ++k) raw[k] = static_cast<double>(yhat[i * P + k]);
        double nll = DistributionNll(config.distribution, raw, 1, static_cast<double>(y[i]),
                                     d_yhat != nullptr ? grad : nullptr);
        if (log_scale != nullptr) nll += log_scale[b];
        window_sum[static_cast<std::size_t>(b)] += nll * m;
        if (d_yhat != nullptr)
          for (int k = 0; k < P; ++k) d_yhat[i * P + k] = T(grad[k] * m / weight);
      }
  });
  double sum = 0;
  for (double s : window_sum) sum += s;
  return sum / weight;
}

}  // namespace

template <typename T>
double ComputeLoss(const NhitsConfig& config, int batch, const T* yhat, const T* y, const T* mask, T* d_yhat,
                   const double* log_scale) {
  const int H = config.h, Q = config.network_outputs_per_step();
  const std::size_t n = static_cast<std::size_t>(batch) * H;
  double weight = 0;
  for (std::size_t i = 0; i < n; ++i) weight += static_cast<double>(mask[i]);
  if (d_yhat != nullptr) std::fill_n(d_yhat, n * Q, T(0));
  if (weight <= 0) return 0.0;
  // neuralforecast's weighted_average divides by clamp(sum(weights), min=1): only fractional
  // sample weights summing below 1 tell the two apart.
  if (config.distribution_loss())
    return DistributionLoss(config, batch, std::max(weight, 1.0), yhat, y, mask, d_yhat, log_scale);
  const std::vector<double> quantiles = config.quantiles();
  const double delta = config.huber_delta;
  double sum = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double m = static_cast<double>(mask[i]);
    if (m == 0) continue;
    for (int q = 0; q < Q; ++q) {
      const double e = static_cast<double>(yhat[i * Q + q]) - static_cast<double>(y[i]);  // yhat - y
      double value = 0, grad = 0;
      switch (config.loss) {
        case LossType::kMAE: value = std::abs(e); grad = (e > 0) - (e < 0); break;
        case LossType::kMSE:
        case LossType::kRMSE: value = e * e; grad = 2 * e; break;
        case LossType::kHuberLoss:
          if (std::abs(e) < delta) { value = 0.5 * e * e; grad = e; }
          else { value = delta * (std::abs(e) - 0.5 * delta); grad = delta * ((e > 0) - (e < 0)); }
          break;
        case LossType::kQuantileLoss: {  // neuralforecast: max(q * (y - yhat), (q - 1) * (y - yhat))
          const double qq = config.quantile_q;
          value = qq * std::max(-e, 0.0) + (1 - qq) * std::max(e, 0.0);
          grad = e < 0 ? -qq : (e > 0 ? 1 - qq : 0.0);
          break;
        }
        case LossType::kHuberQLoss: {  // q * huber(max(-e, 0)) + (1 - q) * huber(max(e, 0))
          const double qq = config.quantile_q;
          if (e < 0) value = qq * Huber(-e, delta), grad = -qq * HuberSlope(-e, delta);
          else value = (1 - qq) * Huber(e, delta), grad = (1 - qq) * HuberSlope(e, delta);
          break;
        }
        case LossType::kHuberMQLoss: {  // the quantile inside: huber(q max(-e, 0)) + huber((1 - q) max(e, 0))
          const double qq = quantiles[static_cast<std::size_t>(q)];
          if (e < 0) value = Huber(-qq * e, delta), grad = -qq * HuberSlope(-qq * e, delta);
          else value = Huber((1 - qq) * e, delta), grad = (1 - qq) * HuberSlope((1 - qq) * e, delta);
          value /= Q, grad /= Q;
          break;
        }
        case LossType::kMAPE: {  // neuralforecast: |y - yhat| / |y|, 0 where y == 0
          const double ay = std::abs(static_cast<double>(y[i]));
          if (ay > 0) value = std::abs(e) / ay, grad = ((e > 0) - (e < 0)) / ay;
          break;
        }
        case LossType::kSMAPE: {  // neuralforecast: 2 |y - yhat| / (|y| + |yhat|), 0 where both are 0
          const double yh = static_cast<double>(yhat[i * Q + q]);
          const double den = std::abs(static_cast<double>(y[i])) + std::abs(yh);
          if (den > 0) {
            value = 2 * std::abs(e) / den;
            grad = 2 * (((e > 0) - (e < 0)) * den - std::abs(e) * ((yh > 0) - (yh < 0))) / (den * den);
          }
          break;
        }
        case LossType::kDistributionLoss: break;  // handled above
        case LossType::kMQLoss: {
          const double qq = quantiles[static_cast<std::size_t>(q)];
          value = (qq * std::max(-e, 0.0) + (1 - qq) * std::max(e, 0.0)) / Q;
          grad = (e < 0 ? -qq : (e > 0 ? 1 - qq : 0.0)) / Q;
          break;
        }
      }
      sum += value * m;
      if (d_yhat != nullptr) d_yhat[i * Q + q] = T(grad * m / weight);
    }
  }
  double loss = sum / weight;
  if (config.loss == LossType::kRMSE) {
    const double root = std::sqrt(loss);
    if (d_yhat != nullptr) {
      const double chain = root > 0 ? 0.5 / root : 0.0;
      for (std::size_t i = 0; i < n * Q; ++i) d_yhat[i] = T(d_yhat[i] * chain);
    }
    loss = root;
  }
  return loss;
}

template <typename T>
RevinGradient DistributionRevinGradient(const NhitsConfig& config, int batch, const T* d_yhat, const T* y,
                                        const T* mask, const double* log_scale) {
  const int H = config.h, P = config.network_outputs_per_step();
  const int loc = config.distribution == DistributionType::kStudentT ? 1 : 0;  // raw channel of the location
  const double weight = config.revin_weight.empty() ? 1.0 : config.revin_weight[0];
  double total = 0;
  for (std::size_t i = 0; i < static_cast<std::size_t>(batch) * H; ++i) total += static_cast<double>(mask[i]);
  RevinGradient g;
  if (total <= 0) return g;
  // The NLL sees y only through (y' - loc), so d/dy' = -d/dloc, and log s' adds mask / total per
  // point: d/dbias = sum d_loc / s', and s' * d/ds' = sum d_loc * y' + (the window's mask) / total.
  double d_log_scale = 0;
  for (int b = 0; b < batch; ++b) {
    double d_loc = 0, d_loc_y = 0, m = 0;
    for (int t = 0; t < H; ++t) {
      const std::size_t i = static_cast<std::size_t>(b) * H + t;
      const double d = static_cast<double>(d_yhat[i * P + loc]);
      d_loc += d;
      d_loc_y += d * static_cast<double>(y[i]);
      m += static_cast<double>(mask[i]);
    }
    g.bias += d_loc / std::exp(log_scale[b]);
    d_log_scale += d_loc_y + m / total;
  }
  // d log s' / d weight = relu'(weight) / (relu(weight) + 1e-6); PyTorch's relu' is 0 at 0.
  g.weight = weight > 0 ? d_log_scale / (weight + 1e-6) : 0.0;
  return g;
}

template RevinGradient DistributionRevinGradient<float>(const NhitsConfig&, int, const float*, const float*,
                                                         const float*, const double*);
template RevinGradient DistributionRevinGradient<double>(const NhitsConfig&, int, const double*, const double*,
                                                          const double*, const double*);

template double ComputeLoss<float>(const NhitsConfig&, int, const float*, const float*, const float*, float*,
                                   const double*);
template double ComputeLoss<double>(const NhitsConfig&, int, const double*, const double*, const double*, double*,
                                    const double*);

}  // namespace nhits
