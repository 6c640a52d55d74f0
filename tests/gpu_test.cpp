// The CUDA backend on a real GPU: every precision against the FP32 CPU reference (FP32/TF32
// within 1e-3 relative, FP16/BF16 within 1e-2), batch buckets through CUDA graphs, and memory
// statistics. Skipped, with the reason, where no GPU answers (every CI machine here).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <tuple>

#include "backend/cuda/cublaslt_api.h"
#include "backend/cuda/cuda_forecaster.h"
#include "backend/cuda/cuda_trainer.h"
#include "nhits/loss.h"
#include "train/adam.h"
#include "nhits/hw.h"

namespace nhits::cuda {
namespace {

Model DefaultModel() {
  NhitsConfig c;
  c.h = 24;
  c.input_size = 168;
  c.scaler_type = ScalerType::kStandard;
  Model m(c);
  m.mutable_network().InitParams(7);
  return m;
}

// Max |gpu - cpu| / max(|cpu|, 1) of the forecaster against Model::PredictWindows on `batch`
// random-walk windows of input_size points (the forecaster's Predict must succeed). With `holes`,
// every window has masked points (a missing tenth, and a padded start on odd windows), which
// reach the residuals and the scaler.
double WorstAgainstCpu(const Model& model, CudaForecaster& f, int batch, std::uint32_t seed, bool holes = false) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0, 1);
  const std::size_t columns = static_cast<std::size_t>(model.config().h) * model.config().outputs_per_step();
  const int L = model.config().input_size;
  std::vector<float> x(static_cast<std::size_t>(batch) * L), m(x.size(), 1.0f), cpu(batch * columns), gpu(cpu.size());
  for (int b = 0; b < batch; ++b) {
    float v = 50;
    for (int t = 0; t < L; ++t) {
      const std::size_t i = static_cast<std::size_t>(b) * L + t;
      x[i] = v += nd(rng);
      if (holes && (rng() % 10 == 0 || (b % 2 == 1 && t < L / 4))) m[i] = 0.0f, x[i] = t < L / 4 && b % 2 == 1 ? 0.0f : x[i];
    }
  }
  model.PredictWindows(batch, x.data(), m.data(), cpu.data());
  EXPECT_TRUE(f.Predict(batch, x.data(), m.data(), gpu.data()).ok());
  // NaN counts as the worst error: std::max(worst, NaN) would keep `worst` and pass an all-NaN GPU.
  double worst = 0;
  for (std::size_t i = 0; i < cpu.size(); ++i) {
    const double e = std::abs(static_cast<double>(gpu[i]) - cpu[i]) / std::max(1.0, std::abs(static_cast<double>(cpu[i])));
    worst = std::isfinite(e) ? std::max(worst, e) : std::numeric_limits<double>::infinity();
    if (std::isinf(worst)) break;
  }
  return worst;
}

// No GPU needed: cuBLASLt stays out of the process until a CUDA path asks for it (linked, it
// cost every process ~145 MB resident), and then every entry point resolves. First in this file,
// so it also holds when the whole binary runs in one process.
TEST(CublasLtLoader, OpensOnFirstUseAndResolvesEveryEntryPoint) {
  EXPECT_FALSE(CublasLtIsMapped()) << "libcublasLt is mapped before anything asked for it";
  Result<const CublasLt*> api = LoadCublasLt();
  ASSERT_TRUE(api.ok()) << api.status().ToString();
  const CublasLt& lt = **api;
  for (const void* fn : {reinterpret_cast<const void*>(lt.Create), reinterpret_cast<const void*>(lt.Destroy),
                         reinterpret_cast<const void*>(lt.Matmul), reinterpret_cast<const void*>(lt.MatmulAlgoGetHeuristic),
                         reinterpret_cast<const void*>(lt.MatmulDescCreate), reinterpret_cast<const void*>(lt.MatmulDescDestroy),
                         reinterpret_cast<const void*>(lt.MatmulDescSetAttribute),
                         reinterpret_cast<const void*>(lt.MatmulPreferenceCreate),
                         reinterpret_cast<const void*>(lt.MatmulPreferenceDestroy),
                         reinterpret_cast<const void*>(lt.MatmulPreferenceSetAttribute),
                         reinterpret_cast<const void*>(lt.MatrixLayoutCreate),
                         reinterpret_cast<const void*>(lt.MatrixLayoutDestroy)})
    EXPECT_NE(fn, nullptr);
  EXPECT_TRUE(CublasLtIsMapped());
  EXPECT_EQ(*LoadCublasLt(), *api);  // opened once
}

TEST(Gpu, EveryPrecisionMatchesTheCpuReference) {
  const GpuInfo g = DetectGpu();
  if (!g.present) GTEST_SKIP() << "no GPU: " << g.why_absent;
  const Model model = DefaultModel();
  for (GpuPrecision p : {GpuPrecision::kFp32, GpuPrecision::kTf32, GpuPrecision::kFp16, GpuPrecision::kBf16}) {
    auto f = CudaForecaster::Create(model, 256, p, 0, /*auto_fallback=*/false);
    ASSERT_TRUE(f.ok()) << ToString(p) << ": " << f.status().ToString();
    const double bound = p == GpuPrecision::kFp32 || p == GpuPrecision::kTf32 ? 1e-3 : 1e-2;
    EXPECT_LE((*f)->load_check_error(), bound) << ToString(p);
    // Several batch sizes: each bucket is its own CUDA graph.
    for (int batch : {1, 3, 64, 200})
      EXPECT_LE(WorstAgainstCpu(model, **f, batch, 5 + batch), bound) << ToString(p) << " batch " << batch;
    EXPECT_GT((*f)->memory().reserved, 0u);
  }
}

// The paths the default model does not take: an input size no pooling kernel divides (partial
// ceil-mode windows), AvgPool, nearest and cubic interpolation, several quantiles (the knots'
// quantile-major layout), a non-ReLU activation, and masked points.
TEST(Gpu, OtherPoolingInterpolationActivationsAndMasksMatchTheCpu) {
  const GpuInfo g = DetectGpu();
  if (!g.present) GTEST_SKIP() << "no GPU: " << g.why_absent;
  for (const auto& [pooling, interpolation, activation, loss] :
       {std::tuple{PoolingMode::kAvgPool1d, InterpolationMode::kNearest, Activation::kSoftplus, LossType::kMQLoss},
        std::tuple{PoolingMode::kMaxPool1d, InterpolationMode::kCubic, Activation::kReLU, LossType::kMAE},
        std::tuple{PoolingMode::kMaxPool1d, InterpolationMode::kLinear, Activation::kTanh, LossType::kMQLoss}}) {
    NhitsConfig c;
    c.h = 13;
    c.input_size = 50;  // 50 / 3 and 50 / 4 leave partial windows
    c.n_pool_kernel_size = {3, 4, 1};
    c.n_freq_downsample = {5, 2, 1};
    c.mlp_units = {{64, 64}, {64, 64}};
    c.pooling_mode = pooling;
    c.interpolation_mode = interpolation;
    c.activation = activation;
    c.loss = loss;
    if (loss == LossType::kMQLoss) c.level = {80, 95};
    c.scaler_type = ScalerType::kRobust;
    Model model(c);
    model.mutable_network().InitParams(11);
    auto f = CudaForecaster::Create(model, 64, GpuPrecision::kFp32, 0, /*auto_fallback=*/false);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    for (int batch : {1, 5, 64})
      EXPECT_LE(WorstAgainstCpu(model, **f, batch, 21 + batch, /*holes=*/true), 1e-3)
          << ToString(pooling) << " " << ToString(interpolation) << " " << ToString(activation) << " batch " << batch;
  }
}

// DistributionLoss: the GPU runs the network, the host decodes its parameters (DecodeForecast).
TEST(Gpu, DistributionLossMatchesTheCpu) {
  const GpuInfo g = DetectGpu();
  if (!g.present) GTEST_SKIP() << "no GPU: " << g.why_absent;
  NhitsConfig c;
  c.h = 24;
  c.input_size = 168;
  c.scaler_type = ScalerType::kStandard;
  c.loss = LossType::kDistributionLoss;
  c.distribution = DistributionType::kStudentT;
  c.level = {80, 95};
  c.return_params = true;
  Model model(c);
  model.mutable_network().InitParams(2);
  auto f = CudaForecaster::Create(model, 64, GpuPrecision::kFp32, 0, /*auto_fallback=*/false);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_LE(WorstAgainstCpu(model, **f, 37, 8), 1e-3);
}

TEST(Gpu, RejectsBatchOutsideItsSize) {
  const GpuInfo g = DetectGpu();
  if (!g.present) GTEST_SKIP() << "no GPU: " << g.why_absent;
  auto f = CudaForecaster::Create(DefaultModel(), 4, GpuPrecision::kFp32);
  ASSERT_TRUE(f.ok());
  std::vector<float> x(5 * 168), m(x.size(), 1.0f), out(5 * 24);
  EXPECT_FALSE((*f)->Predict(5, x.data(), m.data(), out.data()).ok());
}

TEST(Gpu, CreateWithoutADeviceIsAClearError) {
  const GpuInfo g = DetectGpu();
  if (g.present) GTEST_SKIP() << "a GPU is present";
  auto f = CudaForecaster::Create(DefaultModel(), 4, GpuPrecision::kBf16);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), Status::Code::kUnavailable) << f.status().ToString();
}

// A small model and batch shared by the training tests: scaled windows and targets.
struct Batch {
  int B = 64, L = 48, H = 12;
  std::vector<float> x, m, y, ym;
};
Batch MakeBatch() {
  Batch b;
  std::mt19937 rng(9);
  std::normal_distribution<float> nd(0, 0.1f);
  for (int i = 0; i < b.B; ++i) {
    const float phase = 0.3f * i;
    for (int t = 0; t < b.L + b.H; ++t) {
      const float v = std::sin(0.5f * t + phase) + nd(rng);
      (t < b.L ? b.x : b.y).push_back(v);
    }
  }
  b.m.assign(b.x.size(), 1.0f);
  b.ym.assign(b.y.size(), 1.0f);
  return b;
}
Model TrainModel() {
  NhitsConfig c;
  c.h = 12;
  c.input_size = 48;
  c.mlp_units = {{64, 64}, {64, 64}};
  Model m(c);
  m.mutable_network().InitParams(2);
  return m;
}

TEST(GpuTraining, Fp32StepsMatchTheCpuTrainer) {
  const GpuInfo g = DetectGpu();
  if (!g.present) GTEST_SKIP() << "no GPU: " << g.why_absent;
  Model cpu = TrainModel(), gpu_model = TrainModel();
  const Batch b = MakeBatch();
  auto trainer = CudaTrainer::Create(gpu_model, b.B, GpuPrecision::kFp32);
  ASSERT_TRUE(trainer.ok()) << trainer.status().ToString();
  Adam adam(cpu.network().params().size());
  Workspace<float> ws;
  std::vector<float> f(static_cast<std::size_t>(b.B) * b.H), df(f.size());
  for (int step = 0; step < 3; ++step) {
    cpu.network().Forward(b.B, b.x.data(), b.m.data(), f.data(), ws, false, nullptr);
    const double cpu_loss = ComputeLoss<float>(cpu.config(), b.B, f.data(), b.y.data(), b.ym.data(), df.data());
    std::vector<float> grad(cpu.network().params().size(), 0.0f);
    cpu.network().Backward(df.data(), ws, grad.data());
    adam.Step(cpu.mutable_network().params(), grad, 1e-3);
    auto r = (*trainer)->Step(b.B, b.x.data(), b.m.data(), b.y.data(), b.ym.data(), 1e-3);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_NEAR(r->loss, cpu_loss, 1e-4 * (1 + cpu_loss)) << "step " << step;
  }
  Model back = TrainModel();
  ASSERT_TRUE((*trainer)->CopyWeightsTo(back).ok());
  double worst = 0;  // a NaN weight is infinitely far (std::max would skip it)
  for (std::size_t i = 0; i < back.network().params().size(); ++i) {
    const double d = std::abs(static_cast<double>(back.network().params()[i]) - cpu.network().params()[i]);
    worst = std::isfinite(d) ? std::max(worst, d) : std::numeric_limits<double>::infinity();
  }
  EXPECT_LT(worst, 1e-4) << "max weight difference after 3 Adam steps";
}

TEST(GpuTraining, MixedPrecisionLearnsWithLossScaling) {
  const GpuInfo g = DetectGpu();
  if (!g.present) GTEST_SKIP() << "no GPU: " << g.why_absent;
  const Batch b = MakeBatch();
  for (GpuPrecision p : {GpuPrecision::kBf16, GpuPrecision::kFp16}) {
    Model model = TrainModel();
    LossScalerOptions so;
    so.growth_interval = 20;
    auto trainer = CudaTrainer::Create(model, b.B, p, so);
    ASSERT_TRUE(trainer.ok()) << trainer.status().ToString();
    double first = 0, last = 0;
    for (int step = 0; step < 200; ++step) {
      auto r = (*trainer)->Step(b.B, b.x.data(), b.m.data(), b.y.data(), b.ym.data(), 1e-3);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      ASSERT_TRUE(std::isfinite(r->loss));
      if (step == 0) first = r->loss;
      last = r->loss;
    }
    EXPECT_LT(last, 0.5 * first) << ToString(p) << ": the loss must fall";
    ASSERT_TRUE((*trainer)->CopyWeightsTo(model).ok());
    for (float w : model.network().params()) ASSERT_TRUE(std::isfinite(w));
  }
}

TEST(GpuTraining, RefusesWhatItDoesNotSupport) {
  NhitsConfig c;
  c.h = 4;
  c.input_size = 8;
  c.activation = Activation::kPReLU;
  auto t = CudaTrainer::Create(Model(c), 4, GpuPrecision::kBf16);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), Status::Code::kUnsupported);
  EXPECT_NE(t.status().message().find("ReLU"), std::string::npos);
}

}  // namespace
}  // namespace nhits::cuda
