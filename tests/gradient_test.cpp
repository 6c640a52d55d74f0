// Every backward pass against central finite differences in float64: the activations, pooling,
// the losses, and whole networks for every activation, pooling, interpolation and loss choice.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "model/layers.h"
#include "nhits/config.h"
#include "nhits/loss.h"
#include "nhits/network.h"

namespace nhits {
namespace {

constexpr double kStep = 1e-6;

// Relative error with a floor so that tiny gradients compare absolutely.
double RelErr(double a, double b) { return std::abs(a - b) / std::max({1e-4, std::abs(a), std::abs(b)}); }

TEST(ActivationGradient, MatchesFiniteDifferences) {
  const Activation all[] = {Activation::kReLU, Activation::kSoftplus, Activation::kTanh, Activation::kSELU,
                            Activation::kLeakyReLU, Activation::kPReLU, Activation::kSigmoid};
  for (Activation a : all) {
    for (double x : {-3.1, -0.7, -0.01, 0.02, 0.9, 4.2, 25.0}) {
      const double numeric = (layers::ActivationForward(a, x + kStep, 0.25) - layers::ActivationForward(a, x - kStep, 0.25)) / (2 * kStep);
      EXPECT_LT(RelErr(layers::ActivationDerivative(a, x, 0.25), numeric), 1e-6) << ToString(a) << " at " << x;
    }
  }
}

TEST(ActivationForward, MatchesPyTorchDefinitions) {
  EXPECT_DOUBLE_EQ(layers::ActivationForward(Activation::kLeakyReLU, -2.0, 0.0), -0.02);
  EXPECT_DOUBLE_EQ(layers::ActivationForward(Activation::kPReLU, -2.0, 0.25), -0.5);
  EXPECT_NEAR(layers::ActivationForward(Activation::kSELU, -1.0, 0.0), 1.0507009873554805 * 1.6732632423543772 * (std::exp(-1.0) - 1), 1e-15);
  EXPECT_NEAR(layers::ActivationForward(Activation::kSoftplus, 1.0, 0.0), std::log(1 + std::exp(1.0)), 1e-15);
  EXPECT_DOUBLE_EQ(layers::ActivationForward(Activation::kSoftplus, 30.0, 0.0), 30.0);  // threshold 20
}

TEST(PoolingGradient, MatchesFiniteDifferencesWithPartialWindows) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> n(0, 1);
  const int rows = 3, len = 11;
  for (PoolingMode mode : {PoolingMode::kMaxPool1d, PoolingMode::kAvgPool1d}) {
    for (int k : {1, 2, 3, 4, 11, 13}) {
      const int np = (len + k - 1) / k;
      std::vector<double> x(rows * len), w(rows * np), out(rows * np), dx(rows * len, 0.0);
      std::vector<int> arg(rows * np);
      for (auto& v : x) v = n(rng);
      for (auto& v : w) v = n(rng);
      auto objective = [&](const std::vector<double>& in) {
        layers::PoolForward(mode, k, rows, len, in.data(), out.data(), arg.data());
        double s = 0;
        for (int i = 0; i < rows * np; ++i) s += w[i] * out[i];
        return s;
      };
      objective(x);
      layers::PoolBackwardAccumulate(mode, k, rows, len, w.data(), arg.data(), dx.data());
      for (int i = 0; i < rows * len; ++i) {
        auto xp = x, xm = x;
        xp[i] += kStep;
        xm[i] -= kStep;
        const double numeric = (objective(xp) - objective(xm)) / (2 * kStep);
        EXPECT_LT(RelErr(dx[i], numeric), 1e-6) << "k=" << k << " i=" << i;
      }
    }
  }
}

TEST(PoolingForward, AverageOfPartialWindowDividesByElementsPresent) {
  const double x[5] = {1, 2, 3, 4, 10};
  double out[2];
  int arg[2];
  layers::PoolForward(PoolingMode::kAvgPool1d, 3, 1, 5, x, out, arg);
  EXPECT_DOUBLE_EQ(out[0], 2.0);
  EXPECT_DOUBLE_EQ(out[1], 7.0);  // (4 + 10) / 2, not / 3
  layers::PoolForward(PoolingMode::kMaxPool1d, 3, 1, 5, x, out, arg);
  EXPECT_DOUBLE_EQ(out[1], 10.0);
}

NhitsConfig SmallConfig() {
  NhitsConfig c;
  c.h = 5;
  c.input_size = 10;
  c.n_blocks = {1, 2, 1};
  c.mlp_units = {{7, 6}, {6, 6}};
  c.n_pool_kernel_size = {3, 2, 1};
  c.n_freq_downsample = {2, 3, 1};
  return c;
}

// d(loss)/d(params) of a whole network, Backward vs central differences on every parameter.
void CheckNetworkGradient(const NhitsConfig& c, const std::string& what) {
  ASSERT_TRUE(c.Validate().ok()) << c.Validate().ToString();
  Network<double> net(c);
  net.InitParams(3);
  const int B = 4, L = c.input_size, H = c.h, Q = c.outputs_per_step();
  std::mt19937_64 rng(11);
  std::normal_distribution<double> n(0, 1);
  std::vector<double> x(B * L), m(B * L, 1.0), y(B * H), ym(B * H, 1.0);
  for (auto& v : x) v = n(rng);
  for (auto& v : y) v = n(rng);
  m[0] = m[1] = m[L] = 0.0;  // left padding in two windows
  ym[3] = 0.0;
  for (int i = 0; i < 2; ++i) x[i] = 0.0;
  const int X = static_cast<int>(c.hist_exog_list.size()), F = static_cast<int>(c.futr_exog_list.size()),
            S = static_cast<int>(c.stat_exog_list.size());
  std::vector<double> hist(B * L * X), futr(B * (L + H) * F), stat(B * S);
  for (auto* v : {&hist, &futr, &stat})
    for (auto& e : *v) e = n(rng);
  const ExogBatch<double> exog{hist.data(), futr.data(), stat.data()};
  Workspace<double> ws;
  std::vector<double> f(B * H * Q), df(B * H * Q);
  auto loss_at = [&](bool want_grad) {
    std::mt19937_64 drop_rng(5);  // the same dropout mask for every evaluation
    net.Forward(B, x.data(), m.data(), exog, f.data(), ws, /*training=*/true, &drop_rng);
    return ComputeLoss<double>(c, B, f.data(), y.data(), ym.data(), want_grad ? df.data() : nullptr);
  };
  loss_at(true);
  std::vector<double> grad(net.params().size(), 0.0);
  // The exogenous inputs' gradient (what reaches categorical embeddings in training) comes along.
  std::vector<double> d_hist(hist.size(), 0.0), d_futr(futr.size(), 0.0), d_stat(stat.size(), 0.0);
  const ExogGrad<double> d_exog{d_hist.data(), d_futr.data(), d_stat.data()};
  net.Backward(df.data(), ws, grad.data(), &d_exog);
  double worst_exog = 0;
  for (auto [values, d] : {std::pair{&hist, &d_hist}, std::pair{&futr, &d_futr}, std::pair{&stat, &d_stat}})
    for (std::size_t i = 0; i < values->size(); ++i) {
      const double keep = (*values)[i];
      (*values)[i] = keep + kStep;
      const double up = loss_at(false);
      (*values)[i] = keep - kStep;
      const double down = loss_at(false);
      (*values)[i] = keep;
      worst_exog = std::max(worst_exog, RelErr((*d)[i], (up - down) / (2 * kStep)));
    }
  EXPECT_LT(worst_exog, 2e-5) << what << ": worst relative error over " << hist.size() + futr.size() + stat.size()
                              << " exogenous inputs";
  int checked = 0;
  double worst = 0;
  for (std::size_t i = 0; i < net.params().size(); ++i) {
    const double keep = net.params()[i];
    net.params()[i] = keep + kStep;
    const double up = loss_at(false);
    net.params()[i] = keep - kStep;
    const double down = loss_at(false);
    net.params()[i] = keep;
    const double numeric = (up - down) / (2 * kStep);
    worst = std::max(worst, RelErr(grad[i], numeric));
    ++checked;
  }
  EXPECT_LT(worst, 2e-5) << what << ": worst relative error over " << checked << " parameters";
}

TEST(NetworkGradient, EveryActivation) {
  for (Activation a : {Activation::kReLU, Activation::kSoftplus, Activation::kTanh, Activation::kSELU,
                       Activation::kLeakyReLU, Activation::kPReLU, Activation::kSigmoid}) {
    NhitsConfig c = SmallConfig();
    c.activation = a;
    c.loss = LossType::kMSE;
    CheckNetworkGradient(c, ToString(a));
  }
}

TEST(NetworkGradient, EveryPoolingAndInterpolation) {
  for (PoolingMode p : {PoolingMode::kMaxPool1d, PoolingMode::kAvgPool1d})
    for (InterpolationMode i : {InterpolationMode::kLinear, InterpolationMode::kNearest, InterpolationMode::kCubic}) {
      NhitsConfig c = SmallConfig();
      c.pooling_mode = p;
      c.interpolation_mode = i;
      c.activation = Activation::kTanh;
      c.loss = LossType::kMSE;
      CheckNetworkGradient(c, ToString(p) + "/" + ToString(i));
    }
}

TEST(NetworkGradient, EveryLossAndDropout) {
  for (LossType l : {LossType::kMAE, LossType::kMSE, LossType::kRMSE, LossType::kHuberLoss, LossType::kMQLoss,
                     LossType::kQuantileLoss, LossType::kHuberQLoss, LossType::kHuberMQLoss, LossType::kMAPE,
                     LossType::kSMAPE}) {
    NhitsConfig c = SmallConfig();
    c.loss = l;
    c.level = {80, 90};
    c.huber_delta = 0.5;
    c.quantile_q = 0.8;
    c.activation = Activation::kSoftplus;
    CheckNetworkGradient(c, ToString(l));
  }
  NhitsConfig c = SmallConfig();
  c.dropout_prob_theta = 0.3;
  c.activation = Activation::kSELU;
  c.loss = LossType::kMSE;
  CheckNetworkGradient(c, "dropout");
}

// The paper's MLP: the activation (and dropout) after the first layer too.
TEST(NetworkGradient, FirstLayerActivation) {
  for (Activation a : {Activation::kReLU, Activation::kSoftplus, Activation::kPReLU}) {
    for (double dropout : {0.0, 0.3}) {
      NhitsConfig c = SmallConfig();
      c.first_layer_activation = true;
      c.activation = a;
      c.dropout_prob_theta = dropout;
      c.loss = LossType::kMSE;
      CheckNetworkGradient(c, std::string("first layer activated, ") + ToString(a) + ", dropout " + std::to_string(dropout));
    }
  }
}

TEST(NetworkGradient, HorizonOneAndHorizonLongerThanInput) {
  NhitsConfig c = SmallConfig();
  c.h = 1;
  c.loss = LossType::kMSE;
  c.activation = Activation::kTanh;
  CheckNetworkGradient(c, "h=1");
  c.h = 23;
  c.input_size = 6;
  CheckNetworkGradient(c, "h>input_size");
}

// Exogenous inputs widen each block's first layer (y | hist | futr | stat); the residual path
// must still take its gradient from the pooled-y columns only.
TEST(NetworkGradient, ExogenousInputs) {
  for (PoolingMode p : {PoolingMode::kMaxPool1d, PoolingMode::kAvgPool1d}) {
    NhitsConfig c = SmallConfig();
    c.pooling_mode = p;
    c.activation = Activation::kTanh;
    c.loss = LossType::kMSE;
    c.hist_exog_list = {"volume", "spread"};
    c.futr_exog_list = {"holiday"};
    c.stat_exog_list = {"sector", "size", "beta"};
    CheckNetworkGradient(c, "hist+futr+stat, " + ToString(p));
    c.hist_exog_list.clear();
    c.stat_exog_list.clear();
    CheckNetworkGradient(c, "futr only, " + ToString(p));
  }
}

TEST(LossGradient, MatchesFiniteDifferences) {
  for (LossType l : {LossType::kMAE, LossType::kMSE, LossType::kRMSE, LossType::kHuberLoss, LossType::kMQLoss,
                     LossType::kQuantileLoss, LossType::kHuberQLoss, LossType::kHuberMQLoss, LossType::kMAPE,
                     LossType::kSMAPE}) {
    NhitsConfig c = SmallConfig();
    c.loss = l;
    c.level = {50, 95};
    c.quantile_q = 0.2;
    c.huber_delta = 0.7;  // errors above and below delta both occur (normal, sd 2.1)
    const int B = 3, H = c.h, Q = c.outputs_per_step();
    std::mt19937_64 rng(2);
    std::normal_distribution<double> n(0, 1.5);
    std::vector<double> yhat(B * H * Q), y(B * H), m(B * H, 1.0), d(B * H * Q);
    for (auto& v : yhat) v = n(rng);
    for (auto& v : y) v = n(rng);
    m[2] = 0;
    ComputeLoss<double>(c, B, yhat.data(), y.data(), m.data(), d.data());
    for (std::size_t i = 0; i < yhat.size(); ++i) {
      auto p = yhat, q = yhat;
      p[i] += kStep;
      q[i] -= kStep;
      const double numeric = (ComputeLoss<double>(c, B, p.data(), y.data(), m.data(), nullptr) -
                              ComputeLoss<double>(c, B, q.data(), y.data(), m.data(), nullptr)) / (2 * kStep);
      EXPECT_LT(RelErr(d[i], numeric), 1e-6) << ToString(l) << " i=" << i;
    }
  }
}

TEST(LossValue, MatchesHandComputedValues) {
  NhitsConfig c;
  c.h = 2;
  const double yhat[2] = {1.0, 4.0}, y[2] = {2.0, 1.0}, m[2] = {1.0, 1.0};
  c.loss = LossType::kMAE;
  EXPECT_DOUBLE_EQ(ComputeLoss<double>(c, 1, yhat, y, m, nullptr), 2.0);
  c.loss = LossType::kMSE;
  EXPECT_DOUBLE_EQ(ComputeLoss<double>(c, 1, yhat, y, m, nullptr), 5.0);
  c.loss = LossType::kRMSE;
  EXPECT_DOUBLE_EQ(ComputeLoss<double>(c, 1, yhat, y, m, nullptr), std::sqrt(5.0));
  c.loss = LossType::kHuberLoss;
  EXPECT_DOUBLE_EQ(ComputeLoss<double>(c, 1, yhat, y, m, nullptr), (0.5 + 2.5) / 2);
  // neuralforecast's MAPE |y - yhat| / |y| and SMAPE 2 |y - yhat| / (|y| + |yhat|); a point whose
  // denominator is 0 counts 0 but still weighs in the mean (its mask), as _divide_no_nan makes it.
  c.loss = LossType::kMAPE;
  EXPECT_DOUBLE_EQ(ComputeLoss<double>(c, 1, yhat, y, m, nullptr), (1.0 / 2 + 3.0 / 1) / 2);
  c.loss = LossType::kSMAPE;
  EXPECT_DOUBLE_EQ(ComputeLoss<double>(c, 1, yhat, y, m, nullptr), (2 * 1.0 / 3 + 2 * 3.0 / 5) / 2);
  const double zero_y[2] = {0.0, 1.0}, zero_both[2] = {0.0, 4.0};
  c.loss = LossType::kMAPE;
  EXPECT_DOUBLE_EQ(ComputeLoss<double>(c, 1, yhat, zero_y, m, nullptr), (0.0 + 3.0) / 2);
  c.loss = LossType::kSMAPE;
  EXPECT_DOUBLE_EQ(ComputeLoss<double>(c, 1, zero_both, zero_y, m, nullptr), (0.0 + 2 * 3.0 / 5) / 2);
  // neuralforecast's QuantileLoss: max(q (y - yhat), (q - 1)(y - yhat)). Here y - yhat = 1 and -3.
  c.loss = LossType::kQuantileLoss;
  c.quantile_q = 0.9;
  EXPECT_DOUBLE_EQ(ComputeLoss<double>(c, 1, yhat, y, m, nullptr), (0.9 * 1 + 0.1 * 3) / 2);
  c.quantile_q = 0.1;
  EXPECT_DOUBLE_EQ(ComputeLoss<double>(c, 1, yhat, y, m, nullptr), (0.1 * 1 + 0.9 * 3) / 2);
  // HuberQLoss(q=0.9, delta=2): under-forecast by 1 -> 0.9 * 0.5 * 1^2; over by 3 -> 0.1 * 2 * (3 - 1).
  c.loss = LossType::kHuberQLoss;
  c.quantile_q = 0.9;
  c.huber_delta = 2.0;
  EXPECT_DOUBLE_EQ(ComputeLoss<double>(c, 1, yhat, y, m, nullptr), (0.9 * 0.5 + 0.1 * 2 * 2) / 2);
  // HuberMQLoss(level=[80], delta=1): quantiles 0.5, 0.1, 0.9, each inside the huber, mean over 3.
  c.loss = LossType::kHuberMQLoss;
  c.level = {80};
  c.huber_delta = 1.0;
  const double yhat3[6] = {1.0, 1.0, 1.0, 4.0, 4.0, 4.0};  // [h=2, Q=3]
  const auto huber = [](double x) { return x < 1 ? 0.5 * x * x : x - 0.5; };
  double want = 0;
  for (double q : {0.5, 0.1, 0.9}) want += huber(q * 1) + huber((1 - q) * 3);
  EXPECT_DOUBLE_EQ(ComputeLoss<double>(c, 1, yhat3, y, m, nullptr), want / 3 / 2);
}

// The column neuralforecast writes: f"_ql{q}" with Python's shortest float repr.
TEST(QuantileLossConfig, NamesAndRoundTrip) {
  NhitsConfig c;
  c.h = 4;
  c.input_size = 8;
  c.loss = LossType::kQuantileLoss;
  for (const auto& [q, name] : std::vector<std::pair<double, std::string>>{
           {0.9, "_ql0.9"}, {0.05, "_ql0.05"}, {0.975, "_ql0.975"}, {0.1 + 0.2, "_ql0.30000000000000004"},
           {1e-05, "_ql1e-05"}}) {
    c.quantile_q = q;
    ASSERT_EQ(c.output_names(), std::vector<std::string>{name});
    EXPECT_EQ(c.outputs_per_step(), 1);
    const Result<NhitsConfig> back = ConfigFromJson(ConfigToJson(c, nullptr), "test");
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->quantile_q, q);
    EXPECT_EQ(back->loss, LossType::kQuantileLoss);
  }
  c.quantile_q = 1.0;
  EXPECT_FALSE(c.Validate().ok());
  c.quantile_q = 0.0;
  EXPECT_FALSE(c.Validate().ok());
  // HuberQLoss: f"_q{q}_d{delta}", Python writing 1.0 for a whole delta.
  c.loss = LossType::kHuberQLoss;
  c.quantile_q = 0.9;
  c.huber_delta = 1.0;
  EXPECT_EQ(c.output_names(), std::vector<std::string>{"_q0.9_d1.0"});
  c.huber_delta = 0.5;
  EXPECT_EQ(c.output_names(), std::vector<std::string>{"_q0.9_d0.5"});
  const Result<NhitsConfig> back = ConfigFromJson(ConfigToJson(c, nullptr), "test");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->huber_delta, 0.5);
  EXPECT_EQ(back->quantile_q, 0.9);
  // HuberMQLoss: MQLoss's outputs and names.
  c.loss = LossType::kHuberMQLoss;
  c.level = {80, 90};
  EXPECT_EQ(c.outputs_per_step(), 5);
  EXPECT_EQ(c.output_names(), (std::vector<std::string>{"-median", "-lo-90", "-lo-80", "-hi-80", "-hi-90"}));
}

}  // namespace
}  // namespace nhits
