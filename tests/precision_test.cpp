// The consistency harness for the inference kernels and precisions: every kernel against an
// exact (integer) or float64 reference, the large-batch paths against the small-batch ones, and
// whole models in BF16/INT8 against the FP32 reference with stated tolerances.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "backend/cpu/quantized_linear.h"
#include "model/packed_network.h"
#include "nhits/inference.h"
#include "nhits/precision.h"
#include "nhits/safetensors.h"

namespace nhits {
namespace {

std::vector<float> Random(std::size_t n, std::uint32_t seed, float sd = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0, sd);
  std::vector<float> v(n);
  for (auto& x : v) x = nd(rng);
  return v;
}

float Bits(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

TEST(Bf16, RoundsToNearestEvenLikePyTorch) {
  EXPECT_EQ(cpu::FloatToBf16(1.0f), 0x3f80);
  EXPECT_EQ(cpu::FloatToBf16(Bits(0x3f808000u)), 0x3f80);  // tie, even mantissa stays
  EXPECT_EQ(cpu::FloatToBf16(Bits(0x3f818000u)), 0x3f82);  // tie, odd mantissa rounds up
  EXPECT_EQ(cpu::FloatToBf16(Bits(0x3f808001u)), 0x3f81);
  EXPECT_TRUE(std::isnan(cpu::Bf16ToFloat(cpu::FloatToBf16(std::nanf("")))));
  EXPECT_EQ(cpu::Bf16ToFloat(cpu::FloatToBf16(-2.5f)), -2.5f);
}

// float64 y = x W^T + b with the given (already rounded) weights.
std::vector<double> Reference(int batch, int in, int out, const std::vector<float>& x, const std::vector<double>& w,
                              const std::vector<float>& bias, bool relu) {
  std::vector<double> y(static_cast<std::size_t>(batch) * out);
  for (int b = 0; b < batch; ++b)
    for (int o = 0; o < out; ++o) {
      double s = bias[o];
      for (int i = 0; i < in; ++i) s += static_cast<double>(x[b * in + i]) * w[static_cast<std::size_t>(o) * in + i];
      y[static_cast<std::size_t>(b) * out + o] = relu ? std::max(s, 0.0) : s;
    }
  return y;
}

TEST(Bf16, SmallBatchKernelMatchesFloat64OnRoundedWeights) {
  for (int in : {1, 15, 16, 84, 200, 512})
    for (int batch = 1; batch <= 8; ++batch)
      for (bool relu : {false, true}) {
        const int out = 37;
        auto x = Random(static_cast<std::size_t>(batch) * in, in + batch), w = Random(static_cast<std::size_t>(out) * in, 9),
             bias = Random(out, 10);
        const cpu::Bf16Weights packed = cpu::PackBf16(out, in, w.data());
        std::vector<double> wr(w.size());
        for (std::size_t i = 0; i < w.size(); ++i) wr[i] = cpu::Bf16ToFloat(cpu::FloatToBf16(w[i]));
        const auto want = Reference(batch, in, out, x, wr, bias, relu);
        std::vector<float> y(static_cast<std::size_t>(batch) * out);
        // Two calls over split output ranges, as two threads would run it.
        const auto e = relu ? cpu::Epilogue::kRelu : cpu::Epilogue::kNone;
        cpu::Bf16SmallBatchLinear(batch, x.data(), packed, bias.data(), y.data(), out, 0, 16, e);
        cpu::Bf16SmallBatchLinear(batch, x.data(), packed, bias.data(), y.data(), out, 16, out, e);
        for (std::size_t i = 0; i < y.size(); ++i)
          ASSERT_NEAR(y[i], want[i], 1e-5 * (1 + std::abs(want[i]))) << "in " << in << " batch " << batch;
        std::vector<float> unpacked(w.size());
        cpu::UnpackBf16Rows(packed, 0, out, unpacked.data());
        for (std::size_t i = 0; i < w.size(); ++i) ASSERT_EQ(unpacked[i], static_cast<float>(wr[i]));
      }
}

TEST(Int8, WeightQuantisationIsSymmetricPerOutputChannel) {
  const int out = 5, in = 70;
  auto w = Random(out * in, 3);
  for (int i = 0; i < in; ++i) w[2 * in + i] = 0;  // an all-zero row must not divide by zero
  const cpu::Int8Weights q = cpu::QuantizeInt8(out, in, w.data());
  ASSERT_EQ(q.ld % 64, 0);
  for (int o = 0; o < out; ++o) {
    std::int32_t sum = 0, peak = 0;
    for (int i = 0; i < q.ld; ++i) {
      const int v = q.q[static_cast<std::size_t>(o) * q.ld + i];
      if (i >= in) {
        ASSERT_EQ(v, 0) << "padding";
        continue;
      }
      ASSERT_LE(std::abs(v), 127);
      ASSERT_LE(std::abs(w[o * in + i] - v * q.scale[o]), 0.5f * q.scale[o] * (1 + 1e-5f));
      sum += v;
      peak = std::max(peak, std::abs(v));
    }
    EXPECT_EQ(sum, q.row_sum[o]);
    if (o != 2) {
      EXPECT_EQ(peak, 127) << "the largest weight maps to 127";
    }
  }
}

// A float64 rendering of the definition in quantized_linear.h, for rows of mixed sign, rows after
// a ReLU (all >= 0: zero point 0, all 256 levels on the data), all-negative rows and zero rows.
TEST(Int8, ActivationQuantisationMatchesScalarDefinition) {
  for (int in : {1, 16, 37, 168, 512}) {
    const int batch = 5, ld = (in + 63) / 64 * 64;
    auto x = Random(static_cast<std::size_t>(batch) * in, in, 3.0f);
    for (int i = 0; i < in; ++i) {
      x[1 * in + i] = std::max(0.0f, x[1 * in + i]);
      x[2 * in + i] = -std::abs(x[2 * in + i]) - 0.5f;
      x[3 * in + i] = 0.0f;
      x[4 * in + i] = i == 0 ? 1e-38f : 0.0f;  // a range whose 255 / range overflows to inf
    }
    std::vector<std::uint8_t> q(static_cast<std::size_t>(batch) * ld);
    std::vector<float> scale(batch);
    std::vector<std::int32_t> zero(batch);
    cpu::QuantizeRowsU8(batch, in, x.data(), ld, {q.data(), scale.data(), zero.data()});
    for (int b = 0; b < batch; ++b) {
      double lo = 0, hi = 0;
      for (int i = 0; i < in; ++i) {
        lo = std::min(lo, static_cast<double>(x[b * in + i]));
        hi = std::max(hi, static_cast<double>(x[b * in + i]));
      }
      if (hi - lo <= 1e-30) {
        ASSERT_EQ(scale[b], 1.0f);
        ASSERT_EQ(zero[b], 0);
      } else {
        ASSERT_NEAR(scale[b], (hi - lo) / 255, 1e-6 * (hi - lo));
        ASSERT_EQ(zero[b], static_cast<int>(std::nearbyint(-lo / scale[b])));
      }
      ASSERT_GE(zero[b], 0);
      ASSERT_LE(zero[b], 255);
      if (b == 1) ASSERT_EQ(zero[b], 0) << "a ReLU output needs no offset";
      if (b == 2 && in > 1) ASSERT_EQ(zero[b], 255) << "an all-negative row puts zero at the top";
      for (int i = 0; i < ld; ++i) {
        const std::uint8_t got = q[static_cast<std::size_t>(b) * ld + i];
        if (i >= in) {
          ASSERT_EQ(got, zero[b]) << "padding decodes to zero";
          continue;
        }
        // Round to nearest: within half a step of the value, and the code decodes back to it.
        const double decoded = static_cast<double>(scale[b]) * (static_cast<int>(got) - zero[b]);
        ASSERT_NEAR(decoded, x[b * in + i], 0.5 * scale[b] * (1 + 1e-5)) << "in " << in << " b " << b << " i " << i;
      }
    }
  }
}

TEST(Int8, KernelsMatchExactIntegerDotProducts) {
  for (int in : {1, 63, 64, 84, 168, 200, 512})
    for (int batch : {1, 2, 3, 8, 37}) {
      const int out = 43;
      auto x = Random(static_cast<std::size_t>(batch) * in, in * 7 + batch), w = Random(static_cast<std::size_t>(out) * in, 4),
           bias = Random(out, 5);
      const cpu::Int8Weights q = cpu::QuantizeInt8(out, in, w.data());
      std::vector<std::uint8_t> xq(static_cast<std::size_t>(batch) * q.ld);
      std::vector<float> xs(batch);
      std::vector<std::int32_t> xz(batch);
      const cpu::QuantizedRows rows{xq.data(), xs.data(), xz.data()};
      cpu::QuantizeRowsU8(batch, in, x.data(), q.ld, rows);
      std::vector<float> small(static_cast<std::size_t>(batch) * out), gemm(small.size());
      for (int b0 = 0; b0 < batch; b0 += 8)
        cpu::Int8SmallBatchLinear(std::min(8, batch - b0),
                                  {xq.data() + static_cast<std::size_t>(b0) * q.ld, xs.data() + b0, xz.data() + b0},
                                  q, bias.data(), small.data() + static_cast<std::size_t>(b0) * out, out, 0, out,
                                  cpu::Epilogue::kRelu);
      std::vector<std::int32_t> acc(static_cast<std::size_t>(batch) * out);
      cpu::Int8GemmLinear(batch, rows, q, bias.data(), gemm.data(), acc.data(), cpu::Epilogue::kRelu);
      for (int b = 0; b < batch; ++b)
        for (int o = 0; o < out; ++o) {
          std::int64_t dot = 0;
          for (int i = 0; i < in; ++i)
            dot += (static_cast<int>(xq[static_cast<std::size_t>(b) * q.ld + i]) - xz[b]) * q.q[static_cast<std::size_t>(o) * q.ld + i];
          const double want = std::max(0.0, static_cast<double>(dot) * xs[b] * q.scale[o] + bias[o]);
          ASSERT_NEAR(small[b * out + o], want, 1e-5 * (1 + std::abs(want))) << "small in " << in << " batch " << batch;
          ASSERT_NEAR(gemm[b * out + o], want, 1e-5 * (1 + std::abs(want))) << "gemm in " << in << " batch " << batch;
        }
    }
}

// How far a precision is from the FP32 reference: max |error| over the window's standard deviation
// (the measure: what a forecast error means to a user), and over the largest part of the
// forecast the network itself adds to the Naive level (so a small network output cannot hide it).
struct PrecisionError {
  double over_scale = 0, over_network = 0;
};
PrecisionError WorstError(const Model& model, const PrecisionPlan& plan, int batch, int threads) {
  const NhitsConfig& c = model.config();
  const int L = c.input_size, HQ = c.h * c.outputs_per_step();
  std::mt19937 rng(11);
  std::normal_distribution<float> nd(0, 1);
  std::vector<float> x(static_cast<std::size_t>(batch) * L), m(x.size(), 1.0f), ref(static_cast<std::size_t>(batch) * HQ),
      got(ref.size());
  for (int b = 0; b < batch; ++b) {  // random walks around different levels
    float level = 100.0f * (b + 1);
    for (int t = 0; t < L; ++t) x[static_cast<std::size_t>(b) * L + t] = level += nd(rng);
  }
  model.PredictWindows(batch, x.data(), m.data(), ref.data());
  InferenceSession session(model, batch, threads, plan);
  EXPECT_TRUE(session.Predict(batch, x.data(), m.data(), got.data()).ok());
  PrecisionError worst;
  for (int b = 0; b < batch; ++b) {
    const float* xb = x.data() + static_cast<std::size_t>(b) * L;
    double mean = 0, var = 0, network = 0, err = 0;
    for (int t = 0; t < L; ++t) mean += xb[t] / L;
    for (int t = 0; t < L; ++t) var += std::pow(xb[t] - mean, 2) / L;
    for (int i = 0; i < HQ; ++i) {
      const std::size_t k = static_cast<std::size_t>(b) * HQ + i;
      err = std::max(err, std::abs(static_cast<double>(got[k]) - ref[k]));
      network = std::max(network, std::abs(static_cast<double>(ref[k]) - xb[L - 1]));
    }
    worst.over_scale = std::max(worst.over_scale, err / std::sqrt(var));
    worst.over_network = std::max(worst.over_network, err / network);
  }
  return worst;
}

Model DefaultModel() {
  NhitsConfig c;
  c.h = 24;
  c.input_size = 168;
  c.scaler_type = ScalerType::kStandard;
  Model model(c);
  model.mutable_network().InitParams(21);
  return model;
}

TEST(Precision, WholeModelStaysWithinStatedBoundsOfFp32) {
  const Model model = DefaultModel();
  // batch 3 runs the small-batch kernels on the pool, batch 40 the GEMM paths.
  for (int batch : {3, 40}) {
    const PrecisionError fp32 = WorstError(model, {Precision::kFp32, {}}, batch, 2);
    const PrecisionError bf16 = WorstError(model, {Precision::kBf16, {}}, batch, 2);
    const PrecisionError int8 = WorstError(model, {Precision::kInt8, {}}, batch, 2);
    std::printf("batch %d: max |error| vs FP32 over window std: fp32 %.2e bf16 %.2e int8 %.2e; "
                "over the network's part: fp32 %.2e bf16 %.2e int8 %.2e\n",
                batch, fp32.over_scale, bf16.over_scale, int8.over_scale, fp32.over_network, bf16.over_network,
                int8.over_network);
    EXPECT_LT(fp32.over_scale, 1e-5) << "batch " << batch;
    EXPECT_LT(fp32.over_network, 1e-4) << "batch " << batch;
    EXPECT_LT(bf16.over_scale, 2e-3) << "batch " << batch;
    EXPECT_LT(bf16.over_network, 2e-2) << "batch " << batch;
    EXPECT_LT(int8.over_network, 1e-1) << "batch " << batch;
    EXPECT_LT(int8.over_scale, 1e-2) << "batch " << batch;  // the 1% of the series' scale
  }
  // Keeping every layer in FP32 must give the FP32 answer back.
  PrecisionPlan all_fp32{Precision::kInt8, {}};
  const auto& blocks = model.network().layout().blocks;
  for (std::size_t b = 0; b < blocks.size(); ++b)
    for (std::size_t l = 0; l < blocks[b].layers.size(); ++l)
      all_fp32.fp32_layers.emplace_back(static_cast<int>(b), static_cast<int>(l));
  EXPECT_LT(WorstError(model, all_fp32, 3, 1).over_network, 1e-4);
}

TEST(Precision, LowerPrecisionsStreamFewerBytes) {
  const Model model = DefaultModel();
  const std::size_t fp32 = InferenceSession(model, 1, 1, {Precision::kFp32, {}}).memory().packed_weight_bytes;
  const std::size_t bf16 = InferenceSession(model, 1, 1, {Precision::kBf16, {}}).memory().packed_weight_bytes;
  const std::size_t int8 = InferenceSession(model, 1, 1, {Precision::kInt8, {}}).memory().packed_weight_bytes;
  // Every parameter once, except the last block's backcast rows, which feed no later block, and
  // each block's first two layers, streamed as the one layer they compose into.
  const LinearSlot& last = model.network().layout().blocks.back().layers.back();
  double unused = static_cast<double>(model.config().input_size) * (last.in + 1);
  for (const BlockLayout& blk : model.network().layout().blocks) {
    const LinearSlot &a = blk.layers[0], &b = blk.layers[1];
    unused += static_cast<double>(a.out) * (a.in + 1) + static_cast<double>(b.out) * (b.in + 1) -
              static_cast<double>(b.out) * (a.in + 1);
  }
  EXPECT_NEAR(static_cast<double>(fp32), (static_cast<double>(model.ParameterCount()) - unused) * 4.0, 64.0);
  EXPECT_LT(bf16, fp32 * 0.56);
  EXPECT_LT(int8, fp32 * 0.31);
}

TEST(Precision, MaxBatchForBudgetIsExact) {
  const Model model = DefaultModel();
  for (Precision p : {Precision::kFp32, Precision::kInt8})
    for (std::size_t budget : {std::size_t{12} << 20, std::size_t{20} << 20, std::size_t{64} << 20, std::size_t{256} << 20}) {
      const PrecisionPlan plan{p, {}};
      const int b = InferenceSession::MaxBatchForBudget(model, plan, budget);
      auto total = [&](int batch) {
        return InferenceSession::WeightBytes(model, plan, batch) + InferenceSession::ArenaBytes(model, plan, batch);
      };
      if (b == 0) {
        EXPECT_GT(total(1), budget);
        continue;
      }
      EXPECT_LE(total(b), budget) << ToString(p) << " " << budget;
      EXPECT_GT(total(b + 1), budget) << ToString(p) << " " << budget;
    }
  // The arena a session reserves is what the calculation says, and calls use all of it.
  // (FP32 at batch 64 includes the oneDNN matmuls' scratchpad.)
  for (Precision p : {Precision::kFp32, Precision::kInt8}) {
    InferenceSession s(model, 64, 1, {p, {}});
    EXPECT_EQ(s.memory().reserved_bytes, InferenceSession::ArenaBytes(model, {p, {}}, 64)) << ToString(p);
    EXPECT_DOUBLE_EQ(s.memory().efficiency(), 1.0) << ToString(p);
  }
}

TEST(Precision, PlanRoundTripsThroughCheckpointMetadata) {
  PrecisionPlan plan{Precision::kInt8, {{0, 0}, {2, 4}}};
  std::map<std::string, std::string> meta;
  PrecisionPlanToMetadata(plan, &meta);
  auto back = PrecisionPlanFromMetadata(meta);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->precision, Precision::kInt8);
  EXPECT_EQ(back->fp32_layers, plan.fp32_layers);
  EXPECT_TRUE(back->KeepsFp32(2, 4));
  EXPECT_FALSE(back->KeepsFp32(1, 4));
  EXPECT_EQ(back->Describe(), "int8 (2 layers kept fp32: 0.0 2.4)");
  EXPECT_FALSE(PrecisionPlanFromMetadata({{kPrecisionKey, "int4"}}).ok());
  EXPECT_FALSE(PrecisionPlanFromMetadata({{kPrecisionKey, "int8"}, {kFp32LayersKey, "0-1"}}).ok());
  EXPECT_EQ(PrecisionPlanFromMetadata({})->precision, Precision::kFp32);
  EXPECT_FALSE(ParsePrecision("fp16").ok());
}

}  // namespace
}  // namespace nhits

namespace nhits {
namespace {

TEST(Precision, QuantisedCheckpointsRoundTripExactly) {
  const Model model = DefaultModel();
  const std::string dir = testing::TempDir();
  for (Precision p : {Precision::kBf16, Precision::kInt8}) {
    const PrecisionPlan plan{p, {{0, 4}, {2, 0}}};
    const std::string path = dir + "/quantised_" + ToString(p) + ".safetensors";
    ASSERT_TRUE(SaveCheckpoint(path, model, nullptr, {}, plan).ok());
    CheckpointInfo info;
    auto loaded = LoadCheckpoint(path, &info);
    ASSERT_TRUE(loaded.ok()) << loaded.status().message();
    auto back = PrecisionPlanFromMetadata(info);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->precision, p);
    EXPECT_EQ(back->fp32_layers, plan.fp32_layers);
    // FP32 layers are untouched, and so is a pair that folds at inference (block 1's first two:
    // one precision); quantised layers hold their dequantised values. Block 2's first layer is
    // FP32 and its second is not: no fold, so the second is stored rounded.
    const auto& layout = model.network().layout();
    const auto same = [&](const LinearSlot& l) {
      return loaded->network().params()[l.weight + 7] == model.network().params()[l.weight + 7];
    };
    EXPECT_TRUE(same(layout.blocks[0].layers[4]));
    EXPECT_TRUE(same(layout.blocks[1].layers[0]));
    EXPECT_TRUE(same(layout.blocks[1].layers[1]));
    EXPECT_FALSE(same(layout.blocks[1].layers[2]));
    EXPECT_FALSE(same(layout.blocks[2].layers[1]));
    // Re-quantising the loaded weights gives the same kernels' inputs: identical forecasts.
    std::vector<float> x(2 * 168), m(x.size(), 1.0f), a(2 * 24), b(2 * 24);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.1f * i) * 10 + 50;
    InferenceSession original(model, 2, 1, plan), reloaded(*loaded, 2, 1, *back);
    ASSERT_TRUE(original.Predict(2, x.data(), m.data(), a.data()).ok());
    ASSERT_TRUE(reloaded.Predict(2, x.data(), m.data(), b.data()).ok());
    for (std::size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], b[i]) << ToString(p) << " output " << i;
  }
}

// An INT8 plan may run chosen layers in BF16 (`nhits quantize --fallback bf16`): those layers
// must run exactly the BF16 kernels, the plan must survive the checkpoint, and the checkpoint
// must store them as BF16.
TEST(Precision, Int8PlansWithBf16LayersRunTheBf16KernelsAndRoundTrip) {
  const Model model = DefaultModel();
  PrecisionPlan all_bf16{Precision::kInt8, {}};
  const auto& blocks = model.network().layout().blocks;
  for (std::size_t b = 0; b < blocks.size(); ++b)
    for (std::size_t l = 0; l < blocks[b].layers.size(); ++l)
      all_bf16.bf16_layers.emplace_back(static_cast<int>(b), static_cast<int>(l));
  EXPECT_EQ(all_bf16.LayerPrecision(1, 2), Precision::kBf16);
  const PrecisionPlan bf16{Precision::kBf16, {}};
  std::vector<float> x(40 * 168), m(x.size(), 1.0f);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.07f * static_cast<float>(i)) * 10 + 50;
  for (int batch : {3, 40}) {  // the small-batch kernels and the large-batch paths
    std::vector<float> a(batch * 24), c(batch * 24);
    InferenceSession mixed(model, batch, 2, all_bf16), pure(model, batch, 2, bf16);
    ASSERT_TRUE(mixed.Predict(batch, x.data(), m.data(), a.data()).ok());
    ASSERT_TRUE(pure.Predict(batch, x.data(), m.data(), c.data()).ok());
    for (std::size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], c[i]) << "batch " << batch << " output " << i;
    EXPECT_EQ(mixed.memory().packed_weight_bytes, pure.memory().packed_weight_bytes);
  }

  // A real mix: one layer FP32, two BF16, the rest INT8.
  const PrecisionPlan plan{Precision::kInt8, {{0, 4}}, {{1, 0}, {2, 2}}};
  EXPECT_EQ(plan.Describe(), "int8 (1 layer kept fp32: 0.4; 2 layers bf16: 1.0 2.2)");
  EXPECT_EQ(plan.LayerPrecision(0, 4), Precision::kFp32);
  EXPECT_EQ(plan.LayerPrecision(2, 2), Precision::kBf16);
  EXPECT_EQ(plan.LayerPrecision(2, 3), Precision::kInt8);
  const PrecisionError e = WorstError(model, plan, 3, 2);
  EXPECT_LT(e.over_scale, 1e-2);
  const std::string path = testing::TempDir() + "/mixed.safetensors";
  ASSERT_TRUE(SaveCheckpoint(path, model, nullptr, {}, plan).ok());
  auto file = ReadSafetensors(path);
  ASSERT_TRUE(file.ok());
  // Block 0's first two layers fold into one at inference (both INT8): stored exactly, in FP32.
  EXPECT_EQ(file->tensors.at("blocks.0.layers.0.weight").dtype, "F32");
  EXPECT_EQ(file->tensors.at("blocks.0.layers.1.weight").dtype, "F32");
  EXPECT_EQ(file->tensors.at("blocks.0.layers.3.weight").dtype, "I8");    // linear layer 2
  EXPECT_EQ(file->tensors.at("blocks.1.layers.0.weight").dtype, "BF16");  // BF16 then INT8: no fold
  EXPECT_EQ(file->tensors.at("blocks.0.layers.7.weight").dtype, "F32");  // linear layer 4 = module 7
  CheckpointInfo info;
  auto loaded = LoadCheckpoint(path, &info);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  auto back = PrecisionPlanFromMetadata(info);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->fp32_layers, plan.fp32_layers);
  EXPECT_EQ(back->bf16_layers, plan.bf16_layers);
  std::vector<float> a(3 * 24), c(3 * 24);
  InferenceSession original(model, 3, 1, plan), reloaded(*loaded, 3, 1, *back);
  ASSERT_TRUE(original.Predict(3, x.data(), m.data(), a.data()).ok());
  ASSERT_TRUE(reloaded.Predict(3, x.data(), m.data(), c.data()).ok());
  for (std::size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], c[i]) << "output " << i;

  // BF16 layers belong to INT8 plans only.
  EXPECT_FALSE(PrecisionPlanFromMetadata({{kPrecisionKey, "bf16"}, {kBf16LayersKey, "0.1"}}).ok());
  EXPECT_FALSE(PrecisionPlanFromMetadata({{kPrecisionKey, "int8"}, {kBf16LayersKey, "x"}}).ok());
}

// Which layers compose with the next at inference: neuralforecast's linear first layer when a
// hidden layer follows in the same precision; never an activated layer (the paper's MLP).
TEST(Precision, OnlyAnUnactivatedLayerFoldsIntoTheNextOfItsPrecision) {
  const Model model = DefaultModel();
  const BlockLayout& blk = model.network().layout().blocks[1];
  ASSERT_EQ(blk.layers.size(), 5u);
  const PrecisionPlan fp32{Precision::kFp32, {}}, int8{Precision::kInt8, {}};
  EXPECT_TRUE(FoldsIntoNext(blk, fp32, 1, 0));
  EXPECT_TRUE(FoldsIntoNext(blk, int8, 1, 0));
  for (int li = 1; li < 5; ++li) EXPECT_FALSE(FoldsIntoNext(blk, fp32, 1, li)) << li;
  const PrecisionPlan mixed{Precision::kInt8, {{1, 1}}};  // layer 1 kept FP32, layer 0 INT8
  EXPECT_FALSE(FoldsIntoNext(blk, mixed, 1, 0));
  EXPECT_TRUE(FoldsIntoNext(blk, mixed, 0, 0)) << "another block's plan";
  NhitsConfig paper = model.config();
  paper.mlp_units = {{512, 512}};
  paper.first_layer_activation = true;
  const Model paper_model(paper);
  for (const BlockLayout& b : paper_model.network().layout().blocks)
    for (int li = 0; li < static_cast<int>(b.layers.size()); ++li) EXPECT_FALSE(FoldsIntoNext(b, fp32, 0, li));
}

TEST(Precision, Int8CheckpointNeedsItsScales) {
  const Model model = DefaultModel();
  const std::string path = testing::TempDir() + "/int8_no_scale.safetensors";
  ASSERT_TRUE(SaveCheckpoint(path, model, nullptr, {}, {Precision::kInt8, {}}).ok());
  auto file = ReadSafetensors(path);
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->tensors.at("blocks.0.layers.0.weight").dtype, "F32");  // folds into layer 1: stored exactly
  EXPECT_EQ(file->tensors.at("blocks.0.layers.3.weight").dtype, "I8");
  file->tensors.erase("blocks.1.layers.3.weight_scale");
  ASSERT_TRUE(WriteSafetensors(path, *file).ok());
  auto loaded = LoadCheckpoint(path);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("blocks.1.layers.3.weight_scale"), std::string::npos)
      << loaded.status().message();
}

}  // namespace
}  // namespace nhits
