// scaler_type "revin": the input is scaled with the plain standard statistics and the forecast
// scaled back with y's learned pair, shift + bias and scale * (relu(weight) + 1e-6), checked here
// against a float64 computation of the window's statistics; the checkpoint carries the pair as
// neuralforecast's scaler.revin_bias / scaler.revin_weight [1, 1, channels, 1].
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

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

TEST(Revin, PointLossTrainingLeavesTheParametersAndDistributionLossIsRefused) {
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
  c.loss = LossType::kDistributionLoss;
  c.level = {80};
  ASSERT_TRUE(c.Validate().ok());
  Model distribution(c);
  const Result<TrainReport> r = Train(distribution, panel, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("revin"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace nhits
