// The CUDA backend on a real GPU: every precision against the FP32 CPU reference (FP32/TF32
// within 1e-3 relative, FP16/BF16 within 1e-2), batch buckets through CUDA graphs, and memory
// statistics. Skipped, with the reason, where no GPU answers (every CI machine here).
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "backend/cuda/cuda_forecaster.h"
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
    std::mt19937 rng(5);
    std::normal_distribution<float> nd(0, 1);
    for (int batch : {1, 3, 64, 200}) {
      std::vector<float> x(static_cast<std::size_t>(batch) * 168), m(x.size(), 1.0f), cpu(static_cast<std::size_t>(batch) * 24),
          gpu(cpu.size());
      for (int b = 0; b < batch; ++b) {
        float v = 50;
        for (int t = 0; t < 168; ++t) x[static_cast<std::size_t>(b) * 168 + t] = v += nd(rng);
      }
      model.PredictWindows(batch, x.data(), m.data(), cpu.data());
      ASSERT_TRUE((*f)->Predict(batch, x.data(), m.data(), gpu.data()).ok());
      double worst = 0;
      for (std::size_t i = 0; i < cpu.size(); ++i)
        worst = std::max(worst, std::abs(static_cast<double>(gpu[i]) - cpu[i]) / std::max(1.0, std::abs(static_cast<double>(cpu[i]))));
      EXPECT_LE(worst, bound) << ToString(p) << " batch " << batch;
    }
    EXPECT_GT((*f)->memory().reserved, 0u);
  }
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

}  // namespace
}  // namespace nhits::cuda
