// The small per-element and per-window layers of an NHITS block, forward and backward:
// activations, ceil-mode pooling and knot interpolation (PyTorch semantics, see
// docs/ARCHITECTURE.md). Header-only templates shared by Network<float> and Network<double>.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "nhits/config.h"
#include "nhits/network.h"

namespace nhits::layers {

constexpr double kSeluScale = 1.0507009873554804934193349852946;
constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kLeakySlope = 0.01;    // nn.LeakyReLU default
constexpr double kSoftplusThreshold = 20.0;  // nn.Softplus: linear above beta*x > 20

template <typename T>
inline T ActivationForward(Activation a, T x, T prelu_slope) {
  switch (a) {
    case Activation::kReLU: return x > T(0) ? x : T(0);
    case Activation::kSoftplus: return x > T(kSoftplusThreshold) ? x : std::log1p(std::exp(x));
    case Activation::kTanh: return std::tanh(x);
    case Activation::kSELU: return T(kSeluScale) * (x > T(0) ? x : T(kSeluAlpha) * std::expm1(x));
    case Activation::kLeakyReLU: return x > T(0) ? x : T(kLeakySlope) * x;
    case Activation::kPReLU: return x > T(0) ? x : prelu_slope * x;
    case Activation::kSigmoid: return T(1) / (T(1) + std::exp(-x));
  }
  return x;
}

// d(activation)/dx at x.
template <typename T>
inline T ActivationDerivative(Activation a, T x, T prelu_slope) {
  switch (a) {
    case Activation::kReLU: return x > T(0) ? T(1) : T(0);
    case Activation::kSoftplus: return x > T(kSoftplusThreshold) ? T(1) : T(1) / (T(1) + std::exp(-x));
    case Activation::kTanh: { T t = std::tanh(x); return T(1) - t * t; }
    case Activation::kSELU: return x > T(0) ? T(kSeluScale) : T(kSeluScale * kSeluAlpha) * std::exp(x);
    case Activation::kLeakyReLU: return x > T(0) ? T(1) : T(kLeakySlope);
    case Activation::kPReLU: return x > T(0) ? T(1) : prelu_slope;
    case Activation::kSigmoid: { T s = T(1) / (T(1) + std::exp(-x)); return s * (T(1) - s); }
  }
  return T(1);
}

// MaxPool1d / AvgPool1d with kernel = stride = k, padding 0, ceil_mode=True over rows of length
// n: the last window may be partial; average divides by the elements that exist.
template <typename T>
void PoolForward(PoolingMode mode, int k, int rows, int n, const T* in, T* out, int* argmax) {
  const int np = (n + k - 1) / k;
  for (int r = 0; r < rows; ++r) {
    const T* x = in + static_cast<std::size_t>(r) * n;
    for (int p = 0; p < np; ++p) {
      const int begin = p * k, end = std::min(begin + k, n);
      if (mode == PoolingMode::kMaxPool1d) {
        int best = begin;
        for (int t = begin + 1; t < end; ++t)
          if (x[t] > x[best] || std::isnan(x[t])) best = t;
        out[static_cast<std::size_t>(r) * np + p] = x[best];
        if (argmax != nullptr) argmax[static_cast<std::size_t>(r) * np + p] = best;  // null at inference
      } else {
        T s = 0;
        for (int t = begin; t < end; ++t) s += x[t];
        out[static_cast<std::size_t>(r) * np + p] = s / T(end - begin);
      }
    }
  }
}

// Adds the input gradient of the pooling to `d_in`.
template <typename T>
void PoolBackwardAccumulate(PoolingMode mode, int k, int rows, int n, const T* d_out, const int* argmax,
                            T* d_in) {
  const int np = (n + k - 1) / k;
  for (int r = 0; r < rows; ++r) {
    T* dx = d_in + static_cast<std::size_t>(r) * n;
    for (int p = 0; p < np; ++p) {
      const T g = d_out[static_cast<std::size_t>(r) * np + p];
      if (mode == PoolingMode::kMaxPool1d) {
        dx[argmax[static_cast<std::size_t>(r) * np + p]] += g;
      } else {
        const int begin = p * k, end = std::min(begin + k, n);
        for (int t = begin; t < end; ++t) dx[t] += g / T(end - begin);
      }
    }
  }
}

// Pools each column of a time-major [n, C] matrix along time (kernel = stride = k, ceil mode) and
// writes the [np, C] result time-major into out (index t*C + c).
template <typename T>
void PoolColumnsTimeMajor(PoolingMode mode, int k, int n, int C, const T* in, T* out) {
  const int np = (n + k - 1) / k;
  for (int p = 0; p < np; ++p) {
    const int begin = p * k, end = std::min(begin + k, n);
    for (int c = 0; c < C; ++c) {
      T acc = in[static_cast<std::size_t>(begin) * C + c];
      for (int t = begin + 1; t < end; ++t) {
        const T v = in[static_cast<std::size_t>(t) * C + c];
        acc = mode == PoolingMode::kMaxPool1d ? (v > acc ? v : acc) : acc + v;
      }
      out[static_cast<std::size_t>(p) * C + c] = mode == PoolingMode::kMaxPool1d ? acc : acc / T(end - begin);
    }
  }
}

// Adds the input gradient of PoolColumnsTimeMajor to `d_in` [n, C]: MaxPool's goes to the first
// maximum of each window (as PyTorch's), AvgPool's is shared by the window's elements.
template <typename T>
void PoolColumnsTimeMajorBackward(PoolingMode mode, int k, int n, int C, const T* in, const T* d_out, T* d_in) {
  const int np = (n + k - 1) / k;
  for (int p = 0; p < np; ++p) {
    const int begin = p * k, end = std::min(begin + k, n);
    for (int c = 0; c < C; ++c) {
      const T g = d_out[static_cast<std::size_t>(p) * C + c];
      if (mode == PoolingMode::kMaxPool1d) {
        int best = begin;
        for (int t = begin + 1; t < end; ++t)
          if (in[static_cast<std::size_t>(t) * C + c] > in[static_cast<std::size_t>(best) * C + c]) best = t;
        d_in[static_cast<std::size_t>(best) * C + c] += g;
      } else {
        for (int t = begin; t < end; ++t) d_in[static_cast<std::size_t>(t) * C + c] += g / T(end - begin);
      }
    }
  }
}

// One window's MLP input z [in_features] for a block with exogenous inputs (neuralforecast's
// NHITSBlock.forward): [pool(residual) | pool(hist) | pool(futr) | stat]; the exogenous parts
// are the same in every block (not residualised). `window` indexes the rows of `exog`.
template <typename T>
void BlockInput(const NhitsConfig& c, const BlockLayout& blk, int window, const T* residual, const ExogBatch<T>& exog,
                T* z, int* argmax) {
  const int L = c.input_size, H = c.h, k = blk.pool_kernel;
  const int X = static_cast<int>(c.hist_exog_list.size()), F = static_cast<int>(c.futr_exog_list.size()),
            S = static_cast<int>(c.stat_exog_list.size());
  const std::size_t w = static_cast<std::size_t>(window);
  PoolForward(c.pooling_mode, k, 1, L, residual, z, argmax);
  z += blk.pooled_size;
  if (X > 0) PoolColumnsTimeMajor(c.pooling_mode, k, L, X, exog.hist + w * L * X, z);
  z += static_cast<std::size_t>(X) * blk.pooled_size;
  if (F > 0) PoolColumnsTimeMajor(c.pooling_mode, k, L + H, F, exog.futr + w * (L + H) * F, z);
  z += static_cast<std::size_t>(F) * blk.futr_pooled_size;
  for (int s = 0; s < S; ++s) z[s] = exog.stat[w * S + s];
}

// Adds the gradient of BlockInput's exogenous part to `d_exog`, given dz = d(loss)/d(z) [in_features].
template <typename T>
void BlockInputBackward(const NhitsConfig& c, const BlockLayout& blk, int window, const ExogBatch<T>& exog,
                        const T* dz, const ExogGrad<T>& d_exog) {
  const int L = c.input_size, H = c.h, k = blk.pool_kernel;
  const int X = static_cast<int>(c.hist_exog_list.size()), F = static_cast<int>(c.futr_exog_list.size()),
            S = static_cast<int>(c.stat_exog_list.size());
  const std::size_t w = static_cast<std::size_t>(window);
  dz += blk.pooled_size;
  if (X > 0 && d_exog.hist != nullptr)
    PoolColumnsTimeMajorBackward(c.pooling_mode, k, L, X, exog.hist + w * L * X, dz, d_exog.hist + w * L * X);
  dz += static_cast<std::size_t>(X) * blk.pooled_size;
  if (F > 0 && d_exog.futr != nullptr)
    PoolColumnsTimeMajorBackward(c.pooling_mode, k, L + H, F, exog.futr + w * (L + H) * F, dz,
                                 d_exog.futr + w * (L + H) * F);
  dz += static_cast<std::size_t>(F) * blk.futr_pooled_size;
  if (d_exog.stat != nullptr)
    for (int s = 0; s < S; ++s) d_exog.stat[w * S + s] += dz[s];
}

// F.interpolate(knots [.., K], size=h) as fixed taps, computed in float like PyTorch's CPU kernel.
InterpolationTaps MakeInterpolationTaps(InterpolationMode mode, int knots, int h);

}  // namespace nhits::layers
