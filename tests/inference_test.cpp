// The serving path (InferenceSession: small-batch kernels on a thread pool, preallocated
// buffers) against the float64 network on the same weights, for every batch size it takes.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>
#include <random>
#include <thread>

#include "backend/cpu/quantized_linear.h"
#include "backend/cpu/small_batch_linear.h"
#include "backend/cpu/thread_pool.h"
#include "nhits/hw.h"
#include "nhits/inference.h"
#include "nhits/scaler.h"

namespace nhits {
namespace {

// A per-call thread budget: sections run on the first n threads only, each told n, and the
// whole pool again once the budget is lifted.
TEST(ThreadPool, SetActiveLimitsASectionToItsFirstThreads) {
  cpu::ThreadPool pool(4);
  auto ran = [&pool] {
    std::array<std::atomic<int>, 4> seen{};
    std::atomic<int> told{0};
    auto work = [&](int t, int n) {
      seen[static_cast<std::size_t>(t)] += 1;
      told = n;
    };
    pool.Run(work);
    std::vector<int> out;
    for (auto& v : seen) out.push_back(v.load());
    out.push_back(told.load());
    return out;
  };
  pool.SetActive(2);
  for (int rep = 0; rep < 50; ++rep) ASSERT_EQ(ran(), (std::vector<int>{1, 1, 0, 0, 2}));
  pool.SetActive(1);
  EXPECT_EQ(ran(), (std::vector<int>{1, 0, 0, 0, 1}));
  pool.SetActive(0);
  EXPECT_EQ(ran(), (std::vector<int>{1, 1, 1, 1, 4}));
}

TEST(InferenceSession, MatchesFloat64ReferenceAtEveryBatchSize) {
  NhitsConfig c;
  c.h = 24;
  c.input_size = 168;
  c.scaler_type = ScalerType::kRobust;
  c.loss = LossType::kMQLoss;
  c.level = {80};
  c.mlp_units = {{200, 200}, {200, 200}};  // 200: rows that are not a multiple of 16
  Model model(c);
  model.mutable_network().InitParams(5);
  Network<double> reference(c);
  reference.params().assign(model.network().params().begin(), model.network().params().end());

  std::mt19937 rng(3);
  std::normal_distribution<float> nd(100, 20);
  const int L = c.input_size, HQ = c.h * c.outputs_per_step();
  for (int threads : {1, 2}) {
    InferenceSession session(model, 8, threads);
    for (int batch = 1; batch <= 8; ++batch) {
      std::vector<float> x(batch * L), m(batch * L, 1.0f), out(batch * HQ);
      for (auto& v : x) v = nd(rng);
      for (int t = 0; t < 10; ++t) x[t] = 0, m[t] = 0;  // a padded window
      ASSERT_TRUE(session.Predict(batch, x.data(), m.data(), out.data()).ok());
      // float64 reference: same scaling, double network, inverse scaling
      std::vector<double> xs(batch * L), md(m.begin(), m.end()), ref(batch * HQ);
      std::vector<ScaleStats> st(batch);
      for (int b = 0; b < batch; ++b) {
        st[b] = ComputeScaleStats(c.scaler_type, &x[b * L], &m[b * L], L);
        for (int t = 0; t < L; ++t) xs[b * L + t] = ScaleValue(c.scaler_type, st[b], x[b * L + t]);
      }
      Workspace<double> ws;
      reference.Forward(batch, xs.data(), md.data(), ref.data(), ws, false, nullptr);
      double worst = 0;
      for (int b = 0; b < batch; ++b)
        for (int i = 0; i < HQ; ++i) {
          const double want = UnscaleValue(c.scaler_type, st[b], ref[b * HQ + i]);
          worst = std::max(worst, std::abs(out[b * HQ + i] - want) / std::max(1.0, std::abs(want)));
        }
      EXPECT_LT(worst, 1e-5) << "threads " << threads << " batch " << batch << " isa " << cpu::SmallBatchLinearIsa();
    }
  }
}

// Exogenous inputs through the serving kernels: every batch size of both paths (small-batch
// kernels, oneDNN above 8), each precision, against Model::PredictWindows (the FP32 network that
// matches neuralforecast's predict with hist, futr and stat inputs).
TEST(InferenceSession, ExogenousInputsMatchTheReferenceNetwork) {
  NhitsConfig c;
  c.h = 12;
  c.input_size = 23;
  c.n_pool_kernel_size = {5, 3, 1};
  c.mlp_units = {{64, 64}, {64, 64}};
  c.scaler_type = ScalerType::kStandard;
  c.hist_exog_list = {"volume", "spread"};
  c.futr_exog_list = {"promo"};
  c.stat_exog_list = {"size"};
  Model model(c);
  model.mutable_network().InitParams(9);
  const int L = c.input_size, H = c.h;
  std::mt19937 rng(4);
  std::normal_distribution<float> nd(0, 1);
  const int most = 12;
  std::vector<float> x(most * L), m(most * L, 1.0f), hist(most * L * 2), futr(most * (L + H)), stat(most);
  for (auto& v : x) v = 50 + 5 * nd(rng);
  for (auto* v : {&hist, &futr, &stat})
    for (auto& e : *v) e = 10 * nd(rng);
  for (int t = 0; t < 4; ++t) x[t] = 0, m[t] = 0;  // a padded window
  const ExogBatch<float> exog{hist.data(), futr.data(), stat.data()};
  std::vector<float> want(most * H);
  model.PredictWindows(most, x.data(), m.data(), exog, want.data());
  // The inputs matter: other future values of the futr column move the forecast (a shift of the
  // whole column would not: the scaler removes it per window).
  std::vector<float> futr2(futr), moved(most * H);
  for (int b = 0; b < most; ++b)
    for (int t = L; t < L + H; ++t) futr2[b * (L + H) + t] += 3;
  model.PredictWindows(most, x.data(), m.data(), {hist.data(), futr2.data(), stat.data()}, moved.data());
  EXPECT_GT(std::abs(moved[0] - want[0]), 1e-3);
  for (Precision p : {Precision::kFp32, Precision::kBf16, Precision::kInt8}) {
    const double tol = p == Precision::kFp32 ? 1e-5 : p == Precision::kBf16 ? 3e-2 : 6e-2;
    InferenceSession session(model, most, 2, PrecisionPlan{p, {}, {}});
    for (int batch : {1, 3, 8, 9, 12}) {
      std::vector<float> out(batch * H);
      ASSERT_TRUE(session.Predict(batch, x.data(), m.data(), exog, out.data()).ok());
      double worst = 0;
      for (int i = 0; i < batch * H; ++i)
        worst = std::max(worst, std::abs(out[i] - want[i]) / std::max(1.0, std::abs(static_cast<double>(want[i]))));
      EXPECT_LT(worst, tol) << ToString(p) << " batch " << batch;
    }
    std::vector<float> out(H);
    EXPECT_EQ(session.Predict(1, x.data(), m.data(), out.data()).code(), Status::Code::kInvalidArgument)
        << "a model with exogenous inputs refuses a call without them";
  }
}

// Small enough to be quick, with hidden widths (96) that are not a multiple of the kernels' tiles.
Model ThreeBlockModel(std::uint64_t seed) {
  NhitsConfig c;
  c.h = 12;
  c.input_size = 48;
  c.mlp_units = {{96, 96}, {96, 96}, {96, 96}};
  Model model(c);
  model.mutable_network().InitParams(seed);
  return model;
}

// A serving worker narrows a session to one thread while its peers are busy: every batch size
// (small-batch kernels and the oneDNN path) must give the same forecasts on 1 thread as on all.
TEST(InferenceSession, PerCallThreadCountGivesTheSameForecasts) {
  const Model model = ThreeBlockModel(9);
  const NhitsConfig& c = model.config();
  InferenceSession session(model, 40, 2);
  EXPECT_EQ(session.threads(), 2);
  std::mt19937 rng(4);
  std::normal_distribution<float> nd(0, 1);
  for (int batch : {1, 5, 8, 9, 40}) {
    std::vector<float> x(batch * c.input_size), m(x.size(), 1.0f), all(batch * c.h), one(all.size());
    for (auto& v : x) v = nd(rng);
    ASSERT_TRUE(session.Predict(batch, x.data(), m.data(), all.data(), 0).ok());
    ASSERT_TRUE(session.Predict(batch, x.data(), m.data(), one.data(), 1).ok());
    for (std::size_t i = 0; i < all.size(); ++i) EXPECT_NEAR(one[i], all[i], 1e-5f * (1 + std::abs(all[i]))) << "batch " << batch;
  }
}

// A model's serving workers share one copy of the packed weights (Sibling): siblings running at
// the same time, on the small-batch kernels and on the shared oneDNN primitives with their own
// scratchpads, must each give exactly what the first session gives alone.
TEST(InferenceSession, SiblingsShareWeightsAndRunConcurrently) {
  const Model model = ThreeBlockModel(11);
  const NhitsConfig& c = model.config();
  for (Precision p : {Precision::kFp32, Precision::kBf16, Precision::kInt8}) {
    InferenceSession first(model, 64, 1, {p, {}});
    std::unique_ptr<InferenceSession> a = first.Sibling(1), b = first.Sibling(1);
    ASSERT_EQ(a->max_batch(), 64);
    // The packed copies are counted once: at the first session, shared by the siblings.
    EXPECT_EQ(a->memory().owned_weight_bytes, 0u);
    EXPECT_EQ(a->memory().shared_weight_bytes, first.memory().owned_weight_bytes);
    EXPECT_EQ(a->memory().reserved_bytes, first.memory().reserved_bytes);
    std::mt19937 rng(5);
    std::normal_distribution<float> nd(0, 1);
    const std::vector<int> batches = {1, 8, 9, 64};
    std::vector<std::vector<float>> inputs, want;
    for (int batch : batches) {
      std::vector<float> x(batch * c.input_size), m(x.size(), 1.0f), out(batch * c.h);
      for (auto& v : x) v = nd(rng);
      ASSERT_TRUE(first.Predict(batch, x.data(), m.data(), out.data()).ok());
      inputs.push_back(std::move(x));
      want.push_back(std::move(out));
    }
    auto hammer = [&](InferenceSession* s, int* mismatches) {
      for (int rep = 0; rep < 20; ++rep)
        for (std::size_t i = 0; i < batches.size(); ++i) {
          std::vector<float> m(inputs[i].size(), 1.0f), out(want[i].size());
          if (!s->Predict(batches[i], inputs[i].data(), m.data(), out.data()).ok() || out != want[i]) ++*mismatches;
        }
    };
    int bad_a = 0, bad_b = 0;
    std::thread ta(hammer, a.get(), &bad_a), tb(hammer, b.get(), &bad_b);
    ta.join();
    tb.join();
    EXPECT_EQ(bad_a, 0) << ToString(p);
    EXPECT_EQ(bad_b, 0) << ToString(p);
  }
}

// Without the small-batch panels (the memory-efficient profile) a session keeps no second copy
// of its FP32 weights and still gives the same forecasts, through the row-major kernel.
TEST(InferenceSession, PanelsOffSaveTheirCopyAndKeepTheForecasts) {
  const Model model = ThreeBlockModel(12);
  const NhitsConfig& c = model.config();
  InferenceSession with(model, 8, 1), without(model, 8, 1, {}, SessionLayout{.small_batch_panels = false});
  const std::size_t saved = with.memory().owned_weight_bytes - without.memory().owned_weight_bytes;
  if (std::string(cpu::SmallBatchLinearIsa()) != "portable") {
    // The panels hold at least every executed FP32 weight (padded to whole panels).
    EXPECT_GE(saved, static_cast<std::size_t>(with.ExecutedFlopsPerForecast() / 2) * sizeof(float));
  } else {
    EXPECT_EQ(saved, 0u);  // the portable build never packs them
  }
  std::mt19937 rng(6);
  std::normal_distribution<float> nd(0, 1);
  for (int batch : {1, 2, 3, 8}) {
    std::vector<float> x(batch * c.input_size), m(x.size(), 1.0f), a(batch * c.h), b(a.size());
    for (auto& v : x) v = nd(rng);
    ASSERT_TRUE(with.Predict(batch, x.data(), m.data(), a.data()).ok());
    ASSERT_TRUE(without.Predict(batch, x.data(), m.data(), b.data()).ok());
    for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-5f * (1 + std::abs(a[i]))) << "batch " << batch;
  }
}

// The roofline counts what the kernels run: neuralforecast's FLOPs minus each block's folded
// 16x16 layer (its linear first layer composed with the next) and the last block's 12 backcast
// rows of its 16-wide output layer, counted here from the shapes alone.
TEST(InferenceSession, ExecutedFlopsLeaveOutTheFoldsAndTheLastBackcast) {
  NhitsConfig c;
  c.h = 4;
  c.input_size = 12;
  c.mlp_units = {{16, 16}, {16, 16}};
  Model model(c);
  const InferenceSession session(model, 1, 1);
  const std::int64_t folds = 3 * 16 * 16, last_backcast = 16 * 12;
  EXPECT_EQ(model.FlopsPerForecast() - session.ExecutedFlopsPerForecast(), 2 * (folds + last_backcast));
  // A BF16 first layer beside an FP32 second one does not fold: block 0 keeps its 16x16 product.
  const PrecisionPlan mixed{Precision::kBf16, {{0, 1}}, {}};
  const InferenceSession partly(model, 1, 1, mixed);
  EXPECT_EQ(model.FlopsPerForecast() - partly.ExecutedFlopsPerForecast(), 2 * (2 * 16 * 16 + last_backcast));
}

// 0 threads means every usable core (predict's and quantize's sessions ask for 0): the thread
// pool alone clamped it to one, and BF16/INT8 predictions ran on a single core.
TEST(InferenceSession, ZeroThreadsMeansEveryUsableCore) {
  NhitsConfig c;
  c.h = 4;
  c.input_size = 8;
  c.mlp_units = {{8, 8}};
  Model model(c);
  EXPECT_EQ(InferenceSession(model, 2, 0).threads(), UsableCores());
  EXPECT_EQ(InferenceSession(model, 2, 1).threads(), 1);
}

TEST(InferenceSession, RejectsBatchOutsideItsSize) {
  NhitsConfig c;
  c.h = 4;
  c.input_size = 8;
  c.mlp_units = {{8, 8}};
  Model model(c);
  InferenceSession session(model, 2, 1);
  std::vector<float> x(3 * 8), m(3 * 8, 1.0f), out(3 * 4);
  EXPECT_FALSE(session.Predict(3, x.data(), m.data(), out.data()).ok());
  EXPECT_FALSE(session.Predict(0, x.data(), m.data(), out.data()).ok());
  EXPECT_GT(session.memory().reserved_bytes, 0u);
}

// The panel layout at every small batch: odd widths (x past `in` is NaN, which must not leak in),
// rows that fill no whole panel, and a range that starts inside the matrix as a thread's slice does.
TEST(SmallBatchLinear, PanelsMatchDoubleDotProducts) {
  if (std::string(cpu::SmallBatchLinearIsa()) == "portable") GTEST_SKIP() << "panels need AVX2 or AVX-512";
  std::mt19937 rng(2);
  std::uniform_real_distribution<float> u(-1, 1);
  for (int batch = 1; batch <= cpu::kSmallBatchMax; ++batch)
    for (int in : {1, 15, 16, 17, 24, 25, 84, 512})
      for (int out : {1, 7, 8, 37, 174}) {
        // x rows are `in` apart; the last row's tail past `in` is NaN
        std::vector<float> x(batch * in + 16, std::numeric_limits<float>::quiet_NaN()), w(out * in), bias(out),
            y(batch * out, -7.0f);
        for (int i = 0; i < batch * in; ++i) x[i] = u(rng);
        for (auto* v : {&w, &bias})
          for (auto& e : *v) e = u(rng);
        const cpu::Fp32Panels panels = cpu::PackFp32Panels(out, in, w.data());
        ASSERT_FALSE(panels.empty());
        const int begin = out > 16 ? 16 : 0;
        cpu::PanelLinear(batch, x.data(), panels, bias.data(), y.data(), out, begin, out, cpu::Epilogue::kRelu);
        for (int b = 0; b < batch; ++b)
          for (int o = 0; o < out; ++o) {
            if (o < begin) {
              EXPECT_EQ(y[b * out + o], -7.0f) << "row " << o << " is outside the range and must stay as it was";
              continue;
            }
            double s = bias[o];
            for (int i = 0; i < in; ++i) s += static_cast<double>(x[b * in + i]) * w[o * in + i];
            EXPECT_NEAR(y[b * out + o], std::max(s, 0.0), 1e-5)
                << "batch " << batch << " in " << in << " out " << out << " window " << b << " row " << o;
          }
      }
}

// NHITS_MAX_CPU_ISA must select the kernels it names, or kernels_avx2_isa would test the AVX-512
// ones a second time and the AVX2 ones never (ctest runs this under each cap).
TEST(SmallBatchLinear, IsaCapSelectsTheKernels) {
  const char* cap = std::getenv("NHITS_MAX_CPU_ISA");
  if (cap == nullptr) GTEST_SKIP() << "no NHITS_MAX_CPU_ISA cap in this run";
  if (std::string(cap) == "portable") {
    EXPECT_STREQ(cpu::SmallBatchLinearIsa(), "portable");
    EXPECT_STREQ(cpu::QuantizedLinearIsa(), "bf16:portable int8:portable");
  } else if (std::string(cap) == "avx2") {
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) GTEST_SKIP() << "this CPU has no AVX2 + FMA";
    EXPECT_STREQ(cpu::SmallBatchLinearIsa(), "avx2");
    EXPECT_STREQ(cpu::QuantizedLinearIsa(), "bf16:avx2 int8:avx2");
  }
}

// Every batch the kernel specialises (1..8), widths around the 8- and 16-lane vectors, and two
// calls over split output ranges, as two threads run it.
TEST(SmallBatchLinear, MatchesDoubleDotProductsForOddShapes) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1, 1);
  for (int batch = 1; batch <= cpu::kSmallBatchMax; ++batch)
    for (int in : {1, 7, 8, 9, 15, 16, 17, 84, 168}) {
      const int out = 37;
      std::vector<float> x(batch * in), w(out * in), bias(out), y(batch * out, -7.0f);
      for (auto* v : {&x, &w, &bias})
        for (auto& e : *v) e = u(rng);
      cpu::SmallBatchLinear(batch, in, x.data(), w.data(), bias.data(), y.data(), out, 0, 13);
      cpu::SmallBatchLinear(batch, in, x.data(), w.data(), bias.data(), y.data(), out, 13, out, cpu::Epilogue::kRelu);
      for (int b = 0; b < batch; ++b)
        for (int o = 0; o < out; ++o) {
          double s = bias[o];
          for (int i = 0; i < in; ++i) s += static_cast<double>(x[b * in + i]) * w[o * in + i];
          EXPECT_NEAR(y[b * out + o], o < 13 ? s : std::max(s, 0.0), 1e-5)
              << "batch " << batch << " in " << in << " row " << o << " isa " << cpu::SmallBatchLinearIsa();
        }
    }
}

}  // namespace
}  // namespace nhits
