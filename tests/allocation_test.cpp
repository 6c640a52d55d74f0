// Steady-state forecasts allocate nothing: malloc/calloc/realloc and operator new are counted
// (glibc lets an executable interpose them for every library it loads, oneDNN and OpenBLAS too).
#include <gtest/gtest.h>

#include <cstdio>

#include <atomic>
#include <cstdlib>
#include <new>
#include <random>

#include "nhits/inference.h"

extern "C" void* __libc_malloc(std::size_t);
extern "C" void* __libc_calloc(std::size_t, std::size_t);
extern "C" void* __libc_realloc(void*, std::size_t);

namespace {
std::atomic<long> g_allocations{0};
std::atomic<bool> g_counting{false};
void Count() {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace

extern "C" void* malloc(std::size_t n) { Count(); return __libc_malloc(n); }
extern "C" void* calloc(std::size_t a, std::size_t b) { Count(); return __libc_calloc(a, b); }
extern "C" void* realloc(void* p, std::size_t n) { Count(); return __libc_realloc(p, n); }

namespace nhits {
namespace {

// Counts heap allocations over 200 steady-state forecasts at batch 1..8 (after a warm-up).
long SteadyStateAllocations(InferenceSession& session, const NhitsConfig& c) {
  std::mt19937 rng(2);
  std::normal_distribution<float> nd(0, 1);
  std::vector<float> x(8 * c.input_size), m(x.size(), 1.0f), out(8 * c.h * c.outputs_per_step());
  for (auto& v : x) v = nd(rng);
  for (int b = 1; b <= 8; ++b) EXPECT_TRUE(session.Predict(b, x.data(), m.data(), out.data()).ok());  // warm-up

  // Make sure the counter itself works before trusting a zero.
  g_allocations = 0;
  g_counting = true;
  void* probe = std::malloc(16);
  g_counting = false;
  std::free(probe);
  EXPECT_EQ(g_allocations.load(), 1);

  g_allocations = 0;
  g_counting = true;
  for (int rep = 0; rep < 200; ++rep) {
    const int batch = 1 + rep % 8;
    if (!session.Predict(batch, x.data(), m.data(), out.data()).ok()) break;
  }
  g_counting = false;
  return g_allocations.load();
}

TEST(Allocation, SteadyStateSmallBatchForecastsAllocateNothing) {
  NhitsConfig c;  // neuralforecast's default NHITS, h=24, input 168
  c.h = 24;
  c.input_size = 168;
  c.scaler_type = ScalerType::kStandard;
  Model model(c);
  model.mutable_network().InitParams(1);
  for (Precision precision : {Precision::kFp32, Precision::kBf16, Precision::kInt8}) {
    SCOPED_TRACE(ToString(precision));
    InferenceSession session(model, 8, 2, {precision, {}});
    EXPECT_EQ(SteadyStateAllocations(session, c), 0) << "heap allocations in 200 steady-state forecasts";
  }
}

// DistributionLoss decodes its parameters into quantiles per request: without allocating either.
TEST(Allocation, DistributionLossForecastsAllocateNothing) {
  for (DistributionType d : {DistributionType::kNormal, DistributionType::kStudentT}) {
    NhitsConfig c;
    c.h = 24;
    c.input_size = 168;
    c.mlp_units = {{64, 64}, {64, 64}};
    c.scaler_type = ScalerType::kRobust;
    c.loss = LossType::kDistributionLoss;
    c.distribution = d;
    c.level = {90, 50, 80};
    c.return_params = true;
    Model model(c);
    model.mutable_network().InitParams(1);
    InferenceSession session(model, 8, 2);
    EXPECT_EQ(SteadyStateAllocations(session, c), 0) << ToString(d);
  }
}

// Peak resident memory of this process (VmHWM), in bytes; 0 if /proc is unavailable.
std::size_t PeakRssBytes() {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return 0;
  char line[256];
  std::size_t kb = 0;
  while (std::fgets(line, sizeof line, f) != nullptr)
    if (std::sscanf(line, "VmHWM: %zu kB", &kb) == 1) break;
  std::fclose(f);
  return kb * 1024;
}

// The budget: serving the default NHITS (11.3 MB of FP32 weights) stays within 64 MB of
// resident memory, process and libraries included.
TEST(Allocation, DefaultModelServesWithin64MegabytesResident) {
  NhitsConfig c;
  c.h = 24;
  c.input_size = 168;
  Model model(c);
  model.mutable_network().InitParams(1);
  InferenceSession session(model, 8, 2);
  std::vector<float> x(8 * 168, 1.0f), m(8 * 168, 1.0f), out(8 * 24);
  for (int rep = 0; rep < 50; ++rep) ASSERT_TRUE(session.Predict(1 + rep % 8, x.data(), m.data(), out.data()).ok());
  const std::size_t peak = PeakRssBytes();
  if (peak == 0) GTEST_SKIP() << "no /proc/self/status";
  std::printf("peak RSS %.1f MB (weights %.1f MB, session arena %.2f MB)\n", peak / 1e6,
              session.memory().model_weight_bytes / 1e6, session.memory().reserved_bytes / 1e6);
  EXPECT_LE(peak, std::size_t{64} << 20);
}

}  // namespace
}  // namespace nhits
