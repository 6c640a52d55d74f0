// DistributionLoss: the quantile functions and likelihoods against scipy (values recorded from
// scipy 1.17.1, float64), their gradients against finite differences, the forecast columns,
// the fast inference path against the reference network, and training that learns the noise.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "nhits/conformal.h"
#include "nhits/distribution.h"
#include "nhits/inference.h"
#include "nhits/loss.h"
#include "nhits/model.h"
#include "nhits/train.h"
#include "training_fixtures.h"

namespace nhits {
namespace {

TEST(DistributionQuantile, NormalMatchesScipy) {
  const std::pair<double, double> want[] = {{0.001, -3.090232306167813}, {0.025, -1.9599639845400545},
                                            {0.1, -1.2815515655446004},  {0.5, 0.0},
                                            {0.8, 0.8416212335729143},   {0.95, 1.6448536269514722},
                                            {0.995, 2.5758293035489004}, {0.999999, 4.753424308817087}};
  for (auto [p, x] : want) EXPECT_NEAR(NormalQuantile(p), x, 1e-12 * std::max(1.0, std::abs(x))) << p;
  EXPECT_TRUE(std::isinf(NormalQuantile(1.0)));
  EXPECT_TRUE(std::isnan(NormalQuantile(1.5)));
}

TEST(DistributionQuantile, StudentTMatchesScipy) {
  struct Case {
    double df, p, t;
  };
  const Case quantiles[] = {
      {3.0, 0.01, -4.5407028585681335},   {3.0, 0.25, -0.7648923284043444},  {3.0, 0.6, 0.2766706623326898},
      {3.0, 0.9, 1.637744353696209},      {3.0, 0.975, 3.1824463052837078},  {3.0, 0.9995, 12.923978636687961},
      {3.7, 0.01, -3.920507819208549},    {3.7, 0.9, 1.5575658388615072},    {3.7, 0.9995, 9.474240137124664},
      {12.5, 0.25, -0.6946222139927906},  {12.5, 0.975, 2.1691859427125406}, {12.5, 0.9995, 4.266936766292182},
      {250.0, 0.01, -2.341356118385916},  {250.0, 0.6, 0.2536168815819393},  {250.0, 0.9995, 3.329867205673151}};
  for (const Case& c : quantiles)
    EXPECT_NEAR(StudentTQuantile(c.p, c.df), c.t, 1e-10 * std::max(1.0, std::abs(c.t))) << c.df << " " << c.p;
  const Case cdfs[] = {{3.0, -4.0, 0.014004228005073076},    {3.0, 1.1, 0.8241584025326745},
                       {3.0, 7.5, 0.9975445125370058},       {3.7, -0.3, 0.3901337435657311},
                       {12.5, -4.0, 0.0008145314603234221},  {12.5, 7.5, 0.9999971579151942},
                       {250.0, -4.0, 4.173510072935075e-05}, {250.0, 1.1, 0.8638048991675127}};
  for (const Case& c : cdfs) EXPECT_NEAR(StudentTCdf(c.p, c.df), c.t, 1e-12) << c.df << " " << c.p;
  EXPECT_EQ(StudentTCdf(0.0, 5.0), 0.5);
}

// Decoding uses a Chebyshev series per level; it must agree with the solver over every df the
// scale decouple can give (3 + softplus) and at the widest and narrowest levels.
TEST(DistributionQuantile, PerLevelSeriesMatchesTheSolver) {
  double worst = 0;
  for (int level : {1, 20, 50, 80, 90, 95, 99})
    for (double df = 3.0; df < 1e4; df *= 1.05) {
      const double want = StudentTQuantile(0.5 + level / 200.0, df);
      worst = std::max(worst, std::abs(StudentTQuantileForLevel(level, df) - want) / std::abs(want));
    }
  EXPECT_LT(worst, 1e-10);
  EXPECT_NEAR(StudentTQuantileForLevel(90, 1e9), NormalQuantile(0.95), 1e-8);  // the Normal limit
}

// Raw channels that decouple to the given parameters (scale decouple with shift 0, scale 1).
double InverseSoftplus(double y) { return std::log(std::expm1(y)); }

TEST(DistributionLikelihood, MatchesScipyLogpdf) {
  // -norm.logpdf(1.3, loc=0.2, scale=0.7): raw scale channel with softplus(raw) + 0.2 = 0.7
  const double normal[2] = {0.2, InverseSoftplus(0.5)};
  EXPECT_NEAR(DistributionNll(DistributionType::kNormal, normal, 1, 1.3, nullptr), 1.796957466816961, 1e-12);
  // -t.logpdf(-2.1, 4.2, loc=0.5, scale=1.6)
  const double student[3] = {InverseSoftplus(1.2), 0.5, InverseSoftplus(1.5)};
  EXPECT_NEAR(DistributionNll(DistributionType::kStudentT, student, 1, -2.1, nullptr), 2.716202608553999, 1e-12);
  // The same from decoded parameters (what `nhits cv` scores), shifted and scaled by 10 and 2:
  // the likelihood of 2 * (-2.1) + 10 is the one above minus log 2.
  const float raw[3] = {static_cast<float>(student[0]), 0.5f, static_cast<float>(student[2])};
  const DistributionParams p = DecoupleParams(DistributionType::kStudentT, raw, 1, 10.0, 2.0);
  EXPECT_NEAR(NegativeLogLikelihood(DistributionType::kStudentT, p, 2 * -2.1 + 10), 2.716202608553999 + std::log(2.0),
              1e-6);
}

TEST(DistributionLikelihood, GradientMatchesFiniteDifferences) {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> n(0, 1.5);
  for (DistributionType d : {DistributionType::kNormal, DistributionType::kStudentT}) {
    const int P = d == DistributionType::kNormal ? 2 : 3;
    for (int trial = 0; trial < 50; ++trial) {
      double raw[3], grad[3];
      for (double& v : raw) v = n(rng);
      const double y = 2 * n(rng);
      DistributionNll(d, raw, 1, y, grad);
      for (int k = 0; k < P; ++k) {
        double up[3] = {raw[0], raw[1], raw[2]}, down[3] = {raw[0], raw[1], raw[2]};
        up[k] += 1e-6;
        down[k] -= 1e-6;
        const double numeric =
            (DistributionNll(d, up, 1, y, nullptr) - DistributionNll(d, down, 1, y, nullptr)) / 2e-6;
        EXPECT_NEAR(grad[k], numeric, 1e-6 * std::max(1.0, std::abs(numeric))) << ToString(d) << " channel " << k;
      }
    }
  }
}

NhitsConfig SmallDistributionConfig(DistributionType d) {
  NhitsConfig c;
  c.h = 6;
  c.input_size = 12;
  c.mlp_units = {{16, 16}, {16, 16}};
  c.loss = LossType::kDistributionLoss;
  c.distribution = d;
  c.level = {80, 95};
  return c;
}

TEST(DistributionLoss, ComputeLossIsTheMeanMaskedLikelihoodPlusLogScale) {
  NhitsConfig c = SmallDistributionConfig(DistributionType::kStudentT);
  const int B = 2, H = c.h, P = c.network_outputs_per_step();
  ASSERT_EQ(P, 3);
  std::mt19937_64 rng(5);
  std::normal_distribution<double> n(0, 1);
  std::vector<double> raw(B * H * P), y(B * H), m(B * H, 1.0), d(raw.size());
  for (auto& v : raw) v = n(rng);
  for (auto& v : y) v = n(rng);
  m[4] = 0;
  const double log_scale[2] = {0.3, -1.1};
  double want = 0;
  for (int i = 0; i < B * H; ++i)
    if (m[i] > 0) want += DistributionNll(c.distribution, &raw[i * P], 1, y[i], nullptr) + log_scale[i / H];
  want /= B * H - 1;
  EXPECT_NEAR(ComputeLoss<double>(c, B, raw.data(), y.data(), m.data(), d.data(), log_scale), want, 1e-12);
  for (int k = 0; k < P; ++k) EXPECT_EQ(d[4 * P + k], 0.0) << "a masked point has no gradient";
  for (std::size_t i = 0; i < raw.size(); ++i) {
    auto up = raw, down = raw;
    up[i] += 1e-6;
    down[i] -= 1e-6;
    const double numeric = (ComputeLoss<double>(c, B, up.data(), y.data(), m.data(), nullptr, log_scale) -
                            ComputeLoss<double>(c, B, down.data(), y.data(), m.data(), nullptr, log_scale)) / 2e-6;
    EXPECT_NEAR(d[i], numeric, 1e-7) << i;
  }
}

TEST(DistributionLoss, ConfigNamesValidationAndRoundTrip) {
  NhitsConfig c = SmallDistributionConfig(DistributionType::kStudentT);
  c.return_params = true;
  EXPECT_EQ(c.network_outputs_per_step(), 3);
  EXPECT_EQ(c.outputs_per_step(), 9);
  EXPECT_EQ(c.output_names(), (std::vector<std::string>{"", "-median", "-lo-95", "-lo-80", "-hi-80", "-hi-95", "-df",
                                                        "-loc", "-scale"}));
  EXPECT_EQ(c.first_quantile_column(), 1);
  auto back = ConfigFromJson(ConfigToJson(c), "test");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->loss, LossType::kDistributionLoss);
  EXPECT_EQ(back->distribution, DistributionType::kStudentT);
  EXPECT_TRUE(back->return_params);
  EXPECT_EQ(back->level, c.level);
  c.interpolation_mode = InterpolationMode::kCubic;  // neuralforecast raises too: several channels
  EXPECT_FALSE(c.Validate().ok());
  c.interpolation_mode = InterpolationMode::kLinear;
  c.level.clear();
  EXPECT_FALSE(c.Validate().ok());
  EXPECT_FALSE(ParseDistributionType("Poisson").ok());
  NhitsConfig normal = SmallDistributionConfig(DistributionType::kNormal);
  EXPECT_EQ(normal.output_names(),
            (std::vector<std::string>{"", "-median", "-lo-95", "-lo-80", "-hi-80", "-hi-95"}));
}

TEST(DistributionLoss, DecodeGivesMeanQuantilesAndParameters) {
  NhitsConfig c = SmallDistributionConfig(DistributionType::kStudentT);
  c.h = 1;
  c.level = {90};
  c.return_params = true;
  const float raw[3] = {static_cast<float>(InverseSoftplus(2.0)), 0.25f, static_cast<float>(InverseSoftplus(0.4))};
  const ScaleStats stats{10.0, 2.0};  // loc = 0.25 * 2 + 10, scale = (0.4 + 0.1) * 2, df = 5
  float out[7];
  DecodeForecast(c, stats, raw, out);
  const double t95 = 2.0150483733330233;  // scipy.stats.t.ppf(0.95, 5)
  EXPECT_NEAR(out[0], 10.5, 1e-5);  // mean
  EXPECT_NEAR(out[1], 10.5, 1e-5);  // median
  EXPECT_NEAR(out[2], 10.5 - t95, 1e-5);
  EXPECT_NEAR(out[3], 10.5 + t95, 1e-5);
  EXPECT_NEAR(out[4], 5.0, 1e-5);
  EXPECT_NEAR(out[5], 10.5, 1e-5);
  EXPECT_NEAR(out[6], 1.0, 1e-5);
}

TEST(DistributionLoss, NetworkGradientMatchesFiniteDifferences) {
  for (DistributionType d : {DistributionType::kNormal, DistributionType::kStudentT}) {
    NhitsConfig c = SmallDistributionConfig(d);
    Network<double> net(c);
    net.InitParams(4);
    const int B = 3, L = c.input_size, H = c.h, P = c.network_outputs_per_step();
    std::mt19937_64 rng(8);
    std::normal_distribution<double> n(0, 1);
    std::vector<double> x(B * L), m(B * L, 1.0), y(B * H), ym(B * H, 1.0), f(B * H * P), df(f.size());
    for (auto& v : x) v = n(rng);
    for (auto& v : y) v = n(rng);
    Workspace<double> ws;
    auto loss_at = [&](bool grad) {
      net.Forward(B, x.data(), m.data(), {}, f.data(), ws, true, nullptr);
      return ComputeLoss<double>(c, B, f.data(), y.data(), ym.data(), grad ? df.data() : nullptr);
    };
    loss_at(true);
    std::vector<double> grad(net.params().size(), 0.0);
    net.Backward(df.data(), ws, grad.data());
    double worst = 0;
    for (std::size_t i = 0; i < net.params().size(); i += 7) {
      const double keep = net.params()[i];
      net.params()[i] = keep + 1e-6;
      const double up = loss_at(false);
      net.params()[i] = keep - 1e-6;
      const double down = loss_at(false);
      net.params()[i] = keep;
      const double numeric = (up - down) / 2e-6;
      worst = std::max(worst, std::abs(grad[i] - numeric) / std::max({1e-4, std::abs(grad[i]), std::abs(numeric)}));
    }
    EXPECT_LT(worst, 1e-5) << ToString(d);
  }
}

TEST(DistributionLoss, InferenceSessionMatchesModelPredict) {
  NhitsConfig c = SmallDistributionConfig(DistributionType::kStudentT);
  c.scaler_type = ScalerType::kRobust;
  c.return_params = true;
  Model model(c);
  model.mutable_network().InitParams(6);
  const int L = c.input_size, C = c.outputs_per_step(), most = 9;
  std::mt19937 rng(2);
  std::normal_distribution<float> nd(0, 1);
  std::vector<float> x(most * L), m(most * L, 1.0f), want(most * c.h * C), got(want.size());
  for (auto& v : x) v = 100 + 10 * nd(rng);
  model.PredictWindows(most, x.data(), m.data(), want.data());
  InferenceSession session(model, most, 1);
  for (int batch : {1, 4, 9}) {
    ASSERT_TRUE(session.Predict(batch, x.data(), m.data(), got.data()).ok());
    for (int i = 0; i < batch * c.h * C; ++i) ASSERT_NEAR(got[i], want[i], 1e-4 * std::max(1.0f, std::abs(want[i])));
  }
  // Columns are ordered: lo-95 < lo-80 < median < hi-80 < hi-95, the mean at the median.
  for (int t = 0; t < most * c.h; ++t) {
    const float* r = &want[t * C];
    EXPECT_LT(r[2], r[3]);
    EXPECT_LT(r[3], r[1]);
    EXPECT_LT(r[1], r[4]);
    EXPECT_LT(r[4], r[5]);
    EXPECT_FLOAT_EQ(r[0], r[1]);
  }
}

// Training on a seasonal series with Gaussian noise of sd 0.5: the Normal model's scale learns
// the noise, and its intervals cover about what they claim on later data.
TEST(DistributionLoss, TrainingLearnsTheNoiseLevel) {
  const double sd = 0.5;
  const Panel panel = testing::NoisySeasonalPanel(4, 600, sd, 12);
  NhitsConfig c = SmallDistributionConfig(DistributionType::kNormal);
  c.h = 12;
  c.input_size = 24;
  c.mlp_units = {{64, 64}, {64, 64}};
  c.level = {80, 90};
  c.return_params = true;
  Model model(c);
  const TrainOptions o = testing::ShortTrainOptions();
  const int held = 100;
  ASSERT_TRUE(Train(model, panel, o, held).ok());
  const int C = c.outputs_per_step(), L = c.input_size;
  long points = 0, in80 = 0, in90 = 0;
  double scale_sum = 0;
  std::vector<float> x(L), m(L, 1.0f), out(c.h * C);
  for (const Series& s : panel.series) {
    const int T = static_cast<int>(s.y.size());
    for (int end = T - held; end + c.h <= T; end += 4) {
      for (int t = 0; t < L; ++t) x[t] = static_cast<float>(s.y[end - L + t]);
      model.PredictWindows(1, x.data(), m.data(), out.data());
      for (int j = 0; j < c.h; ++j, ++points) {
        const double y = s.y[end + j];
        const float* r = &out[j * C];  // mean, median, lo-90, lo-80, hi-80, hi-90, loc, scale
        in90 += r[2] <= y && y <= r[5];
        in80 += r[3] <= y && y <= r[4];
        scale_sum += r[7];
      }
    }
  }
  const double mean_scale = scale_sum / points, cover80 = double(in80) / points, cover90 = double(in90) / points;
  EXPECT_GT(mean_scale, 0.7 * sd);
  EXPECT_LT(mean_scale, 1.4 * sd);
  EXPECT_GT(cover80, 0.65);
  EXPECT_LT(cover80, 0.93);
  EXPECT_GT(cover90, 0.78);
  EXPECT_LT(cover90, 0.98);
  std::printf("learned scale %.3f (noise sd %.3f), coverage 80%%: %.3f, 90%%: %.3f over %ld points\n", mean_scale, sd,
              cover80, cover90, points);
}

}  // namespace
}  // namespace nhits

namespace nhits {
namespace {

Panel SeasonalPanel(int n_series, int length, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise(0, 0.4);
  Panel panel;
  for (int s = 0; s < n_series; ++s) {
    Series series;
    series.unique_id = "s" + std::to_string(s);
    for (int t = 0; t < length; ++t) {
      series.ds.push_back(Timestamp{t});
      series.y.push_back(5 + s + 2 * std::sin(2 * M_PI * t / 12.0) + noise(rng));
    }
    panel.series.push_back(series);
  }
  return panel;
}

// valid_loss: the validation score is the chosen loss of the decoded forecasts on the held-out
// window (the mean for MAE, the quantile columns for MQLoss), recomputed here from PredictWindows.
TEST(ValidLoss, ScoresTheDistributionsMeanOrQuantiles) {
  const Panel panel = SeasonalPanel(3, 120, 4);
  for (LossType valid : {LossType::kMAE, LossType::kMQLoss, LossType::kDistributionLoss}) {
    NhitsConfig c = SmallDistributionConfig(DistributionType::kNormal);
    c.level = {80};
    Model model(c);
    TrainOptions o;
    o.max_steps = o.val_check_steps = 30;
    o.val_size = c.h;
    o.windows_batch_size = 64;
    o.verbose = false;
    o.valid_loss = valid;
    ASSERT_TRUE(o.Validate(c).ok()) << o.Validate(c).ToString();
    auto report = Train(model, panel, o);
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    ASSERT_EQ(report->val_history.size(), 1u);
    const int L = c.input_size, H = c.h, C = c.outputs_per_step();  // mean, median, lo-80, hi-80
    double sum = 0, nll = 0;
    std::vector<float> x(L), m(L, 1.0f), out(H * C);
    for (const Series& s : panel.series) {
      const int end = static_cast<int>(s.y.size()) - H;
      for (int t = 0; t < L; ++t) x[t] = static_cast<float>(s.y[end - L + t]);
      model.PredictWindows(1, x.data(), m.data(), out.data());
      for (int j = 0; j < H; ++j) {
        const double y = s.y[end + j], e = y - out[j * C];
        if (valid == LossType::kMAE) sum += std::abs(e);
        for (int k = 1; k < C; ++k) {  // MQLoss over the median, 0.1 and 0.9
          const double q = k == 1 ? 0.5 : k == 2 ? 0.1 : 0.9, d = y - out[j * C + k];
          if (valid == LossType::kMQLoss) sum += std::max(q * d, (q - 1) * d) / 3;
        }
        // Normal likelihood from the interval: scale = (hi - lo) / (2 z_0.9)
        const double scale = (out[j * C + 3] - out[j * C + 2]) / (2 * NormalQuantile(0.9));
        nll += std::log(scale) + 0.5 * std::log(2 * M_PI) + 0.5 * (e / scale) * (e / scale);
      }
    }
    const double points = 3.0 * H, want = valid == LossType::kDistributionLoss ? nll / points : sum / points;
    EXPECT_NEAR(report->val_history[0].second, want, 1e-4 * std::max(1.0, std::abs(want))) << ToString(valid);
  }
}

TEST(ValidLoss, RefusesWhatNeuralforecastRefuses) {
  NhitsConfig mq;
  mq.h = 4;
  mq.input_size = 8;
  mq.loss = LossType::kMQLoss;
  mq.level = {80};
  TrainOptions o;
  o.valid_loss = LossType::kMAE;
  EXPECT_NE(o.Validate(mq).message().find("validates with MQLoss or HuberMQLoss"), std::string::npos);
  o.valid_loss = LossType::kHuberMQLoss;
  EXPECT_TRUE(o.Validate(mq).ok());
  NhitsConfig point = mq;
  point.loss = LossType::kMAE;
  EXPECT_NE(o.Validate(point).message().find("does not forecast"), std::string::npos);
  o.valid_loss = LossType::kDistributionLoss;
  EXPECT_NE(o.Validate(point).message().find("validates only a DistributionLoss model"), std::string::npos);
  o.valid_loss = LossType::kQuantileLoss;
  o.valid_q = 1.5;
  EXPECT_NE(o.Validate(point).message().find("valid_q"), std::string::npos);
  o.valid_q = 0.9;
  EXPECT_TRUE(o.Validate(point).ok());
  EXPECT_EQ(o.ValidationConfig(point).quantile_q, 0.9);
  EXPECT_EQ(o.ValidationConfig(point).loss, LossType::kQuantileLoss);
}

}  // namespace
}  // namespace nhits

namespace nhits {
namespace {

// A likelihood is negative on small-valued series: early stopping and the best-weights choice
// must still follow Lightning's rule (strictly better resets patience) on such scores.
TEST(ValidLoss, EarlyStoppingWorksOnNegativeLikelihoods) {
  Panel panel = SeasonalPanel(3, 150, 9);
  for (Series& s : panel.series)
    for (double& y : s.y) y *= 0.01;  // scale ~0.01: log(scale) makes the likelihood negative
  NhitsConfig c = SmallDistributionConfig(DistributionType::kNormal);
  c.scaler_type = ScalerType::kStandard;
  Model model(c);
  TrainOptions o;
  o.max_steps = 1500;
  o.val_check_steps = 10;
  o.val_size = c.h;
  o.early_stop_patience_steps = 3;
  o.learning_rate = 1e-2;
  o.windows_batch_size = 64;
  o.verbose = false;
  auto report = Train(model, panel, o);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  const auto& history = report->val_history;
  ASSERT_FALSE(history.empty());
  double best = history[0].second;
  int bad = 0;
  for (std::size_t i = 1; i < history.size(); ++i) {
    if (history[i].second < best) best = history[i].second, bad = 0;
    else ++bad;
    if (bad >= 3) EXPECT_EQ(i + 1, history.size()) << "training went on after patience ran out";
  }
  EXPECT_LT(best, 0.0);
  EXPECT_EQ(report->best_val_loss, best);
  EXPECT_EQ(report->early_stopped, bad >= 3);
  EXPECT_TRUE(report->early_stopped) << "1500 steps at lr 1e-2 on a noisy series should stop early ("
                                     << history.size() << " checks)";
}

}  // namespace
}  // namespace nhits

namespace nhits {
namespace {

// Fractional levels (a 97.5% interval), as neuralforecast takes them: names, quantiles, parsing,
// the checkpoint JSON, conformal columns and the Student-t series of such a level.
TEST(FractionalLevels, NamesQuantilesParsingAndSeries) {
  EXPECT_EQ(LevelName(80), "80");
  EXPECT_EQ(LevelName(97.5), "97.5");
  EXPECT_EQ(LevelName(99.9), "99.9");
  NhitsConfig c;
  c.h = 4;
  c.input_size = 8;
  c.loss = LossType::kMQLoss;
  c.level = {97.5, 80};
  ASSERT_TRUE(c.Validate().ok());
  EXPECT_EQ(c.output_names(), (std::vector<std::string>{"-median", "-lo-97.5", "-lo-80", "-hi-80", "-hi-97.5"}));
  const std::vector<double> q = c.quantiles();
  ASSERT_EQ(q.size(), 5u);
  EXPECT_DOUBLE_EQ(q[1], 0.0125);
  EXPECT_DOUBLE_EQ(q[4], 0.9875);
  const std::string json = ConfigToJson(c);
  EXPECT_NE(json.find("\"level\":[97.5,80]"), std::string::npos) << json;  // whole levels stay integers
  auto back = ConfigFromJson(json, "test");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->level, c.level);
  auto parsed = ParseLevels("80, 97.5");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, (std::vector<double>{80, 97.5}));
  for (const char* bad : {"", "80,", "0", "100", "abc", "97.5x"}) EXPECT_FALSE(ParseLevels(bad).ok()) << bad;
  c.level = {100.0};
  EXPECT_FALSE(c.Validate().ok());
  EXPECT_EQ(ConformalColumnSuffixes({97.5, 80, 97.5}),
            (std::vector<std::string>{"-lo-97.5", "-lo-80", "-hi-80", "-hi-97.5"}));
  double worst = 0;
  for (double df = 3.0; df < 1e4; df *= 1.1)
    worst = std::max(worst, std::abs(StudentTQuantileForLevel(97.5, df) - StudentTQuantile(0.9875, df)) /
                                StudentTQuantile(0.9875, df));
  EXPECT_LT(worst, 1e-10);
}

}  // namespace
}  // namespace nhits
