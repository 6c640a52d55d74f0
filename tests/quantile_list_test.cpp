// MQLoss / HuberMQLoss(quantiles=[...]): neuralforecast's column order and names, the point
// column, validation, the checkpoint round trip, the loss channel by channel against a float64
// pinball sum, and training that places each quantile where the noise puts it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>
#include <vector>

#include "nhits/loss.h"
#include "nhits/model.h"
#include "nhits/train.h"
#include "training_fixtures.h"

namespace nhits {
namespace {

NhitsConfig ListConfig(std::vector<double> qs) {
  NhitsConfig c;
  c.h = 4;
  c.input_size = 8;
  c.mlp_units = {{16, 16}, {16, 16}};
  c.loss = LossType::kMQLoss;
  c.quantile_list = std::move(qs);
  return c;
}

// neuralforecast's quantiles_to_outputs: the order given, f"-lo-{np.round(100 - 200 q, 2)}".
TEST(QuantileList, OrderNamesAndPointColumnFollowNeuralforecast) {
  NhitsConfig c = ListConfig({0.05, 0.01, 0.5, 0.75});
  ASSERT_TRUE(c.Validate().ok()) << c.Validate().ToString();
  EXPECT_EQ(c.outputs_per_step(), 4);
  EXPECT_EQ(c.quantiles(), (std::vector<double>{0.05, 0.01, 0.5, 0.75}));
  EXPECT_EQ(c.output_names(), (std::vector<std::string>{"-lo-90.0", "-lo-98.0", "-median", "-hi-50.0"}));
  EXPECT_EQ(c.point_column(), 2);
  // rounding to two decimals as numpy does; 1/3 -> 33.33, 0.975 -> 95.0, 0.001 -> 99.8
  c.quantile_list = {1.0 / 3, 0.975, 0.001, 0.9};
  EXPECT_EQ(c.output_names(), (std::vector<std::string>{"-lo-33.33", "-hi-95.0", "-lo-99.8", "-hi-80.0"}));
  EXPECT_EQ(c.point_column(), 0);  // no median: the nearest to it (1/3)
  c.quantile_list = {0.9, 0.1};
  EXPECT_EQ(c.point_column(), 0);  // as near: the first
  // the level layout is untouched
  NhitsConfig by_level = ListConfig({});
  by_level.level = {80};
  EXPECT_EQ(by_level.output_names(), (std::vector<std::string>{"-median", "-lo-80", "-hi-80"}));
  EXPECT_EQ(by_level.point_column(), 0);
  EXPECT_FALSE(by_level.has_quantile_list());
}

TEST(QuantileList, BadListsAreRefusedNamingTheField) {
  for (const auto& qs : std::vector<std::vector<double>>{{0.0, 0.5}, {0.5, 1.0}, {0.1, 0.1}, {-0.2}, {std::nan("")}}) {
    const Status st = ListConfig(qs).Validate();
    EXPECT_FALSE(st.ok());
    EXPECT_NE(st.message().find("field 'quantiles'"), std::string::npos) << st.message();
  }
  NhitsConfig mae = ListConfig({0.1, 0.9});
  mae.loss = LossType::kMAE;
  EXPECT_NE(mae.Validate().message().find("applies to MQLoss and HuberMQLoss"), std::string::npos);
  NhitsConfig dist = ListConfig({0.1, 0.9});
  dist.loss = LossType::kDistributionLoss;
  dist.level = {80};
  EXPECT_NE(dist.Validate().message().find("nhits predict --quantiles"), std::string::npos) << dist.Validate().message();
  NhitsConfig cubic = ListConfig({0.1, 0.9});
  cubic.interpolation_mode = InterpolationMode::kCubic;
  EXPECT_FALSE(cubic.Validate().ok());
}

TEST(QuantileList, ParseQuantilesKeepsTheOrderAndNamesBadItems) {
  const auto parsed = ParseQuantiles(" 0.05,0.01 , 0.5");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, (std::vector<double>{0.05, 0.01, 0.5}));
  for (const char* bad : {"", "0.1,", "0", "1", "1.5", "abc", "0.5x"}) {
    const auto r = ParseQuantiles(bad, "quantiles");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().message().rfind("--quantiles: ", 0), 0u) << r.status().message();
  }
  EXPECT_NE(ParseQuantiles("2").status().message().find("'2' is not a quantile in (0, 1)"), std::string::npos)
      << ParseQuantiles("2").status().message();
}

TEST(QuantileList, JsonAndCheckpointRoundTrip) {
  NhitsConfig c = ListConfig({0.9, 0.1, 0.5});
  c.loss = LossType::kHuberMQLoss;
  c.huber_delta = 0.5;
  const std::string json = ConfigToJson(c);
  EXPECT_NE(json.find("\"quantiles\":[0.9,0.1,0.5]"), std::string::npos) << json;
  EXPECT_EQ(json.find("\"level\""), std::string::npos) << json;
  const Result<NhitsConfig> back = ConfigFromJson(json, "test");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->quantile_list, c.quantile_list);
  EXPECT_TRUE(back->level.empty());  // no default levels beside a list
  EXPECT_EQ(back->output_names(), c.output_names());

  Model model(c);
  model.mutable_network().InitParams(3);
  const std::string path = (std::filesystem::temp_directory_path() / "nhits_quantile_list_test.safetensors").string();
  ASSERT_TRUE(SaveCheckpoint(path, model).ok());
  const Result<Model> loaded = LoadCheckpoint(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->config().quantile_list, c.quantile_list);
  std::vector<float> x(8), m(8, 1.0f), a(4 * 3), b(4 * 3);
  for (int t = 0; t < 8; ++t) x[t] = static_cast<float>(std::sin(t));
  model.PredictWindows(1, x.data(), m.data(), a.data());
  loaded->PredictWindows(1, x.data(), m.data(), b.data());
  EXPECT_EQ(a, b);
  std::filesystem::remove(path);
}

// Channel k is scored with quantile_list[k]: against a float64 pinball sum, and the same as the
// level layout with its channels permuted.
TEST(QuantileList, LossScoresEachChannelWithItsQuantile) {
  const NhitsConfig c = ListConfig({0.9, 0.1, 0.5});
  const double y[4] = {1.0, 2.0, 3.0, 4.0}, mask[4] = {1, 1, 1, 0};
  double yhat[12];
  std::mt19937 rng(5);
  std::normal_distribution<double> n(2.5, 1.5);
  for (double& v : yhat) v = n(rng);
  double want = 0;
  for (int j = 0; j < 3; ++j)
    for (int k = 0; k < 3; ++k) {
      const double q = c.quantile_list[static_cast<std::size_t>(k)], d = y[j] - yhat[j * 3 + k];
      want += std::max(q * d, (q - 1) * d);
    }
  want /= 9;  // neuralforecast: mean over the unmasked points and the quantiles
  EXPECT_NEAR(ComputeLoss<double>(c, 1, yhat, y, mask, nullptr), want, 1e-12);

  NhitsConfig by_level = ListConfig({});
  by_level.level = {80};  // channels 0.5, 0.1, 0.9
  double permuted[12];
  for (int j = 0; j < 4; ++j) {
    permuted[j * 3 + 0] = yhat[j * 3 + 2];
    permuted[j * 3 + 1] = yhat[j * 3 + 1];
    permuted[j * 3 + 2] = yhat[j * 3 + 0];
  }
  EXPECT_NEAR(ComputeLoss<double>(by_level, 1, permuted, y, mask, nullptr), want, 1e-12);
}

// Value-at-risk quantiles learned from noise of known spread: each column's exceedance rate on
// held-out windows lands near its quantile, in the order the list gave.
TEST(QuantileList, TrainingPlacesEachQuantile) {
  const double sd = 0.5;
  const Panel panel = testing::NoisySeasonalPanel(4, 600, sd, 21);
  NhitsConfig c = ListConfig({0.5, 0.05, 0.25, 0.9});
  c.h = 12;
  c.input_size = 24;
  c.mlp_units = {{64, 64}, {64, 64}};
  c.scaler_type = ScalerType::kStandard;
  Model model(c);
  const TrainOptions o = testing::ShortTrainOptions();
  const int held = 100;
  ASSERT_TRUE(Train(model, panel, o, held).ok());
  const int C = c.outputs_per_step(), L = c.input_size;
  std::vector<long> below(static_cast<std::size_t>(C), 0);
  long points = 0;
  std::vector<float> x(L), m(L, 1.0f), out(static_cast<std::size_t>(c.h * C));
  for (const Series& s : panel.series) {
    const int T = static_cast<int>(s.y.size());
    for (int end = T - held; end + c.h <= T; end += 2) {
      for (int t = 0; t < L; ++t) x[t] = static_cast<float>(s.y[end - L + t]);
      model.PredictWindows(1, x.data(), m.data(), out.data());
      for (int j = 0; j < c.h; ++j, ++points)
        for (int k = 0; k < C; ++k) below[static_cast<std::size_t>(k)] += s.y[end + j] <= out[j * C + k];
    }
  }
  for (int k = 0; k < C; ++k) {
    const double q = c.quantile_list[static_cast<std::size_t>(k)];
    const double rate = static_cast<double>(below[static_cast<std::size_t>(k)]) / static_cast<double>(points);
    EXPECT_NEAR(rate, q, 0.08) << "column " << k << " (quantile " << q << ")";
  }
}

}  // namespace
}  // namespace nhits
