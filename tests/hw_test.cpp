// Hardware detection and the named runtime profiles: the core count the engine sizes its threads
// by, the cgroup quota parser, and what each profile promises in its one-line description.
#include <gtest/gtest.h>

#include <sched.h>

#include <set>
#include <string>

#include "nhits/hw.h"

namespace nhits {
namespace {

TEST(UsableCores, FollowsTheAffinityMask) {
  cpu_set_t set;
  CPU_ZERO(&set);
  ASSERT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
  const int allowed = CPU_COUNT(&set);
  EXPECT_GE(UsableCores(), 1);
  EXPECT_LE(UsableCores(), allowed);  // a cgroup quota may lower it further, never raise it
  EXPECT_LE(DetectCpu().usable_cores, DetectCpu().logical_cores);

  // Pinned to one CPU (taskset -c N), the engine must see one core, not the machine's count.
  cpu_set_t one;
  CPU_ZERO(&one);
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) {
      CPU_SET(c, &one);
      break;
    }
  ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
  const int pinned = UsableCores();
  ASSERT_EQ(sched_setaffinity(0, sizeof(set), &set), 0);  // restore before asserting
  EXPECT_EQ(pinned, 1);
}

TEST(UsableCores, ParsesCgroupQuotas) {
  EXPECT_EQ(CoresFromCgroupCpuMax("max 100000"), 0);
  EXPECT_EQ(CoresFromCgroupCpuMax("200000 100000"), 2);
  EXPECT_EQ(CoresFromCgroupCpuMax("150000 100000"), 2);  // 1.5 cores: two threads, not one
  EXPECT_EQ(CoresFromCgroupCpuMax("9223372036854775807 100000"), 1 << 20);  // bounded, not wrapped
  EXPECT_EQ(CoresFromCgroupCpuMax("50000 100000"), 1);
  EXPECT_EQ(CoresFromCgroupCpuMax("-1 100000"), 0);  // cgroup v1's "no limit"
  EXPECT_EQ(CoresFromCgroupCpuMax(""), 0);
  EXPECT_EQ(CoresFromCgroupCpuMax("abc 100000"), 0);
  EXPECT_EQ(CoresFromCgroupCpuMax("100000 0"), 0);
}

TEST(DetectCpu, KernelIsaAgreesWithTheFeatures) {
  const CpuInfo c = DetectCpu();
  EXPECT_FALSE(c.kernel_isa.empty());
  if (c.kernel_isa == "avx512") EXPECT_TRUE(c.avx512f);
  if (c.kernel_isa == "avx2") EXPECT_TRUE(c.avx2 && c.fma);
  if (c.avx512bw || c.avx512vl || c.avx512_vnni || c.avx512_bf16) EXPECT_TRUE(c.avx512f);
  if (c.avx512f) EXPECT_TRUE(c.avx2);
}

CpuInfo Cores(int n) {
  CpuInfo c;
  c.logical_cores = 64;  // the machine; the process may use fewer
  c.usable_cores = n;
  return c;
}

TEST(Profiles, EveryNameResolvesAndUnknownNamesListTheKnownOnes) {
  std::set<std::string> seen;
  for (const std::string& name : ProfileNames()) {
    Result<RuntimeProfile> p = ResolveProfile(name, Cores(8));
    ASSERT_TRUE(p.ok()) << name;
    EXPECT_FALSE(p->why.empty()) << name;
    EXPECT_GE(p->workers, 1) << name;
    EXPECT_GE(p->threads, 1) << name;
    EXPECT_GE(p->max_batch_size, 1) << name;
    EXPECT_LE(p->workers * p->threads, 8) << name << ": more threads than usable cores";
    if (name != "auto") EXPECT_TRUE(seen.insert(p->name).second) << name;
  }
  EXPECT_EQ(seen.size(), 6u);
  Result<RuntimeProfile> bad = ResolveProfile("fastest", Cores(8));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("unknown profile 'fastest'"), std::string::npos);
  EXPECT_NE(bad.status().message().find("memory-efficient"), std::string::npos);
}

TEST(Profiles, SizeToUsableCoresNotTheMachine) {
  // A process pinned to 2 of 64 cores gets 2 throughput workers and a latency team of 2.
  EXPECT_EQ(ResolveProfile("balanced", Cores(2))->workers, 2);
  EXPECT_EQ(ResolveProfile("ultra-low-latency", Cores(2))->threads, 2);
  EXPECT_EQ(ResolveProfile("production", Cores(2))->workers, 1);  // one core left for I/O
  EXPECT_EQ(ResolveProfile("production", Cores(1))->workers, 1);
  EXPECT_EQ(ResolveProfile("auto", Cores(2))->name, "low-latency");
  EXPECT_EQ(ResolveProfile("auto", Cores(16))->name, "balanced");
  EXPECT_NE(ResolveProfile("auto", Cores(16))->why.find("16 usable cores"), std::string::npos);
}

TEST(Profiles, LatencyProfilesDoNotWaitAndThroughputProfilesBatch) {
  const RuntimeProfile ull = *ResolveProfile("ultra-low-latency", Cores(4));
  const RuntimeProfile ht = *ResolveProfile("high-throughput", Cores(4));
  EXPECT_EQ(ull.max_batch_size, 1);
  EXPECT_EQ(ull.max_queue_delay_us, 0);
  EXPECT_GT(ht.max_batch_size, ResolveProfile("balanced", Cores(4))->max_batch_size);
  EXPECT_GT(ht.max_queue_delay_us, ResolveProfile("low-latency", Cores(4))->max_queue_delay_us);
}

TEST(Profiles, MemoryEfficientKeepsOneCopyOfEverything) {
  const RuntimeProfile m = *ResolveProfile("memory-efficient", Cores(8));
  EXPECT_EQ(m.workers, 1);
  EXPECT_FALSE(m.cache_enabled);
  EXPECT_FALSE(m.priority_lane);
  EXPECT_FALSE(m.small_batch_panels);
  for (const std::string& name : {"ultra-low-latency", "low-latency", "balanced"})
    EXPECT_TRUE(ResolveProfile(name, Cores(8))->small_batch_panels) << name;
}

}  // namespace
}  // namespace nhits
