// Training: neuralforecast's window counts, determinism, and that NHITS learns AirPassengers
// better than the seasonal naive forecast.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
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
  // A series of 20 points, shorter than val_size 24: its 13 windows (first target at -4 .. 8),
  // the first 4 partly before the series, as neuralforecast's left-padded validation batch has
  // them (only the 9 from 0 were kept).
  const std::vector<WindowRef> short_val = ValidationWindows(c, o, {132, 20});
  EXPECT_EQ(short_val.size(), 13u + 13u);
  EXPECT_EQ(short_val[13].start, -4 - 24);
}

// neuralforecast's training_data_availability_threshold: max(1, int(L * f_in)) observed inputs and
// max(1, int(h * f_out)) observed targets, padding and available_mask 0 counting as not observed.
TEST(Windows, AvailabilityThresholdCountsObservedPoints) {
  NhitsConfig c;
  c.h = 12;
  c.input_size = 24;
  TrainOptions o;
  o.min_outsample_fraction = 1.0;  // whole horizons only: starts 0 .. 132 - 36
  EXPECT_EQ(TrainingWindows(c, o, {132})[0].size(), 97u);
  o.min_outsample_fraction = 0.5;  // 6 targets: starts 0 .. 132 - 24 - 6
  EXPECT_EQ(TrainingWindows(c, o, {132})[0].size(), 103u);
  o.min_outsample_fraction = 0.0;
  o.start_padding_enabled = true;
  o.min_insample_fraction = 0.5;  // 12 inputs: starts -12 .. 107 instead of -23 .. 107
  auto padded = TrainingWindows(c, o, {132});
  EXPECT_EQ(padded[0].size(), 120u);
  EXPECT_EQ(padded[0].front().start, -12);
  o.min_insample_fraction = 0.05;  // int(24 * 0.05) = 1: the default's one point
  EXPECT_EQ(TrainingWindows(c, o, {132})[0].size(), 131u);
  // Missing points: a series of 40 with points 10 .. 29 masked, L 4, h 2.
  Panel p;
  Series s;
  for (int t = 0; t < 40; ++t) {
    s.ds.push_back({t});
    s.y.push_back(t);
    s.available.push_back(t >= 10 && t < 30 ? 0 : 1);
  }
  p.series.push_back(s);
  c.h = 2;
  c.input_size = 4;
  o = TrainOptions{};
  o.min_insample_fraction = 1.0;
  std::vector<int> starts;
  const auto kept = TrainingWindows(c, o, {40}, &p);
  for (const WindowRef& w : kept[0]) starts.push_back(w.start);
  // Before the gap: inputs 0..9 observed -> starts 0..6, targets need one observed (start + 4 <= 9).
  // After: starts 30 .. 35 (targets from 34; start 35's second target is padding).
  EXPECT_EQ(starts, (std::vector<int>{0, 1, 2, 3, 4, 5, 30, 31, 32, 33, 34, 35}));
  // One observed input and one observed target: starts 0 .. 5 and 27 .. 35 (6 .. 24 see no
  // observed target, 10 .. 26 no observed input, 36 only padding as targets).
  o.min_insample_fraction = 0.0;
  EXPECT_EQ(TrainingWindows(c, o, {40}, &p)[0].size(), 15u);
  // GatherWindows keeps a missing point's value but masks it.
  WindowBatch b;
  GatherWindows(p, {{0, 8}}, {40}, 4, 2, &b);
  EXPECT_EQ(b.insample, (std::vector<float>{8, 9, 10, 11}));
  EXPECT_EQ(b.insample_mask, (std::vector<float>{1, 1, 0, 0}));
  EXPECT_EQ(b.outsample_mask, (std::vector<float>{0, 0}));
}

// neuralforecast's sample_weight: a window's outsample mask times the mean weight of its h target
// steps, steps past the usable data counting 0 (its padding).
TEST(Windows, SampleWeightScalesTheOutsampleMaskByTheWindowMean) {
  Panel p;
  Series s;
  s.unique_id = "a";
  for (int t = 0; t < 8; ++t) {
    s.ds.push_back(Timestamp{t});
    s.y.push_back(t);
    s.sample_weight.push_back(t < 4 ? 0.0 : 0.5 * t);  // 0 0 0 0 2 2.5 3 3.5
  }
  p.series.push_back(s);
  WindowBatch b;
  // L 2, h 3: start 1 -> targets at 3, 4, 5 (weights 0, 2, 2.5); start 5 -> 7 (3.5), then past
  // the limit of 8 points: 3.5 / 3, over the two masked-out steps as zeros.
  GatherWindows(p, {{0, 1}, {0, 5}}, {8}, 2, 3, &b);
  const float w1 = 4.5f / 3, w2 = 3.5f / 3;
  EXPECT_EQ(b.outsample_mask, (std::vector<float>{w1, w1, w1, w2, 0, 0}));
  p.series[0].sample_weight.clear();  // no column: every window weighs 1
  GatherWindows(p, {{0, 1}}, {8}, 2, 3, &b);
  EXPECT_EQ(b.outsample_mask, (std::vector<float>{1, 1, 1}));
}

// A small network and a short single-threaded run, for tests that compare trained weights.
NhitsConfig TinyConfig() {
  NhitsConfig c;
  c.h = 4;
  c.input_size = 8;
  c.mlp_units = {{16, 16}};
  return c;
}
TrainOptions QuickOptions() {
  TrainOptions o;
  o.max_steps = 40;
  o.windows_batch_size = 32;
  o.verbose = false;
  o.num_threads = 1;
  return o;
}
std::vector<float> TrainedParams(const NhitsConfig& c, const TrainOptions& o, const Panel& p) {
  Model m(c);
  EXPECT_TRUE(Train(m, p, o).ok());
  return m.network().params();
}

// A series whose every weight is 0 adds nothing to any gradient: replacing its values entirely
// leaves the trained weights bit for bit the same, while with weight 1 it changes them.
TEST(Train, ZeroSampleWeightSeriesDoesNotMoveTheModel) {
  NhitsConfig c = TinyConfig();
  TrainOptions o = QuickOptions();
  auto panel_with = [](double scale, double weight) {
    Panel p;
    for (int s = 0; s < 2; ++s) {
      Series one;
      one.unique_id = s == 0 ? "kept" : "weighed";
      for (int t = 0; t < 60; ++t) {
        one.ds.push_back({t});
        one.y.push_back(s == 0 ? 10 + std::sin(t / 3.0) : scale * std::cos(t / 5.0) + t);
        one.sample_weight.push_back(s == 0 ? 1.0 : weight);
      }
      p.series.push_back(one);
    }
    return p;
  };
  auto trained = [&](const Panel& p) { return TrainedParams(c, o, p); };
  const auto zero_a = trained(panel_with(1.0, 0.0)), zero_b = trained(panel_with(-50.0, 0.0));
  EXPECT_EQ(zero_a, zero_b);
  EXPECT_NE(trained(panel_with(1.0, 1.0)), trained(panel_with(-50.0, 1.0)));
}

// A target the available_mask marks missing adds nothing to the loss: the last point of a series
// is only ever a target, so with it masked its value cannot move the model; observed, it does.
TEST(Train, MaskedTargetsDoNotMoveTheModel) {
  NhitsConfig c = TinyConfig();
  TrainOptions o = QuickOptions();
  auto panel_with = [](double last, bool masked) {
    Panel p;
    Series one;
    one.unique_id = "a";
    for (int t = 0; t < 60; ++t) {
      one.ds.push_back({t});
      one.y.push_back(t == 59 ? last : 10 + std::sin(t / 3.0));
      one.available.push_back(masked && t == 59 ? 0 : 1);
    }
    p.series.push_back(one);
    return p;
  };
  auto trained = [&](const Panel& p) { return TrainedParams(c, o, p); };
  EXPECT_EQ(trained(panel_with(10.0, true)), trained(panel_with(-500.0, true)));
  EXPECT_NE(trained(panel_with(10.0, false)), trained(panel_with(-500.0, false)));
  // A threshold no window meets fails naming it.
  o.min_outsample_fraction = 1.0;
  c.h = 80;
  c.input_size = 8;
  Model m(c);
  const Result<TrainReport> none = Train(m, panel_with(1.0, true), o);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("training_data_availability_threshold"), std::string::npos)
      << none.status().message();
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

// neuralforecast's val_monitor="train_loss": early stopping compares the training loss of the step
// each check follows (checked here on every step, where the report's train_loss is that step's),
// by Lightning's rule: patience checks in a row without a strictly lower value stop the run.
TEST(Train, EarlyStoppingCanWatchTheTrainingLoss) {
  const Panel panel = AirPassengers();
  TrainOptions o = QuickOptions();
  o.max_steps = 300;
  o.val_size = 12;
  o.val_check_steps = 1;
  o.early_stop_patience_steps = 3;
  o.learning_rate = 1e-2;
  o.monitor_train_loss = true;
  Model m(SmallAirConfig());
  const Result<TrainReport> r = Train(m, panel, o, 12);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->monitored_history.size(), r->val_history.size());
  ASSERT_TRUE(r->early_stopped) << "300 noisy steps of 32 windows never went 3 steps without a new low";
  EXPECT_EQ(r->monitored_history.back().first, r->steps);
  EXPECT_DOUBLE_EQ(r->monitored_history.back().second, r->train_loss);  // the last step's own loss
  EXPECT_NE(r->monitored_history.back().second, r->val_history.back().second);
  double best = r->monitored_history.front().second;
  int bad = 0;
  for (std::size_t i = 1; i < r->monitored_history.size(); ++i) {
    const double v = r->monitored_history[i].second;
    if (v < best) best = v, bad = 0;
    else ++bad;
    EXPECT_EQ(bad >= 3, i + 1 == r->monitored_history.size()) << "check " << i << ": stopped at the first 3rd miss";
  }
  // The best validation loss is still the validation's, whatever early stopping watched.
  double best_val = r->val_history.front().second;
  for (const auto& [step, v] : r->val_history) best_val = std::min(best_val, v);
  EXPECT_DOUBLE_EQ(r->best_val_loss, best_val);
}

// neuralforecast validates every min(val_check_steps, max_steps) steps: a run shorter than
// val_check_steps still validates once, at its last step, and reports a best loss.
TEST(Train, ValidationRunsOnceWhenValCheckStepsExceedsMaxSteps) {
  const Panel panel = AirPassengers();
  TrainOptions o;
  o.max_steps = 7;
  o.val_size = 12;
  o.val_check_steps = 100;
  o.windows_batch_size = 16;
  o.verbose = false;
  Model m(SmallAirConfig());
  Result<TrainReport> r = Train(m, panel, o, 12);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->val_history.size(), 1u);
  EXPECT_EQ(r->val_history.front().first, 7);
  EXPECT_TRUE(std::isfinite(r->best_val_loss));
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

// warm_start continues from the current weights (neuralforecast's fit after the conformal
// cross-validation); without it a fit starts from the seed's initialisation.
TEST(Train, WarmStartKeepsTheWeights) {
  const Panel panel = AirPassengers();
  NhitsConfig c = SmallAirConfig();
  TrainOptions o;
  o.max_steps = 30;
  o.windows_batch_size = 64;
  o.verbose = false;
  Model m(c);
  ASSERT_TRUE(Train(m, panel, o).ok());
  const std::vector<float> trained = m.network().params();
  Model fresh(c);
  fresh.mutable_network().InitParams(static_cast<std::uint64_t>(o.random_seed));
  o.learning_rate = 1e-12;  // a fit that cannot move the weights
  o.warm_start = true;
  ASSERT_TRUE(Train(m, panel, o).ok());
  double moved = 0, from_init = 0;
  for (std::size_t i = 0; i < trained.size(); ++i) {
    moved = std::max(moved, static_cast<double>(std::abs(m.network().params()[i] - trained[i])));
    from_init = std::max(from_init, static_cast<double>(std::abs(trained[i] - fresh.network().params()[i])));
  }
  EXPECT_LT(moved, 1e-6);
  EXPECT_GT(from_init, 1e-3);  // so a re-initialisation would have shown
  o.warm_start = false;
  ASSERT_TRUE(Train(m, panel, o).ok());
  double to_init = 0;
  for (std::size_t i = 0; i < trained.size(); ++i)
    to_init = std::max(to_init, static_cast<double>(std::abs(m.network().params()[i] - fresh.network().params()[i])));
  EXPECT_LT(to_init, 1e-6);
}

// A series driven by a covariate whose future is known (a promotion calendar) and that its own
// history cannot predict: only a model given it as a futr exogenous column can forecast the jumps.
Panel PromotionPanel() {
  std::mt19937_64 rng(42);
  std::bernoulli_distribution promo(0.3);
  std::normal_distribution<double> noise(0, 0.1);
  Panel p;
  p.exog_names = {"promo"};
  for (int s = 0; s < 4; ++s) {
    Series series;
    series.unique_id = "s" + std::to_string(s);
    series.exog.resize(1);
    for (int t = 0; t < 400; ++t) {
      const double x = promo(rng) ? 1.0 : 0.0;
      series.ds.push_back({t + 1});
      series.exog[0].push_back(x);
      series.y.push_back(10 + s + 2 * std::sin(2 * M_PI * t / 12) + 4 * x + noise(rng));
    }
    p.series.push_back(std::move(series));
  }
  return p;
}

double HoldoutMae(const Model& m, const Panel& panel, int h) {
  std::vector<ForecastOrigin> origins;
  for (std::size_t s = 0; s < panel.series.size(); ++s)
    origins.push_back({static_cast<int>(s), static_cast<int>(panel.series[s].y.size()) - h});
  const std::vector<float> fc = ForecastFrom(m, panel, origins);
  double sum = 0;
  for (std::size_t s = 0; s < origins.size(); ++s)
    for (int j = 0; j < h; ++j)
      sum += std::abs(fc[s * h + j] - panel.series[s].y[static_cast<std::size_t>(origins[s].end + j)]);
  return sum / (origins.size() * h);
}

// The model and the short schedule the promotion tests train: h 6 from 24 steps, standard scaler.
NhitsConfig PromotionConfig() {
  NhitsConfig c;
  c.h = 6;
  c.input_size = 24;
  c.mlp_units = {{32, 32}, {32, 32}};
  c.scaler_type = ScalerType::kStandard;
  return c;
}

TrainOptions PromotionTrainOptions() {
  TrainOptions o;
  o.max_steps = 300;
  o.windows_batch_size = 256;
  o.verbose = false;
  return o;
}

TEST(Train, FutureExogenousColumnIsUsed) {
  const Panel panel = PromotionPanel();
  NhitsConfig c = PromotionConfig();
  const TrainOptions o = PromotionTrainOptions();
  Model plain(c);
  ASSERT_TRUE(Train(plain, panel, o, 6).ok());
  c.hist_exog_list = {"promo"};  // known only up to the origin: no help for the horizon
  Model hist(c);
  ASSERT_TRUE(Train(hist, panel, o, 6).ok());
  c.hist_exog_list.clear();
  c.futr_exog_list = {"promo"};
  Model futr(c);
  ASSERT_TRUE(Train(futr, panel, o, 6).ok());
  const double mae_plain = HoldoutMae(plain, panel, 6), mae_hist = HoldoutMae(hist, panel, 6),
               mae_futr = HoldoutMae(futr, panel, 6);
  std::printf("holdout MAE: no exog %.3f, promo as hist %.3f, promo as futr %.3f\n", mae_plain, mae_hist, mae_futr);
  // Promotions add 4 with probability 0.3: without their future the error stays near 4*0.3*0.7*2.
  EXPECT_LT(mae_futr, 0.5 * mae_plain);
  EXPECT_LT(mae_futr, 0.5 * mae_hist);
  // Without the column in the data, training fails naming it.
  Panel bare = panel;
  bare.exog_names.clear();
  for (auto& s : bare.series) s.exog.clear();
  Model again(c);
  const Result<TrainReport> r = Train(again, bare, o, 6);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("futr_exog_list names column 'promo'"), std::string::npos)
      << r.status().message();
}

// neuralforecast's exclude_insample_y: the network sees zeros for y's window, so the forecast is
// the window's statistics plus what the futr column says. Reversing the window (same mean and
// standard deviation) leaves the forecast unchanged, and the model still learns the promotions.
TEST(Train, ExcludeInsampleYForecastsFromStatisticsAndExogenousAlone) {
  const Panel panel = PromotionPanel();
  NhitsConfig c = PromotionConfig();
  c.futr_exog_list = {"promo"};
  c.exclude_insample_y = true;
  const TrainOptions o = PromotionTrainOptions();
  Model excluded(c);
  ASSERT_TRUE(Train(excluded, panel, o, 6).ok());
  c.exclude_insample_y = false;
  // Randomly initialised: without the flag y's window reaches the network (and the naive level,
  // its last value), so reversing the window changes the forecast.
  Model seeing(c);
  seeing.mutable_network().InitParams(3);

  const int L = c.input_size, H = c.h;
  const Series& s0 = panel.series[0];
  std::vector<float> x(2 * static_cast<std::size_t>(L)), m(x.size(), 1.0f), futr(2 * static_cast<std::size_t>(L + H));
  for (int t = 0; t < L; ++t) x[t] = x[2 * L - 1 - t] = static_cast<float>(s0.y[static_cast<std::size_t>(100 + t)]);
  for (int t = 0; t < L; ++t) futr[t] = futr[L + H + t] = static_cast<float>(s0.exog[0][static_cast<std::size_t>(100 + t)]);
  futr[L + 2] = 1.0f;          // window 0: a promotion at horizon step 3
  futr[2 * (L + H) - 1] = 1.0f;  // window 1: one at the last step instead
  std::vector<float> fc(2 * static_cast<std::size_t>(H)), fc_seeing(fc.size());
  // Same promotions, reversed window: identical forecasts only when y is excluded.
  std::vector<float> same_futr = futr;
  std::copy(futr.begin(), futr.begin() + L + H, same_futr.begin() + L + H);
  excluded.PredictWindows(2, x.data(), m.data(), ExogBatch<float>{nullptr, same_futr.data(), nullptr}, fc.data());
  seeing.PredictWindows(2, x.data(), m.data(), ExogBatch<float>{nullptr, same_futr.data(), nullptr}, fc_seeing.data());
  double seeing_gap = 0;
  for (int j = 0; j < H; ++j) {
    EXPECT_NEAR(fc[j], fc[H + j], 1e-4 * std::abs(fc[j])) << "step " << j;
    seeing_gap = std::max(seeing_gap, static_cast<double>(std::abs(fc_seeing[j] - fc_seeing[H + j])));
  }
  EXPECT_GT(seeing_gap, 1e-3);
  // The promotions' effect (+4) from the futr column alone: step 3 up in window 0, step 6 in window 1.
  excluded.PredictWindows(2, x.data(), m.data(), ExogBatch<float>{nullptr, futr.data(), nullptr}, fc.data());
  // In raw units the learned effect scales with the window's standard deviation: near 4, not
  // exact; the steps without a promotion move less (pooling blurs the calendar a little).
  const double at3 = fc[2] - fc[H + 2], at6 = fc[2 * H - 1] - fc[H - 1];
  std::printf("promotion effect: step 3 %.2f, step 6 %.2f\n", at3, at6);
  for (const double effect : {at3, at6}) {
    EXPECT_GT(effect, 2.5);
    EXPECT_LT(effect, 6.5);
  }
  for (int j : {0, 1, 3, 4}) {
    std::printf("step %d (no promotion in either): gap %.2f\n", j + 1, std::abs(fc[j] - fc[H + j]));
    EXPECT_LT(std::abs(fc[j] - fc[H + j]), 0.5 * std::min(at3, at6));
  }
}

}  // namespace
}  // namespace nhits
