// Interpolation, scaler and output-naming semantics against independent formulas, and the
// Network forward against a direct float64 re-implementation of neuralforecast's NHITS.forward.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "model/layers.h"
#include "nhits/model.h"
#include "nhits/scaler.h"

namespace nhits {
namespace {

std::vector<double> Interpolate(InterpolationMode mode, const std::vector<double>& knots, int h) {
  const InterpolationTaps t = layers::MakeInterpolationTaps(mode, static_cast<int>(knots.size()), h);
  std::vector<double> out(h, 0.0);
  for (int j = 0; j < h; ++j)
    for (int k = 0; k < t.taps; ++k) out[j] += t.weight[j * t.taps + k] * knots[t.index[j * t.taps + k]];
  return out;
}

TEST(Interpolation, LinearIsAlignCornersFalse) {
  // F.interpolate([0, 10], size=4, mode="linear"): src = 0.5*(j+0.5)-0.5 clamped at 0.
  const auto out = Interpolate(InterpolationMode::kLinear, {0.0, 10.0}, 4);
  EXPECT_NEAR(out[0], 0.0, 1e-6);
  EXPECT_NEAR(out[1], 2.5, 1e-6);
  EXPECT_NEAR(out[2], 7.5, 1e-6);
  EXPECT_NEAR(out[3], 10.0, 1e-6);
}

TEST(Interpolation, IdentityWhenKnotsEqualHorizonAndConstantForOneKnot) {
  const std::vector<double> k{1, -2, 3, 7, 5};
  for (auto mode : {InterpolationMode::kLinear, InterpolationMode::kNearest, InterpolationMode::kCubic}) {
    const auto out = Interpolate(mode, k, 5);
    for (int j = 0; j < 5; ++j) EXPECT_NEAR(out[j], k[j], 1e-6) << ToString(mode);
    const auto flat = Interpolate(mode, {4.5}, 7);
    for (double v : flat) EXPECT_NEAR(v, 4.5, 1e-5) << ToString(mode);
  }
}

TEST(Interpolation, NearestIsLegacyFloor) {
  const auto out = Interpolate(InterpolationMode::kNearest, {1, 2, 3}, 7);  // floor(j*3/7)
  const double expect[7] = {1, 1, 1, 2, 2, 3, 3};
  for (int j = 0; j < 7; ++j) EXPECT_DOUBLE_EQ(out[j], expect[j]);
}

TEST(Interpolation, CubicIsKeysWithClampedTaps) {
  // Independent evaluation of 1-D Keys cubic convolution (A = -0.75, align_corners=False).
  const std::vector<double> k{0.0, 1.0, 4.0, 9.0};
  const int h = 10;
  const auto out = Interpolate(InterpolationMode::kCubic, k, h);
  auto w = [](double x) {
    const double a = -0.75;
    x = std::abs(x);
    if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
    if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
    return 0.0;
  };
  for (int j = 0; j < h; ++j) {
    const double src = 0.4 * (j + 0.5) - 0.5;
    const int i0 = static_cast<int>(std::floor(src));
    double v = 0;
    for (int t = i0 - 1; t <= i0 + 2; ++t) v += w(src - t) * k[std::clamp(t, 0, 3)];
    EXPECT_NEAR(out[j], v, 1e-6 * 10) << j;  // taps are float32, as in PyTorch
  }
}

TEST(Scaler, RobustUsesLowerMedianAndMadFallback) {
  const float x[4] = {1, 2, 10, 20}, m[4] = {1, 1, 1, 1};
  ScaleStats s = ComputeScaleStats(ScalerType::kRobust, x, m, 4);
  EXPECT_DOUBLE_EQ(s.shift, 2.0);  // lower median of 1,2,10,20
  // |x - 2| = 1,0,8,18 -> lower median 1
  EXPECT_NEAR(s.scale, 1.0 + 1e-6, 1e-12);
  const float flat[3] = {5, 5, 5}, fm[3] = {1, 1, 1};
  s = ComputeScaleStats(ScalerType::kRobust, flat, fm, 3);
  EXPECT_NEAR(s.scale, 1.0 + 1e-6, 1e-12);  // MAD 0, std 0 -> 1
}

TEST(Scaler, MaskedPointsAreIgnoredAndInversesRoundTrip) {
  const float x[5] = {0, 0, 3, 5, 10}, m[5] = {0, 0, 1, 1, 1};
  for (ScalerType t : {ScalerType::kStandard, ScalerType::kRobust, ScalerType::kMinMax, ScalerType::kMinMax1,
                       ScalerType::kInvariant}) {
    const ScaleStats s = ComputeScaleStats(t, x, m, 5);
    for (double v : {-3.0, 0.0, 4.0, 12.5}) EXPECT_NEAR(UnscaleValue(t, s, ScaleValue(t, s, v)), v, 1e-9) << ToString(t);
  }
  const ScaleStats st = ComputeScaleStats(ScalerType::kStandard, x, m, 5);
  EXPECT_NEAR(st.shift, 6.0, 1e-12);
  EXPECT_NEAR(st.scale, std::sqrt((9.0 + 1.0 + 16.0) / 3.0) + 1e-6, 1e-9);
  const ScaleStats mm = ComputeScaleStats(ScalerType::kMinMax1, x, m, 5);
  EXPECT_NEAR(ScaleValue(ScalerType::kMinMax1, mm, 3.0), -1.0, 1e-6);
  EXPECT_NEAR(ScaleValue(ScalerType::kMinMax1, mm, 10.0), 1.0, 1e-6);
}

TEST(Config, QuantilesAndNamesFollowNeuralforecast) {
  NhitsConfig c;
  c.h = 3;
  c.input_size = 6;
  c.loss = LossType::kMQLoss;
  c.level = {80, 90};
  const std::vector<double> q = c.quantiles();
  const std::vector<double> expect{0.5, 0.05, 0.10, 0.90, 0.95};
  ASSERT_EQ(q.size(), expect.size());
  for (std::size_t i = 0; i < q.size(); ++i) EXPECT_NEAR(q[i], expect[i], 1e-12);
  EXPECT_EQ(c.output_names(), (std::vector<std::string>{"-median", "-lo-90", "-lo-80", "-hi-80", "-hi-90"}));
}

TEST(Config, DefaultModelHasTheReferenceParameterCount) {
  NhitsConfig c;
  c.h = 24;
  c.input_size = 168;
  Model model(c);
  EXPECT_EQ(model.ParameterCount(), 2817570);  // NHITS_REFERENCE.md section 2.1
  const auto idx = LinearLayerIndices(c);
  EXPECT_EQ(idx, (std::vector<int>{0, 1, 3, 5, 7}));
  c.dropout_prob_theta = 0.1;
  EXPECT_EQ(LinearLayerIndices(c), (std::vector<int>{0, 1, 4, 7, 10}));
}

// neuralforecast's NHITS: in_features = Lp + X*Lp + F*Fp + S with Fp = ceil((L + h) / k); the
// exogenous lists survive the checkpoint JSON; a column in two lists is refused (#685).
TEST(Config, ExogenousInputsWidenTheFirstLayerAndRoundTrip) {
  NhitsConfig c;
  c.h = 12;
  c.input_size = 23;
  c.n_pool_kernel_size = {5, 3, 1};
  c.hist_exog_list = {"volume", "spread"};
  c.futr_exog_list = {"promo"};
  c.stat_exog_list = {"size", "sector", "beta"};
  ASSERT_TRUE(c.Validate().ok());
  const ParamLayout layout = MakeParamLayout(c);
  // k=5: Lp 5, Fp 7; k=3: Lp 8, Fp 12; k=1: Lp 23, Fp 35.
  EXPECT_EQ(layout.blocks[0].layers[0].in, 5 + 2 * 5 + 7 + 3);
  EXPECT_EQ(layout.blocks[1].layers[0].in, 8 + 2 * 8 + 12 + 3);
  EXPECT_EQ(layout.blocks[2].layers[0].in, 23 + 2 * 23 + 35 + 3);
  Result<NhitsConfig> back = ConfigFromJson(ConfigToJson(c), "test");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->hist_exog_list, c.hist_exog_list);
  EXPECT_EQ(back->futr_exog_list, c.futr_exog_list);
  EXPECT_EQ(back->stat_exog_list, c.stat_exog_list);
  EXPECT_EQ(ConfigToJson(NhitsConfig{}).find("exog"), std::string::npos);  // absent when unused
  EXPECT_FALSE(back->exclude_insample_y);
  c.exclude_insample_y = true;
  back = ConfigFromJson(ConfigToJson(c), "test");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(back->exclude_insample_y);
  NhitsConfig twice = c;
  twice.futr_exog_list = {"volume"};
  const Status st = twice.Validate();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("field 'hist_exog_list': column 'volume' is already in futr_exog_list"), std::string::npos) << st.message();
  NhitsConfig reserved = c;
  reserved.stat_exog_list = {"y"};
  EXPECT_FALSE(reserved.Validate().ok());
}

TEST(Config, RejectsBadArguments) {
  NhitsConfig c;
  c.h = 0;
  c.input_size = 5;
  EXPECT_NE(c.Validate().message().find("'h'"), std::string::npos);
  c.h = 3;
  c.n_pool_kernel_size = {2, 2};
  EXPECT_NE(c.Validate().message().find("mismatched"), std::string::npos);
  EXPECT_FALSE(ParseActivation("GELU").ok());
  EXPECT_NE(ParseScalerType("zscore").status().message().find("robust"), std::string::npos);
  // The size guard counts the outputs per step and the exogenous columns: 199 quantiles over
  // h = 1e6 make a 3e11-parameter output layer that h and L alone would not reveal (1.5e9).
  NhitsConfig wide;
  wide.h = 1'000'000;
  wide.input_size = 1;
  wide.n_pool_kernel_size = {1, 1, 1};
  wide.n_freq_downsample = {1, 1, 1};
  wide.mlp_units = {{512, 512}};
  EXPECT_TRUE(wide.Validate().ok()) << wide.Validate().message();
  wide.loss = LossType::kMQLoss;
  for (int i = 1; i < 200; ++i) wide.quantile_list.push_back(i / 200.0);
  EXPECT_NE(wide.Validate().message().find("too large"), std::string::npos) << wide.Validate().message();
  NhitsConfig many;
  many.h = 4;
  many.input_size = 8;
  for (int i = 0; i < 400'000; ++i) many.futr_exog_list.push_back("x" + std::to_string(i));  // 7e9 first-layer weights
  EXPECT_NE(many.Validate().message().find("too large"), std::string::npos) << many.Validate().message();
}

// A direct float64 re-implementation of NHITS.forward for one window (no shared code paths
// with Network beyond the interpolation taps, which have their own tests above).
std::vector<double> ReferenceForward(const Network<double>& net, const std::vector<double>& x,
                                     const std::vector<double>& mask) {
  const NhitsConfig& c = net.config();
  const int L = c.input_size, H = c.h;
  const auto& p = net.params();
  std::vector<double> r(L), m(L), f(H, x[L - 1]);
  for (int t = 0; t < L; ++t) r[t] = x[L - 1 - t], m[t] = mask[L - 1 - t];
  for (const BlockLayout& b : net.layout().blocks) {
    std::vector<double> z;
    for (int s = 0; s < L; s += b.pool_kernel) {
      double v = -1e300;
      for (int t = s; t < std::min(s + b.pool_kernel, L); ++t) v = std::max(v, r[t]);
      z.push_back(v);
    }
    for (std::size_t li = 0; li < b.layers.size(); ++li) {
      const LinearSlot& l = b.layers[li];
      std::vector<double> o(l.out);
      for (int i = 0; i < l.out; ++i) {
        double s = p[l.bias + i];
        for (int j = 0; j < l.in; ++j) s += p[l.weight + i * l.in + j] * z[j];
        o[i] = (li > 0 && li + 1 < b.layers.size()) ? std::max(s, 0.0) : s;
      }
      z = o;
    }
    for (int t = 0; t < L; ++t) r[t] = (r[t] - z[t]) * m[t];
    const std::vector<double> knots(z.begin() + L, z.end());
    const auto up = Interpolate(c.interpolation_mode, knots, H);
    for (int j = 0; j < H; ++j) f[j] += up[j];
  }
  return f;
}

TEST(NetworkForward, MatchesDirectReferenceImplementation) {
  NhitsConfig c;
  c.h = 7;
  c.input_size = 13;
  c.mlp_units = {{9, 8}, {8, 8}};
  c.n_pool_kernel_size = {4, 2, 1};
  c.n_freq_downsample = {3, 2, 1};
  Network<double> net(c);
  net.InitParams(9);
  std::mt19937_64 rng(1);
  std::normal_distribution<double> n(0, 1);
  const int B = 3;
  std::vector<double> x(B * 13), m(B * 13, 1.0), f(B * 7);
  for (auto& v : x) v = n(rng);
  for (int t = 0; t < 4; ++t) x[13 + t] = 0, m[13 + t] = 0;
  Workspace<double> ws;
  net.Forward(B, x.data(), m.data(), f.data(), ws, false, nullptr);
  for (int b = 0; b < B; ++b) {
    const auto ref = ReferenceForward(net, std::vector<double>(x.begin() + b * 13, x.begin() + (b + 1) * 13),
                                      std::vector<double>(m.begin() + b * 13, m.begin() + (b + 1) * 13));
    for (int j = 0; j < 7; ++j) EXPECT_NEAR(f[b * 7 + j], ref[j], 1e-10);
  }
}

}  // namespace
}  // namespace nhits
