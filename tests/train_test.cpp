// Training: neuralforecast's window counts, determinism, and that NHITS learns AirPassengers
// better than the seasonal naive forecast.
#include <gtest/gtest.h>

#include <span>

#include "nhits/forecast.h"
#include "nhits/metrics.h"
#include "nhits/train.h"
#include "train/adam.h"
#include "train/windows.h"

namespace nhits {
namespace {

Panel AirPassengers() {
  Result<Panel> p = ReadLongCsv(NHITS_SOURCE_DIR "/data/air_passengers.csv");
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return *p;
}

TEST(Windows, CountsFollowNeuralforecast) {
  NhitsConfig c;
  c.h = 12;
  c.input_size = 24;
  TrainOptions o;
  // One series of 132 points: T - L windows without start padding.
  auto w = TrainingWindows(c, o, {132});
  EXPECT_EQ(w[0].size(), 132u - 24u);
  o.start_padding_enabled = true;
  EXPECT_EQ(TrainingWindows(c, o, {132})[0].size(), 132u - 1u);
  o.start_padding_enabled = false;
  o.step_size = 5;
  EXPECT_EQ(TrainingWindows(c, o, {132})[0].size(), 22u);  // starts 0,5,..,105
  // A short series padded to the longest keeps only windows touching its data.
  o.step_size = 1;
  auto mixed = TrainingWindows(c, o, {132, 30});
  EXPECT_EQ(mixed[1].size(), 30u - 1u);  // starts -23 .. 5: insample and outsample see data
  o.val_size = 24;
  EXPECT_EQ(ValidationWindows(c, o, {132}).size(), 13u);  // val_size - h + 1
}

TEST(LearningRate, StepLrHalvesEveryThirdOfTraining) {
  EXPECT_DOUBLE_EQ(LearningRateAt(1e-3, 332, 1000, 3), 1e-3);
  EXPECT_DOUBLE_EQ(LearningRateAt(1e-3, 333, 1000, 3), 5e-4);
  EXPECT_DOUBLE_EQ(LearningRateAt(1e-3, 999, 1000, 3), 1.25e-4);
  EXPECT_DOUBLE_EQ(LearningRateAt(1e-3, 999, 1000, 0), 1e-3);
}

NhitsConfig SmallAirConfig() {
  NhitsConfig c;
  c.h = 12;
  c.input_size = 24;
  c.mlp_units = {{64, 64}, {64, 64}};
  c.scaler_type = ScalerType::kRobust;
  return c;
}

TEST(Train, SameSeedGivesIdenticalWeightsAndOtherSeedDoesNot) {
  const Panel panel = AirPassengers();
  TrainOptions o;
  o.max_steps = 30;
  o.windows_batch_size = 64;
  o.verbose = false;
  o.num_threads = 1;
  Model a(SmallAirConfig()), b(SmallAirConfig()), c(SmallAirConfig());
  ASSERT_TRUE(Train(a, panel, o, 12).ok());
  ASSERT_TRUE(Train(b, panel, o, 12).ok());
  o.random_seed = 2;
  ASSERT_TRUE(Train(c, panel, o, 12).ok());
  EXPECT_EQ(a.network().params(), b.network().params());
  EXPECT_NE(a.network().params(), c.network().params());
}

TEST(Train, RejectsSeriesWithoutAUsableWindow) {
  Panel panel;
  panel.series.push_back({"short", {}, std::vector<double>(20, 1.0)});
  for (int i = 0; i < 20; ++i) panel.series[0].ds.push_back({i});
  Model m(SmallAirConfig());
  TrainOptions o;
  o.verbose = false;
  o.val_size = 12;
  Result<TrainReport> r = Train(m, panel, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no series has a usable training window"), std::string::npos);
}

TEST(Train, ValidationAndEarlyStoppingRun) {
  const Panel panel = AirPassengers();
  TrainOptions o;
  o.max_steps = 400;
  o.val_size = 12;
  o.val_check_steps = 10;
  o.early_stop_patience_steps = 2;
  o.learning_rate = 5e-2;  // large enough to stall validation quickly
  o.windows_batch_size = 32;
  o.verbose = false;
  Model m(SmallAirConfig());
  Result<TrainReport> r = Train(m, panel, o, 12);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->val_history.empty());
  EXPECT_EQ(r->val_history.front().first, 10);
  if (r->early_stopped) EXPECT_LT(r->steps, 400);
  EXPECT_GE(r->best_val_loss, 0.0);
}

// The acceptance check: h=12, input_size=24, 500 steps, robust scaler beats SeasonalNaive(12)
// on the last 12 months with the default architecture.
TEST(Train, AirPassengersBeatsSeasonalNaive) {
  const Panel panel = AirPassengers();
  NhitsConfig c;
  c.h = 12;
  c.input_size = 24;
  c.scaler_type = ScalerType::kRobust;
  TrainOptions o;
  o.max_steps = 500;
  o.windows_batch_size = 128;
  o.verbose = false;
  Model m(c);
  ASSERT_TRUE(Train(m, panel, o, 12).ok());
  const auto& y = panel.series[0].y;
  const int end = static_cast<int>(y.size()) - 12;
  const std::vector<float> fc = ForecastFrom(m, panel, {{0, end}});
  std::vector<double> point(fc.begin(), fc.end());
  const std::span<const double> history(y.data(), end), actual(y.data() + end, 12);
  MetricsAccumulator model_acc, snaive_acc;
  model_acc.Add(actual, point, history, 12);
  snaive_acc.Add(actual, SeasonalNaiveForecast(history, 12, 12), history, 12);
  const double ours = model_acc.Result().mae, snaive = snaive_acc.Result().mae;
  RecordProperty("nhits_mae", std::to_string(ours));
  std::printf("AirPassengers last-12 MAE: NHITS %.2f, SeasonalNaive(12) %.2f\n", ours, snaive);
  EXPECT_LT(ours, snaive);
}

}  // namespace
}  // namespace nhits
