// scaler_type "revin": the input is scaled with the plain standard statistics and the forecast
// scaled back with y's learned pair, shift + bias and scale * (relu(weight) + 1e-6), checked here
// against a float64 computation of the window's statistics; the checkpoint carries the pair as
// neuralforecast's scaler.revin_bias / scaler.revin_weight [1, 1, channels, 1].
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "nhits/loss.h"
#include "nhits/model.h"
#include "nhits/safetensors.h"
#include "nhits/train.h"
#include "training_fixtures.h"

namespace nhits {
namespace {

NhitsConfig RevinConfig() {
  NhitsConfig c;
  c.h = 4;
  c.input_size = 12;
  c.mlp_units = {{16, 16}, {16, 16}};
  c.scaler_type = ScalerType::kRevin;
  return c;
}

std::vector<float> Windows(int B, int L) {
  std::mt19937 rng(9);
  std::normal_distribution<float> n(0, 1);
  std::vector<float> x(static_cast<std::size_t>(B) * L);
  for (int b = 0; b < B; ++b)
    for (int t = 0; t < L; ++t) x[static_cast<std::size_t>(b) * L + t] = 20.0f + 5.0f * b + 3.0f * n(rng);
  return x;
}

TEST(Revin, ForecastIsTheStandardOneMovedByYsLearnedPair) {
  NhitsConfig standard = RevinConfig();
  standard.scaler_type = ScalerType::kStandard;
  Model plain(standard);
  plain.mutable_network().InitParams(4);
  const int B = 3, L = standard.input_size, H = standard.h;
  const std::vector<float> x = Windows(B, L), m(x.size(), 1.0f);
  std::vector<float> want(static_cast<std::size_t>(B) * H), got(want.size());
  plain.PredictWindows(B, x.data(), m.data(), want.data());
  for (const auto& [bias, weight] : {std::pair{0.25f, 0.7f}, std::pair{-0.1f, -0.3f}}) {
    NhitsConfig c = RevinConfig();
    c.revin_bias = {bias};
    c.revin_weight = {weight};
    ASSERT_TRUE(c.Validate().ok());
    Model revin(c);
    revin.mutable_network().params() = plain.network().params();
    revin.PredictWindows(B, x.data(), m.data(), got.data());
    for (int b = 0; b < B; ++b) {
      double mean = 0, sq = 0;
      for (int t = 0; t < L; ++t) mean += x[static_cast<std::size_t>(b) * L + t];
      mean /= L;
      for (int t = 0; t < L; ++t) sq += std::pow(x[static_cast<std::size_t>(b) * L + t] - mean, 2);
      const double scale = std::sqrt(sq / L) + 1e-6;
      for (int j = 0; j < H; ++j) {
        const std::size_t i = static_cast<std::size_t>(b) * H + j;
        const double z = (want[i] - mean) / scale;  // the network's output, in the scaled space
        const double expected = z * scale * (std::max(static_cast<double>(weight), 0.0) + 1e-6) + mean + bias;
        EXPECT_NEAR(got[i], expected, 1e-4 * (1 + std::abs(expected))) << "weight " << weight << " window " << b;
      }
    }
  }
}

TEST(Revin, CheckpointKeepsTheParametersUnderNeuralforecastsNames) {
  NhitsConfig c = RevinConfig();
  c.hist_exog_list = {"volume"};
  c.revin_bias = {0.5f, -1.0f};
  c.revin_weight = {1.5f, 2.0f};
  ASSERT_TRUE(c.Validate().ok()) << c.Validate().ToString();
  Model model(c);
  model.mutable_network().InitParams(2);
  const std::string path = ::testing::TempDir() + "/revin.safetensors";
  ASSERT_TRUE(SaveCheckpoint(path, model).ok());
  Result<SafetensorsFile> file = ReadSafetensors(path);
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE(file->tensors.count("scaler.revin_bias"));
  EXPECT_EQ(file->tensors.at("scaler.revin_bias").shape, (std::vector<std::int64_t>{1, 1, 2, 1}));
  EXPECT_EQ(file->tensors.at("scaler.revin_weight").data, (std::vector<float>{1.5f, 2.0f}));
  Result<Model> back = LoadCheckpoint(path);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->config().revin_bias, c.revin_bias);
  EXPECT_EQ(back->config().revin_weight, c.revin_weight);

  // A wrong shape, a missing tensor, and revin tensors beside another scaler are refused by name.
  SafetensorsFile bad = *file;
  bad.tensors["scaler.revin_bias"].shape = {1, 1, 1, 1};
  bad.tensors["scaler.revin_bias"].data = {0.5f};
  ASSERT_TRUE(WriteSafetensors(path, bad).ok());
  Result<Model> r = LoadCheckpoint(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("'scaler.revin_bias' has shape [1, 1, 1, 1], expected [1, 1, 2, 1]"),
            std::string::npos)
      << r.status().message();
  bad = *file;
  bad.tensors.erase("scaler.revin_weight");
  ASSERT_TRUE(WriteSafetensors(path, bad).ok());
  r = LoadCheckpoint(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("missing tensor 'scaler.revin_weight'"), std::string::npos) << r.status().message();
  NhitsConfig other = c;
  other.scaler_type = ScalerType::kStandard;
  other.revin_bias.clear();
  other.revin_weight.clear();
  bad = *file;
  bad.metadata["nhits_config"] = ConfigToJson(other);
  ASSERT_TRUE(WriteSafetensors(path, bad).ok());
  r = LoadCheckpoint(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("belongs to scaler_type 'revin'"), std::string::npos) << r.status().message();
}

// The likelihood of the original y, as neuralforecast's DistributionLoss scores it with the
// window's standard statistics moved by y's pair, written out in float64 from the definition
// (scale_decouple, then the density): loc = raw_loc * s' + shift', sd = (softplus(raw_sd) + eps) * s', eps 0.2 for
// the Normal and 0.1 for the Student-t (normal_/student_scale_decouple).
double OriginalScaleNll(const NhitsConfig& c, int B, const std::vector<double>& raw, const std::vector<double>& y,
                        const std::vector<double>& mask, const std::vector<double>& shift,
                        const std::vector<double>& scale, double bias, double weight) {
  const int H = c.h, P = c.network_outputs_per_step();
  double sum = 0, count = 0;
  for (int b = 0; b < B; ++b) {
    const double s = scale[b] * (std::max(weight, 0.0) + 1e-6), m0 = shift[b] + bias;
    for (int t = 0; t < H; ++t) {
      const std::size_t i = static_cast<std::size_t>(b) * H + t;
      if (mask[i] == 0) continue;
      const double* r = &raw[i * P];
      double nll;
      if (c.distribution == DistributionType::kNormal) {
        const double sd = (std::log1p(std::exp(r[1])) + 0.2) * s, z = (y[i] - (r[0] * s + m0)) / sd;
        nll = std::log(sd) + 0.5 * std::log(2 * M_PI) + 0.5 * z * z;
      } else {
        const double df = 3 + std::log1p(std::exp(r[0])), sd = (std::log1p(std::exp(r[2])) + 0.1) * s;
        const double z = (y[i] - (r[1] * s + m0)) / sd;
        nll = std::log(sd) - (std::lgamma(0.5 * (df + 1)) - std::lgamma(0.5 * df) - 0.5 * std::log(df * M_PI) -
                              0.5 * (df + 1) * std::log1p(z * z / df));
      }
      sum += nll * mask[i];
      count += mask[i];
    }
  }
  return sum / count;
}

TEST(Revin, DistributionGradientOfThePairMatchesFiniteDifferences) {
  for (const DistributionType d : {DistributionType::kNormal, DistributionType::kStudentT}) {
    NhitsConfig c = RevinConfig();
    c.loss = LossType::kDistributionLoss;
    c.distribution = d;
    c.level = {80};
    ASSERT_TRUE(c.Validate().ok());
    const int B = 3, H = c.h, P = c.network_outputs_per_step();
    std::mt19937 rng(17);
    std::normal_distribution<double> n(0, 1);
    std::vector<double> raw(static_cast<std::size_t>(B) * H * P), y(static_cast<std::size_t>(B) * H),
        mask(y.size(), 1.0), shift = {10.0, -3.0, 0.5}, scale = {2.0, 0.7, 5.0};
    for (double& r : raw) r = 0.5 * n(rng);
    for (std::size_t i = 0; i < y.size(); ++i) y[i] = shift[i / H] + scale[i / H] * (0.3 + n(rng));
    mask[2] = 0;  // a missing point counts neither in the likelihood nor in the log-scale term
    for (const auto& [bias, weight] : {std::pair{0.0, 1.0}, std::pair{0.25, 0.625}, std::pair{-0.125, 1.75}}) {  // exact in float
      c.revin_bias = {static_cast<float>(bias)};
      c.revin_weight = {static_cast<float>(weight)};
      // What the trainer hands ComputeLoss: y' and log s' with the moved statistics.
      std::vector<double> y_scaled(y.size()), log_scale(B), d_raw(raw.size());
      for (int b = 0; b < B; ++b) {
        const ScaleStats st = RevinAdjusted(c, ScaleStats{shift[b], scale[b]});
        for (int t = 0; t < H; ++t) y_scaled[b * H + t] = (y[b * H + t] - st.shift) / st.scale;
        log_scale[b] = std::log(st.scale);
      }
      const double loss = ComputeLoss<double>(c, B, raw.data(), y_scaled.data(), mask.data(), d_raw.data(),
                                              log_scale.data());
      ASSERT_NEAR(loss, OriginalScaleNll(c, B, raw, y, mask, shift, scale, bias, weight), 1e-9);
      const RevinGradient g =
          DistributionRevinGradient<double>(c, B, d_raw.data(), y_scaled.data(), mask.data(), log_scale.data());
      const double e = 1e-6;
      const double fd_bias = (OriginalScaleNll(c, B, raw, y, mask, shift, scale, bias + e, weight) -
                              OriginalScaleNll(c, B, raw, y, mask, shift, scale, bias - e, weight)) / (2 * e);
      const double fd_weight = (OriginalScaleNll(c, B, raw, y, mask, shift, scale, bias, weight + e) -
                                OriginalScaleNll(c, B, raw, y, mask, shift, scale, bias, weight - e)) / (2 * e);
      EXPECT_NEAR(g.bias, fd_bias, 1e-6 * (1 + std::abs(fd_bias))) << ToString(d) << " bias " << bias;
      EXPECT_NEAR(g.weight, fd_weight, 1e-6 * (1 + std::abs(fd_weight))) << ToString(d) << " weight " << weight;
      EXPECT_GT(std::abs(g.bias) + std::abs(g.weight), 1e-3);  // the check above is not 0 == 0
    }
    // relu: no gradient reaches a non-positive weight (PyTorch's relu' is 0 at 0 too)
    c.revin_weight = {-0.5f};
    std::vector<double> y_scaled(y.size(), 0.1), log_scale(B, 0.0), d_raw(raw.size());
    ComputeLoss<double>(c, B, raw.data(), y_scaled.data(), mask.data(), d_raw.data(), log_scale.data());
    EXPECT_EQ(DistributionRevinGradient<double>(c, B, d_raw.data(), y_scaled.data(), mask.data(), log_scale.data()).weight,
              0.0);
  }
}

TEST(Revin, DistributionTrainingLearnsTheScaleOfTheNoise) {
  // Windows whose own spread says little about the noise of the next h points: y's pair is what
  // lets the distribution's scale follow the data, and training must move it.
  const Panel panel = testing::NoisySeasonalPanel(3, 120, 0.8, 5);
  TrainOptions o = testing::ShortTrainOptions();
  o.max_steps = 150;
  NhitsConfig c = RevinConfig();
  c.loss = LossType::kDistributionLoss;
  c.distribution = DistributionType::kNormal;
  c.level = {80};
  ASSERT_TRUE(c.Validate().ok());
  Model model(c);
  const Result<TrainReport> r = Train(model, panel, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(model.config().revin_bias.size(), 1u);
  EXPECT_GT(std::abs(model.config().revin_bias[0]) + std::abs(model.config().revin_weight[0] - 1.0f), 1e-3)
      << "the pair did not move from neuralforecast's initial 0 and 1";
  // The learned pair survives the checkpoint, and a fresh fit (no warm start) starts again at 0 / 1:
  // retraining from the learned pair with the same seed gives the same model as the first fit.
  const std::string path = ::testing::TempDir() + "/revin_distribution.safetensors";
  ASSERT_TRUE(SaveCheckpoint(path, model).ok());
  Result<Model> back = LoadCheckpoint(path);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->config().revin_bias, model.config().revin_bias);
  EXPECT_EQ(back->config().revin_weight, model.config().revin_weight);
  ASSERT_TRUE(Train(*back, panel, o).ok());
  EXPECT_EQ(back->config().revin_bias, model.config().revin_bias);
  EXPECT_EQ(back->network().params(), model.network().params());
}

TEST(Revin, PointLossTrainingLeavesTheParameters) {
  const Panel panel = testing::NoisySeasonalPanel(3, 80, 0.3, 5);
  TrainOptions o = testing::ShortTrainOptions();
  o.max_steps = 50;
  NhitsConfig c = RevinConfig();
  Model model(c);
  ASSERT_TRUE(Train(model, panel, o).ok());
  const std::string path = ::testing::TempDir() + "/revin_trained.safetensors";
  ASSERT_TRUE(SaveCheckpoint(path, model).ok());
  Result<Model> back = LoadCheckpoint(path);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  // as in neuralforecast, where no gradient reaches them from a loss in the scaled space
  EXPECT_EQ(back->config().revin_bias, std::vector<float>{0.0f});
  EXPECT_EQ(back->config().revin_weight, std::vector<float>{1.0f});
}

}  // namespace
}  // namespace nhits
