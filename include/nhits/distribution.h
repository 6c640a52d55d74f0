// DistributionLoss (neuralforecast.losses.pytorch.DistributionLoss) for the Normal and Student-t
// distributions: the network's raw channels at each horizon step become the distribution's
// parameters ("scale decouple", anchored on the window's scaler statistics), training minimises
// their negative log-likelihood, and a forecast is the distribution's mean and quantiles.
//
// neuralforecast estimates the mean and the quantiles from 1000 random draws per point, so its
// forecasts change from call to call by a few percent of the scale. We compute them exactly from
// the parameters (the Normal and Student-t quantile functions): deterministic forecasts, equal to
// the values neuralforecast's sample estimates scatter around.
// Thread safety: pure functions, except that the Student-t quantile series of a level is built on
// first use (std::call_once, or under a mutex for fractional levels: safe from any thread).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "nhits/config.h"
#include "nhits/status.h"
#include "nhits/scaler.h"

namespace nhits {

// One point's distribution. df is used by the Student-t only.
struct DistributionParams {
  double df = 0.0;
  double loc = 0.0;
  double scale = 1.0;
};

// PyTorch's softplus (beta 1, threshold 20) and its derivative.
double Softplus(double x);
double SoftplusSlope(double x);

// neuralforecast's scale decouple of one point's raw channels raw[0], raw[stride], ... (Normal:
// loc, scale; StudentT: df, loc, scale) with the window's scaler shift and scale:
// loc = raw_loc * scale + shift, scale = (softplus(raw_scale) + eps) * scale (eps 0.2 for the
// Normal, 0.1 for the Student-t), df = 3 + softplus(raw_df).
DistributionParams DecoupleParams(DistributionType d, const float* raw, std::size_t stride, double shift,
                                  double scale);

// Negative log-likelihood of y under the parameters decoupled with shift 0 and scale 1, and, when
// d_raw is not null, its derivative with respect to each raw channel (d_raw[k * stride]).
// Training uses it on y' = (y - shift) / scale: the likelihood of y itself is this plus
// log(scale), with the same derivatives.
double DistributionNll(DistributionType d, const double* raw, std::size_t stride, double y, double* d_raw);

// The parameters a forecast row of a return_params model ends with ([df,] loc, scale); `row` is
// the row's first column.
DistributionParams ReturnedParams(const NhitsConfig& config, const float* row);
// Negative log-likelihood of y under decoded parameters (as DecoupleParams gives them).
double NegativeLogLikelihood(DistributionType d, const DistributionParams& p, double y);

// Standard Normal and Student-t quantile functions (p in (0, 1), df > 0), and the Student-t
// distribution function, all to about 1e-12 relative.
double NormalQuantile(double p);
double StudentTCdf(double t, double df);
double StudentTQuantile(double p, double df);
// The Student-t quantile 0.5 + level / 200 (a level in (0, 100)) for df >= 3, from a Chebyshev
// series fitted once per level (within 1e-10 of StudentTQuantile): what decoding uses.
double StudentTQuantileForLevel(double level, double df);
// That series' coefficients: the quantile is sum_k c[k] T_k(x) with x = 6 / df - 1 (Chebyshev
// polynomials of the first kind), for graphs that evaluate it themselves (ONNX export).
std::vector<double> StudentTQuantileSeriesCoefficients(double level);

// neuralforecast's predict(quantiles=...) of a DistributionLoss model `c`: the mean, then each
// quantile (sorted, de-duplicated: SortedLevels) as "_ql<q>", then the parameters when
// c.return_params. The quantiles come from each point's parameters, so decode with
// QuantileDecodeConfig(c) first (c with return_params set), then QuantileColumns.
NhitsConfig QuantileDecodeConfig(const NhitsConfig& c);
// Quantiles a forecast may ask for: within [kMinQuantile, 1 - kMinQuantile] (further out the
// float64 tail loses its digits, and 1 - q rounds to 1 below ~1e-16), at most 2 * kMaxLevels + 1
// distinct ones (as a trained quantile list), so a request cannot make a worker compute millions.
inline constexpr double kMinQuantile = 1e-9;
Status ValidateQuantiles(const std::vector<double>& quantiles);
std::vector<std::string> QuantileColumnSuffixes(const NhitsConfig& c, const std::vector<double>& quantiles);
// rows x QuantileDecodeConfig(c).outputs_per_step() decoded values to rows x
// QuantileColumnSuffixes(c, quantiles).size() columns.
void QuantileColumns(const NhitsConfig& c, const std::vector<double>& quantiles, const float* decoded,
                     std::size_t rows, float* out);

// One window's raw network output [h, network_outputs_per_step()] to its forecast columns
// [h, outputs_per_step()] in the original scale (output_names() order). For every loss but
// DistributionLoss that is the scaler's inverse, and `raw` may equal `out`; for DistributionLoss
// they must not overlap.
void DecodeForecast(const NhitsConfig& config, const ScaleStats& stats, const float* raw, float* out);

}  // namespace nhits
