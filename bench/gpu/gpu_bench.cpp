// GPU latency/throughput of the default NHITS (h=24, input 168) per precision and batch size:
// host windows in, host forecasts out (scaling, pinned copies and one CUDA-graph launch
// included). Prints a markdown table; run by bench/gpu/check.sh.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "backend/cuda/cuda_forecaster.h"
#include "nhits/hw.h"

int main() {
  using namespace nhits;
  const GpuInfo g = DetectGpu();
  if (!g.present) {
    std::printf("no GPU: %s\n", g.why_absent.c_str());
    return 0;
  }
  std::printf("%s (sm_%d%d, %d SMs, %.0f GiB)\n\n| precision | batch | p50 us | p95 us | forecasts/s | load check rel err |\n"
              "|---|---|---|---|---|---|\n",
              g.name.c_str(), g.compute_major, g.compute_minor, g.sm_count, g.memory_bytes / 1073741824.0);
  NhitsConfig c;
  c.h = 24;
  c.input_size = 168;
  Model model(c);
  model.mutable_network().InitParams(1);
  const int max_batch = 8192;
  for (auto p : {cuda::GpuPrecision::kFp32, cuda::GpuPrecision::kTf32, cuda::GpuPrecision::kFp16, cuda::GpuPrecision::kBf16}) {
    auto f = cuda::CudaForecaster::Create(model, max_batch, p, 0, false);
    if (!f.ok()) {
      std::printf("| %s | - | %s |\n", cuda::ToString(p), f.status().ToString().c_str());
      continue;
    }
    for (int batch : {1, 8, 128, 1024, 8192}) {
      std::mt19937 rng(1);
      std::normal_distribution<float> nd(0, 1);
      std::vector<float> x(static_cast<std::size_t>(batch) * 168), m(x.size(), 1.0f), out(static_cast<std::size_t>(batch) * 24);
      for (auto& v : x) v = nd(rng);
      for (int w = 0; w < 5; ++w) (void)(*f)->Predict(batch, x.data(), m.data(), out.data());
      std::vector<double> us;
      const auto start = std::chrono::steady_clock::now();
      while (us.size() < 50 || std::chrono::steady_clock::now() - start < std::chrono::milliseconds(500)) {
        const auto t0 = std::chrono::steady_clock::now();
        (void)(*f)->Predict(batch, x.data(), m.data(), out.data());
        us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
      }
      std::sort(us.begin(), us.end());
      const double p50 = us[us.size() / 2], p95 = us[us.size() * 95 / 100];
      std::printf("| %s | %d | %.1f | %.1f | %.0f | %.2e |\n", cuda::ToString(p), batch, p50, p95, batch / (p50 * 1e-6),
                  (*f)->load_check_error());
      std::fflush(stdout);
    }
  }
  return 0;
}
