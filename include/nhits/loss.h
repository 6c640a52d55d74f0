// Training and validation losses (neuralforecast.losses.pytorch): masked means over the horizon
// points that are available. Q > 1 only for MQLoss, whose loss is the pinball loss averaged over
// its quantiles and the available points.
// Thread safety: pure functions.
#pragma once

#include "nhits/config.h"

namespace nhits {

// Loss of forecasts yhat [B, h, Q] against y [B, h] where mask [B, h] > 0. When d_yhat is not
// null it receives d(loss)/d(yhat) (overwritten). Returns 0 when no point is available.
template <typename T>
double ComputeLoss(const NhitsConfig& config, int batch, const T* yhat, const T* y, const T* mask, T* d_yhat);

}  // namespace nhits
