// Training and validation losses (neuralforecast.losses.pytorch): masked means over the horizon
// points that are available. Q > 1 for MQLoss, whose loss is the pinball loss averaged over its
// quantiles and the available points, and for DistributionLoss (negative log-likelihood).
// Thread safety: pure functions.
#pragma once

#include "nhits/config.h"

namespace nhits {

// Loss of forecasts yhat [B, h, Q] against y [B, h] where mask [B, h] > 0. When d_yhat is not
// null it receives d(loss)/d(yhat) (overwritten). Returns 0 when no point is available.
// DistributionLoss: yhat holds the raw parameter channels [B, h, P], y is (y - shift) / scale
// with each window's scaler statistics, and `log_scale` [B] (optional) adds log(scale) per
// point, making the value the negative log-likelihood of the original y, as neuralforecast
// reports it (the gradient does not change).
template <typename T>
double ComputeLoss(const NhitsConfig& config, int batch, const T* yhat, const T* y, const T* mask, T* d_yhat,
                   const double* log_scale = nullptr);

// DistributionLoss with scaler_type "revin": y's learned pair (revin_bias[0], revin_weight[0])
// moves every window's loc and scale, so the likelihood of the original y depends on it, and
// neuralforecast learns it. With y' = (y - shift - bias) / s' and s' = scale * (relu(weight) +
// 1e-6), this is d(loss)/d(bias) and d(loss)/d(weight) of one ComputeLoss call, from that call's
// d_yhat, y' (its `y`), mask and log_scale (log s').
struct RevinGradient {
  double bias = 0, weight = 0;
};
template <typename T>
RevinGradient DistributionRevinGradient(const NhitsConfig& config, int batch, const T* d_yhat, const T* y,
                                        const T* mask, const double* log_scale);

}  // namespace nhits
