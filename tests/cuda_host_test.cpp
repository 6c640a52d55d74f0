// Host-side logic of the CUDA backend, tested without a GPU: the caching allocator's policy
// (size classes, per-stream reuse, limit, statistics) over a fake device, and dynamic loss
// scaling with simulated overflows.
#include <gtest/gtest.h>

#include <cstdlib>
#include <set>

#include "backend/cuda/caching_allocator.h"
#include "backend/cuda/loss_scaler.h"
#include "nhits/hw.h"

namespace nhits::cuda {
namespace {

class FakeDevice : public RawDeviceMemory {
 public:
  explicit FakeDevice(std::size_t capacity) : capacity_(capacity) {}
  void* Allocate(std::size_t bytes) override {
    if (used_ + bytes > capacity_) return nullptr;
    used_ += bytes;
    ++allocations;
    void* p = std::malloc(bytes);
    sizes_[p] = bytes;
    return p;
  }
  void Free(void* p) override {
    used_ -= sizes_.at(p);
    sizes_.erase(p);
    ++frees;
    std::free(p);
  }
  std::size_t used() const { return used_; }
  int allocations = 0, frees = 0;

 private:
  std::size_t capacity_, used_ = 0;
  std::map<void*, std::size_t> sizes_;
};

TEST(CachingAllocator, SizeClasses) {
  EXPECT_EQ(CachingAllocator::RoundUp(1), 512u);
  EXPECT_EQ(CachingAllocator::RoundUp(512), 512u);
  EXPECT_EQ(CachingAllocator::RoundUp(513), 1024u);
  EXPECT_EQ(CachingAllocator::RoundUp((1u << 20) - 1), 1u << 20);
  EXPECT_EQ(CachingAllocator::RoundUp(1u << 20), 2u << 20);
  EXPECT_EQ(CachingAllocator::RoundUp((2u << 20) + 1), 4u << 20);
  // A size whose rounding would wrap past SIZE_MAX is refused, not handed out as a tiny block.
  FakeDevice dev(64u << 20);
  CachingAllocator a(dev, 64u << 20);
  const Result<void*> huge = a.Allocate(SIZE_MAX - 5, 1);
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(dev.allocations, 0);
}

TEST(CachingAllocator, ReusesFreedBlocksPerStreamAndCountsEverything) {
  FakeDevice dev(64u << 20);
  CachingAllocator a(dev, 64u << 20);
  void* p = *a.Allocate(1000, 1);
  a.Free(p);
  void* q = *a.Allocate(900, 1);  // same size class, same stream: the cached block
  EXPECT_EQ(p, q);
  EXPECT_EQ(dev.allocations, 1);
  void* other = *a.Allocate(900, 2);  // another stream never gets it while it may be in flight
  EXPECT_NE(other, q);
  EXPECT_EQ(dev.allocations, 2);
  AllocatorStats s = a.stats();
  EXPECT_EQ(s.in_use, 2048u);
  EXPECT_EQ(s.requested, 1800u);
  EXPECT_NEAR(s.efficiency(), 1800.0 / 2048.0, 1e-12);
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.misses, 2u);
  a.Free(q);
  a.Free(other);
  void* big = *a.Allocate(3u << 20, 1);
  a.Free(big);
  s = a.stats();
  EXPECT_EQ(s.in_use, 0u);
  EXPECT_EQ(s.cached, s.reserved);
  EXPECT_EQ(s.high_water_in_use, 4u << 20);
  EXPECT_NEAR(s.fragmentation, 1.0 - (4.0 * (1 << 20)) / (4.0 * (1 << 20) + 2048), 1e-12);
  a.EmptyCache();
  EXPECT_EQ(a.stats().reserved, 0u);
  EXPECT_EQ(dev.used(), 0u);
}

TEST(CachingAllocator, NeverExceedsTheLimitAndSaysWhy) {
  FakeDevice dev(1u << 30);
  CachingAllocator a(dev, 8u << 20);
  void* x = *a.Allocate(3u << 20);  // 4 MiB class
  void* y = *a.Allocate(1u << 20);  // 2 MiB class
  a.Free(y);                        // cached, 6 MiB reserved
  void* z = *a.Allocate(3u << 20);  // needs 4 more: frees the cached 2 MiB first, fits at 8
  EXPECT_EQ(a.stats().reserved, 8u << 20);
  auto over = a.Allocate(1);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(over.status().message().find("device memory limit"), std::string::npos) << over.status().message();
  EXPECT_LE(dev.used(), 8u << 20);
  a.Free(x);
  a.Free(z);
  // The device itself running out is reported, not crashed on.
  FakeDevice tiny(1024);
  CachingAllocator b(tiny, 1u << 30);
  auto oom = b.Allocate(4096);
  ASSERT_FALSE(oom.ok());
  EXPECT_NE(oom.status().message().find("out of memory"), std::string::npos);
}

TEST(CachingAllocator, FreeingUnknownPointersIsHarmless) {
  FakeDevice dev(1u << 20);
  CachingAllocator a(dev, 1u << 20);
  int local = 0;
  a.Free(&local);
  a.Free(nullptr);
  void* p = *a.Allocate(10);
  a.Free(p);
  a.Free(p);  // double free: ignored, the pool keeps one copy
  EXPECT_EQ(*a.Allocate(10), p);
  EXPECT_NE(*a.Allocate(10), p);
}

TEST(LossScaler, HalvesOnOverflowSkipsTheStepAndGrowsAfterCleanSteps) {
  LossScalerOptions o;
  o.init_scale = 1024;
  o.growth_interval = 3;
  DynamicLossScaler s(o);
  EXPECT_TRUE(s.Update(false));
  EXPECT_TRUE(s.Update(false));
  EXPECT_EQ(s.scale(), 1024);
  EXPECT_TRUE(s.Update(false));  // third clean step: grow
  EXPECT_EQ(s.scale(), 2048);
  EXPECT_FALSE(s.Update(true));  // overflow: skip, halve, reset the streak
  EXPECT_EQ(s.scale(), 1024);
  EXPECT_EQ(s.clean_streak(), 0);
  EXPECT_EQ(s.skipped(), 1u);
  EXPECT_TRUE(s.Update(false));
  EXPECT_TRUE(s.Update(false));
  EXPECT_FALSE(s.Update(true));  // the streak restarts: no growth yet
  EXPECT_EQ(s.scale(), 512);
  for (int i = 0; i < 40; ++i) s.Update(true);
  EXPECT_EQ(s.scale(), o.min_scale) << "never below min_scale";
  EXPECT_DOUBLE_EQ(s.inverse() * s.scale(), 1.0);
  LossScalerOptions capped;
  capped.init_scale = capped.max_scale;
  capped.growth_interval = 1;
  DynamicLossScaler c(capped);
  c.Update(false);
  EXPECT_EQ(c.scale(), capped.max_scale) << "never above max_scale";
}

TEST(GpuInfo, ReportsWhyThereIsNoGpu) {
  const GpuInfo g = DetectGpu();
  if (g.present) {
    EXPECT_FALSE(g.name.empty());
    EXPECT_GT(g.sm_count, 0);
  } else {
    EXPECT_FALSE(g.why_absent.empty());
  }
}

}  // namespace
}  // namespace nhits::cuda
