// The paper's MLP (cchallu/n-hits: every Linear but the output one followed by its activation)
// beside neuralforecast's (a linear first layer): forward against a float64 computation written
// out here, every inference precision and a checkpoint round trip (its gradients are checked by
// finite differences in gradient_test.cpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "nhits/inference.h"
#include "nhits/model.h"
#include "nhits/network.h"

namespace nhits {
namespace {

// One stack of one block with one knot per step: the forecast is the last input value plus the
// output layer's forecast part, so the MLP alone decides it.
NhitsConfig OneBlock(bool first_layer_activation) {
  NhitsConfig c;
  c.h = 4;
  c.input_size = 6;
  c.n_blocks = {1};
  c.mlp_units = {{5, 3}};
  c.n_pool_kernel_size = {1};
  c.n_freq_downsample = {1};
  c.first_layer_activation = first_layer_activation;
  return c;
}

// The block's MLP in float64, straight from the layer definitions.
std::vector<double> ReferenceForecast(const NhitsConfig& c, const std::vector<float>& p, const std::vector<float>& x,
                                      bool relu_after_first) {
  const ParamLayout layout = MakeParamLayout(c);
  const BlockLayout& blk = layout.blocks[0];
  const int L = c.input_size;
  std::vector<double> h(L);
  for (int t = 0; t < L; ++t) h[t] = x[L - 1 - t];  // the network works on the time-reversed window
  for (std::size_t li = 0; li < blk.layers.size(); ++li) {
    const LinearSlot& s = blk.layers[li];
    std::vector<double> y(s.out);
    for (int o = 0; o < s.out; ++o) {
      double v = p[s.bias + o];
      for (int i = 0; i < s.in; ++i) v += static_cast<double>(p[s.weight + static_cast<std::size_t>(o) * s.in + i]) * h[i];
      const bool relu = li + 1 < blk.layers.size() && (li > 0 || relu_after_first);
      y[o] = relu ? std::max(v, 0.0) : v;
    }
    h = y;
  }
  std::vector<double> f(c.h);
  for (int j = 0; j < c.h; ++j) f[j] = x[L - 1] + h[L + j];
  return f;
}

TEST(PaperMlp, ForwardAppliesTheActivationAfterTheFirstLayerOnlyWhenAsked) {
  for (bool first : {false, true}) {
    Model model(OneBlock(first));
    model.mutable_network().InitParams(7);
    std::vector<float>& p = model.mutable_network().params();
    // Biases that push some first-layer outputs below zero, so the ReLU there matters.
    const LinearSlot& l0 = model.network().layout().blocks[0].layers[0];
    for (int o = 0; o < l0.out; ++o) p[l0.bias + o] = o % 2 ? -2.0f : 0.5f;
    const std::vector<float> x{0.3f, -1.2f, 0.8f, 2.0f, -0.4f, 1.1f}, m(6, 1.0f);
    std::vector<float> got(4);
    model.PredictWindows(1, x.data(), m.data(), got.data());
    const std::vector<double> want = ReferenceForecast(model.config(), p, x, first);
    const std::vector<double> other = ReferenceForecast(model.config(), p, x, !first);
    double differs = 0;
    for (int j = 0; j < 4; ++j) {
      EXPECT_NEAR(got[j], want[j], 1e-5) << "first_layer_activation " << first << " step " << j;
      differs = std::max(differs, std::abs(want[j] - other[j]));
    }
    EXPECT_GT(differs, 1e-3) << "the test must tell the two MLPs apart";
  }
}

TEST(PaperMlp, InferenceSessionsAndCheckpointsKeepTheLayout) {
  NhitsConfig c;
  c.h = 12;
  c.input_size = 36;
  c.mlp_units = {{64, 64}};
  c.first_layer_activation = true;
  Model model(c);
  model.mutable_network().InitParams(5);
  const int B = 9, L = c.input_size, H = c.h;
  std::mt19937 rng(3);
  std::normal_distribution<float> n(0, 1);
  std::vector<float> x(static_cast<std::size_t>(B) * L), m(x.size(), 1.0f), ref(static_cast<std::size_t>(B) * H);
  for (auto& v : x) v = n(rng);
  model.PredictWindows(B, x.data(), m.data(), ref.data());
  // Each precision's session against the training network's forward (batch 1 and a large batch).
  for (Precision p : {Precision::kFp32, Precision::kBf16, Precision::kInt8}) {
    const double tol = p == Precision::kFp32 ? 1e-5 : p == Precision::kBf16 ? 2e-2 : 1e-1;
    for (int batch : {1, B}) {
      InferenceSession session(model, batch, 1, {p, {}});
      std::vector<float> out(static_cast<std::size_t>(batch) * H);
      ASSERT_TRUE(session.Predict(batch, x.data(), m.data(), out.data()).ok());
      for (std::size_t i = 0; i < out.size(); ++i)
        ASSERT_NEAR(out[i], ref[i], tol * (1 + std::abs(ref[i]))) << ToString(p) << " batch " << batch << " i " << i;
    }
  }
  const std::string path = ::testing::TempDir() + "/paper_mlp.safetensors";
  ASSERT_TRUE(SaveCheckpoint(path, model).ok());
  auto loaded = LoadCheckpoint(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_TRUE(loaded->config().first_layer_activation);
  std::vector<float> again(ref.size());
  loaded->PredictWindows(B, x.data(), m.data(), again.data());
  for (std::size_t i = 0; i < again.size(); ++i) ASSERT_EQ(again[i], ref[i]);
  // The tensor names follow the nn.Sequential the paper's block builds: Linear, ReLU, Linear,
  // ReLU, Linear.
  EXPECT_EQ(LinearLayerIndices(c), (std::vector<int>{0, 2, 4}));
  c.dropout_prob_theta = 0.1;
  EXPECT_EQ(LinearLayerIndices(c), (std::vector<int>{0, 3, 6}));
  std::remove(path.c_str());
}

}  // namespace
}  // namespace nhits
