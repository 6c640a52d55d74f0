#include "nhits/distribution.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <vector>

namespace nhits {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kNormalEps = 0.2;    // normal_scale_decouple's eps
constexpr double kStudentTEps = 0.1;  // student_scale_decouple's eps

// Digamma by the recurrence psi(x) = psi(x + 1) - 1/x up to x >= 6, then the asymptotic series.
double Digamma(double x) {
  double acc = 0;
  while (x < 6) {
    acc -= 1 / x;
    x += 1;
  }
  const double f = 1 / (x * x);
  return acc + std::log(x) - 0.5 / x -
         f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f * (1.0 / 132)))));
}

// Continued fraction of the regularised incomplete beta function (Abramowitz & Stegun 26.5.8),
// evaluated by the modified Lentz method; converges fast for x < (a + 1) / (a + b + 2).
double IncompleteBetaFraction(double a, double b, double x) {
  constexpr double kTiny = 1e-300;
  auto guard = [](double v) { return std::abs(v) < kTiny ? kTiny : v; };
  double c = 1, d = 1 / guard(1 - (a + b) * x / (a + 1)), h = d;
  for (int m = 1; m <= 500; ++m) {
    const double even = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
    d = 1 / guard(1 + even * d);
    c = guard(1 + even / c);
    h *= d * c;
    const double odd = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1));
    d = 1 / guard(1 + odd * d);
    c = guard(1 + odd / c);
    const double step = d * c;
    h *= step;
    if (std::abs(step - 1) < 1e-15) break;
  }
  return h;
}

// I_x(a, b), with 1 - x passed separately so that x close to 1 keeps its precision.
double RegularizedIncompleteBeta(double a, double b, double x, double one_minus_x) {
  if (x <= 0) return 0;
  if (one_minus_x <= 0) return 1;
  const double log_front = a * std::log(x) + b * std::log(one_minus_x) + std::lgamma(a + b) - std::lgamma(a) -
                           std::lgamma(b);
  if (x < (a + 1) / (a + b + 2)) return std::exp(log_front) * IncompleteBetaFraction(a, b, x) / a;
  return 1 - std::exp(log_front) * IncompleteBetaFraction(b, a, one_minus_x) / b;
}

double StudentTLogDensity(double t, double df) {
  return std::lgamma(0.5 * (df + 1)) - std::lgamma(0.5 * df) - 0.5 * std::log(df * kPi) -
         0.5 * (df + 1) * std::log1p(t * t / df);
}

// The Student-t quantile of q = 0.5 + level / 200 as a function of df >= 3: a Chebyshev series in
// s = 3 / df over (0, 1], fitted once per level from StudentTQuantile. Decoding a forecast
// evaluates it (~30 flops) instead of solving for the quantile at every step.
constexpr int kSeriesTerms = 16;  // 3e-14 relative for df < 30, every level (tested)

struct QuantileSeries {
  std::array<double, kSeriesTerms> c{};

  double operator()(double df) const {
    const double x = 2 * (3 / df) - 1;  // s in (0, 1] -> [-1, 1]
    double b1 = 0, b2 = 0;  // Clenshaw
    for (int k = kSeriesTerms - 1; k >= 1; --k) {
      const double b0 = 2 * x * b1 - b2 + c[static_cast<std::size_t>(k)];
      b2 = b1;
      b1 = b0;
    }
    return x * b1 - b2 + c[0];
  }
};

QuantileSeries FitQuantileSeries(double level) {
  const double q = 0.5 + level / 200;
  std::array<double, kSeriesTerms> f{};
  for (int j = 0; j < kSeriesTerms; ++j) {
    const double x = std::cos(kPi * (j + 0.5) / kSeriesTerms), s = (x + 1) / 2;
    f[static_cast<std::size_t>(j)] = StudentTQuantile(q, 3 / s);
  }
  QuantileSeries series;
  for (int k = 0; k < kSeriesTerms; ++k) {
    double sum = 0;
    for (int j = 0; j < kSeriesTerms; ++j)
      sum += f[static_cast<std::size_t>(j)] * std::cos(kPi * k * (j + 0.5) / kSeriesTerms);
    series.c[static_cast<std::size_t>(k)] = (k == 0 ? 1.0 : 2.0) * sum / kSeriesTerms;
  }
  return series;
}

// Whole levels 1..99 from a table filled once each; others (97.5, ...) from a cache that only
// grows, so the references stay valid. Decoding looks a level up once per call, not per step.
// The series of fractional levels, fitted on first use. A server takes levels from its clients,
// so with `bounded` at most kMaxFractionalSeries are fitted (each fit costs time under the lock
// and memory for good) and null means "past the bound".
constexpr std::size_t kMaxFractionalSeries = 64;
const QuantileSeries* FractionalSeries(double level, bool bounded) {
  static std::mutex mu;
  static std::map<double, QuantileSeries> fractional;  // nodes never move: pointers stay valid
  std::lock_guard<std::mutex> lock(mu);
  auto it = fractional.find(level);
  if (it == fractional.end()) {
    if (bounded && fractional.size() >= kMaxFractionalSeries) return nullptr;
    it = fractional.emplace(level, FitQuantileSeries(level)).first;
  }
  return &it->second;
}

const QuantileSeries& StudentTQuantileSeries(double level) {
  if (!(level > 0 && level < 100)) {  // config validation prevents it: a caller bug, not bad data
    std::fprintf(stderr, "nhits: Student-t quantile series for level %g: the level is outside (0, 100)\n", level);
    std::abort();
  }
  if (level == std::floor(level)) {
    static std::array<std::once_flag, 100> once;
    static std::array<QuantileSeries, 100> table;
    const std::size_t l = static_cast<std::size_t>(level);
    std::call_once(once[l], [l] { table[l] = FitQuantileSeries(static_cast<double>(l)); });
    return table[l];
  }
  return *FractionalSeries(level, false);
}

}  // namespace

double StudentTQuantileForLevel(double level, double df) {
  if (level > 0 && level < 100 && level != std::floor(level)) {
    const QuantileSeries* s = FractionalSeries(level, true);
    return s != nullptr ? (*s)(df) : StudentTQuantile(0.5 + level / 200.0, df);  // past the bound: exact, uncached
  }
  return StudentTQuantileSeries(level)(df);
}

std::vector<double> StudentTQuantileSeriesCoefficients(double level) {
  const auto& c = StudentTQuantileSeries(level).c;
  return {c.begin(), c.end()};
}

double Softplus(double x) { return x > 20 ? x : std::log1p(std::exp(x)); }
double SoftplusSlope(double x) { return x > 20 ? 1.0 : 1 / (1 + std::exp(-x)); }

DistributionParams DecoupleParams(DistributionType d, const float* raw, std::size_t stride, double shift,
                                  double scale) {
  DistributionParams p;
  if (d == DistributionType::kStudentT) {
    p.df = 3 + Softplus(raw[0]);
    p.loc = static_cast<double>(raw[stride]) * scale + shift;
    p.scale = (Softplus(raw[2 * stride]) + kStudentTEps) * scale;
  } else {
    p.loc = static_cast<double>(raw[0]) * scale + shift;
    p.scale = (Softplus(raw[stride]) + kNormalEps) * scale;
  }
  return p;
}

double DistributionNll(DistributionType d, const double* raw, std::size_t stride, double y, double* d_raw) {
  if (d == DistributionType::kNormal) {
    const double sigma = Softplus(raw[stride]) + kNormalEps, z = (y - raw[0]) / sigma;
    if (d_raw != nullptr) {
      d_raw[0] = -z / sigma;
      d_raw[stride] = (1 - z * z) / sigma * SoftplusSlope(raw[stride]);
    }
    return std::log(sigma) + 0.5 * std::log(2 * kPi) + 0.5 * z * z;
  }
  const double df = 3 + Softplus(raw[0]), sigma = Softplus(raw[2 * stride]) + kStudentTEps;
  const double z = (y - raw[stride]) / sigma, z2 = z * z;
  if (d_raw != nullptr) {
    const double ddf = 0.5 / df + 0.5 * Digamma(0.5 * df) - 0.5 * Digamma(0.5 * (df + 1)) + 0.5 * std::log1p(z2 / df) -
                       0.5 * (df + 1) * z2 / (df * (df + z2));
    d_raw[0] = ddf * SoftplusSlope(raw[0]);
    d_raw[stride] = -(df + 1) * z / (sigma * (df + z2));
    d_raw[2 * stride] = (1 - (df + 1) * z2 / (df + z2)) / sigma * SoftplusSlope(raw[2 * stride]);
  }
  return std::log(sigma) - StudentTLogDensity(z, df);
}

DistributionParams ReturnedParams(const NhitsConfig& c, const float* row) {
  const float* end = row + c.outputs_per_step();
  DistributionParams p;
  p.scale = end[-1];
  p.loc = end[-2];
  if (c.distribution == DistributionType::kStudentT) p.df = end[-3];
  return p;
}

double NegativeLogLikelihood(DistributionType d, const DistributionParams& p, double y) {
  const double z = (y - p.loc) / p.scale;
  if (d == DistributionType::kNormal) return std::log(p.scale) + 0.5 * std::log(2 * kPi) + 0.5 * z * z;
  return std::log(p.scale) - StudentTLogDensity(z, p.df);
}

double NormalQuantile(double p) {
  if (!(p > 0 && p < 1)) return p == 0 ? -std::numeric_limits<double>::infinity()
                                       : (p == 1 ? std::numeric_limits<double>::infinity() : std::nan(""));
  // The upper half by symmetry: 1 - p is exact there, and erfc keeps its relative precision in
  // the lower tail only.
  if (p > 0.5) return -NormalQuantile(1 - p);
  // Abramowitz & Stegun 26.2.23 (error < 4.5e-4) as the start, then Halley steps on erfc.
  const double t = std::sqrt(-2 * std::log(p));
  double x = -(t - (2.515517 + t * (0.802853 + t * 0.010328)) / (1 + t * (1.432788 + t * (0.189269 + t * 0.001308))));
  for (int i = 0; i < 3; ++i) {
    const double e = 0.5 * std::erfc(-x / std::sqrt(2.0)) - p;
    const double u = e * std::sqrt(2 * kPi) * std::exp(0.5 * x * x);
    x -= u / (1 + 0.5 * x * u);
  }
  return x;
}

double StudentTCdf(double t, double df) {
  const double t2 = t * t;
  // P(|T| > |t|) = I_{df / (df + t^2)}(df / 2, 1 / 2)
  const double tails = RegularizedIncompleteBeta(0.5 * df, 0.5, df / (df + t2), t2 / (df + t2));
  return t > 0 ? 1 - 0.5 * tails : 0.5 * tails;
}

double StudentTQuantile(double p, double df) {
  if (!(p > 0 && p < 1)) return NormalQuantile(p);  // the same infinities and NaN
  if (p == 0.5) return 0.0;
  if (p < 0.5) return -StudentTQuantile(1 - p, df);
  // Start from the Cornish-Fisher expansion around the Normal quantile, then Newton on the
  // distribution function. The cdf is concave for t > 0, so Newton steps from below never pass
  // the root, and a step from above lands below it.
  const double z = NormalQuantile(p), z2 = z * z;
  double t = z + z * (z2 + 1) / (4 * df) + z * ((5 * z2 + 16) * z2 + 3) / (96 * df * df);
  const double log_norm = std::lgamma(0.5 * (df + 1)) - std::lgamma(0.5 * df) - 0.5 * std::log(df * kPi);
  for (int i = 0; i < 60; ++i) {
    const double density = std::exp(log_norm - 0.5 * (df + 1) * std::log1p(t * t / df));
    double next = t - (StudentTCdf(t, df) - p) / density;
    if (!(next > 0)) next = 0.5 * t;
    const bool done = std::abs(next - t) <= 1e-13 * std::max(1.0, t);
    t = next;
    if (done) break;
  }
  return t;
}

void DecodeForecast(const NhitsConfig& c, const ScaleStats& stats, const float* raw, float* out) {
  if (!c.distribution_loss()) {
    const std::size_t n = static_cast<std::size_t>(c.h) * c.outputs_per_step();
    if (raw != out) std::copy(raw, raw + n, out);
    UnscaleForecast(c.scaler_type, stats, out, n);
    return;
  }
  const int P = c.network_outputs_per_step(), C = c.outputs_per_step();
  assert(raw != out && "DistributionLoss decodes P channels into C > P columns: raw and out must differ");
  // Quantile columns: the median, the lows ascending, the highs ascending, so the k-th widest
  // level owns columns 2 + k (its low) and 1 + 2 * levels - k (its high). No allocation: this
  // runs per request.
  std::array<double, kMaxLevels> levels{}, normal_u{};
  std::array<const QuantileSeries*, kMaxLevels> student_u{};
  const std::size_t n_levels = c.level.size();
  std::copy(c.level.begin(), c.level.end(), levels.begin());
  std::sort(levels.begin(), levels.begin() + static_cast<std::ptrdiff_t>(n_levels), std::greater<>());
  const bool student = c.distribution == DistributionType::kStudentT;
  for (std::size_t k = 0; k < n_levels; ++k) {
    if (student)
      student_u[k] = &StudentTQuantileSeries(levels[k]);
    else
      normal_u[k] = NormalQuantile(0.5 + levels[k] / 200.0);
  }
  for (int t = 0; t < c.h; ++t) {
    const DistributionParams p = DecoupleParams(c.distribution, raw + static_cast<std::size_t>(t) * P, 1,
                                                stats.shift, stats.scale);
    float* row = out + static_cast<std::size_t>(t) * C;
    row[0] = static_cast<float>(p.loc);  // the mean (the Student-t's exists: df > 3)
    row[1] = static_cast<float>(p.loc);  // the median of both symmetric distributions
    for (std::size_t k = 0; k < n_levels; ++k) {
      const double u = student ? (*student_u[k])(p.df) : normal_u[k];
      row[2 + k] = static_cast<float>(p.loc - p.scale * u);
      row[1 + 2 * n_levels - k] = static_cast<float>(p.loc + p.scale * u);
    }
    if (c.return_params) {
      float* params = row + 2 + 2 * n_levels;
      if (student) *params++ = static_cast<float>(p.df);
      params[0] = static_cast<float>(p.loc);
      params[1] = static_cast<float>(p.scale);
    }
  }
}

NhitsConfig QuantileDecodeConfig(const NhitsConfig& c) {
  NhitsConfig as = c;
  as.return_params = true;
  return as;
}

std::vector<std::string> QuantileColumnSuffixes(const NhitsConfig& c, const std::vector<double>& quantiles) {
  std::vector<std::string> suffixes{""};
  for (double q : SortedLevels(quantiles)) suffixes.push_back("_ql" + PythonFloatRepr(q));
  if (c.return_params)
    for (const std::string& p : c.distribution_param_names()) suffixes.push_back("-" + p);
  return suffixes;
}

Status ValidateQuantiles(const std::vector<double>& quantiles) {
  if (quantiles.empty()) return Status::InvalidArgument("no quantiles asked for");
  for (double q : quantiles)
    if (!(q >= kMinQuantile && q <= 1 - kMinQuantile))
      return Status::InvalidArgument("quantile " + PythonFloatRepr(q) + " is outside [1e-09, 1 - 1e-09]");
  const std::size_t n = SortedLevels(quantiles).size(), most = 2 * kMaxLevels + 1;
  if (n > most)
    return Status::InvalidArgument(std::to_string(n) + " distinct quantiles: at most " + std::to_string(most) +
                                   " per forecast");
  return Status::Ok();
}

void QuantileColumns(const NhitsConfig& c, const std::vector<double>& quantiles, const float* decoded,
                     std::size_t rows, float* out) {
  const NhitsConfig as = QuantileDecodeConfig(c);
  const std::vector<double> qs = SortedLevels(quantiles);
  const std::size_t C = static_cast<std::size_t>(as.outputs_per_step()),
                    P = static_cast<std::size_t>(c.distribution_param_count());
  const bool student = c.distribution == DistributionType::kStudentT;
  // Per quantile, what does not depend on the point: the Normal's z, or the Student-t's level
  // and side, so each point evaluates the level's fitted series (as decoding the trained levels
  // does) instead of solving for the quantile.
  std::vector<double> normal_z(qs.size()), level(qs.size()), side(qs.size());
  for (std::size_t k = 0; k < qs.size(); ++k) {
    normal_z[k] = NormalQuantile(qs[k]);
    level[k] = std::abs(2 * qs[k] - 1) * 100;
    side[k] = qs[k] < 0.5 ? -1.0 : 1.0;
  }
  for (std::size_t r = 0; r < rows; ++r) {
    const float* row = decoded + r * C;
    const DistributionParams p = ReturnedParams(as, row);
    *out++ = row[0];  // the mean
    for (std::size_t k = 0; k < qs.size(); ++k) {
      const double z = !student ? normal_z[k] : level[k] == 0 ? 0.0 : side[k] * StudentTQuantileForLevel(level[k], p.df);
      *out++ = static_cast<float>(p.loc + p.scale * z);
    }
    if (c.return_params) out = std::copy(row + C - P, row + C, out);
  }
}

}  // namespace nhits
