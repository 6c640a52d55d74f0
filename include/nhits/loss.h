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

}  // namespace nhits
