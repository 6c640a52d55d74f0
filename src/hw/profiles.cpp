#include "nhits/hw.h"

namespace nhits {
namespace {

// The profiles as data. Throughput profiles run one worker per core, one thread each: on a
// loaded machine the OS hands cores to the HTTP threads, and a team of threads would wait at
// every barrier for the member that lost its core (measured: 8.4k vs 11-12k forecasts/s at
// concurrency 64 on 2 cores). Their lone worker still borrows idle cores
// (ModelOptions::lend_idle_cores), so a single request keeps the whole machine.
std::vector<RuntimeProfile> Profiles(const CpuInfo& cpu) {
  const int cores = cpu.usable_cores > 0 ? cpu.usable_cores : 1;
  auto profile = [](std::string name, int threads, int workers, int max_batch, int delay_us, bool cache,
                    std::size_t cache_bytes, std::string why) {
    RuntimeProfile p;
    p.name = std::move(name);
    p.threads = threads;
    p.workers = workers;
    p.max_batch_size = max_batch;
    p.max_queue_delay_us = delay_us;
    p.cache_enabled = cache;
    p.cache_bytes = cache_bytes;
    p.why = std::move(why);
    return p;
  };
  return {
      profile("ultra-low-latency", cores, 1, 1, 0, true, 64u << 20,
              "every core on one forecast at a time, no batching delay: lowest p50/p99 per request"),
      profile("low-latency", cores, 1, 8, 50, true, 64u << 20,
              "small batches formed within 50 us: near-minimal latency, better throughput under bursts"),
      profile("balanced", 1, cores, 64, 200, true, 128u << 20,
              "a worker per core, batches up to 64 within 200 us: the general default"),
      profile("high-throughput", 1, cores, 1024, 2000, true, 256u << 20,
              "a worker per core, large batches (GEMM-efficient) within 2 ms: forecasts/s over latency"),
      [&] {
        RuntimeProfile p = profile("memory-efficient", 1, 1, 16, 200, false, 0,
                                   "one thread, small batches, no cache, no priority lane, one copy of the weights: smallest footprint");
        p.priority_lane = false;        // the lane holds a second copy of the session
        p.small_batch_panels = false;   // the panels are a second copy of the FP32 weights
        return p;
      }(),
      profile("production", 1, cores > 1 ? cores - 1 : 1, 64, 500, true, 128u << 20,
              "balanced batching with one core left for I/O and the OS"),
  };
}

}  // namespace

std::vector<std::string> ProfileNames() {
  std::vector<std::string> names;
  for (const auto& p : Profiles(CpuInfo{})) names.push_back(p.name);
  names.push_back("auto");
  return names;
}

Result<RuntimeProfile> ResolveProfile(const std::string& name, const CpuInfo& cpu) {
  // auto: few cores cannot overlap batching and I/O well, so favour latency there.
  const std::string wanted = name == "auto" ? (cpu.usable_cores <= 4 ? "low-latency" : "balanced") : name;
  for (auto& p : Profiles(cpu))
    if (p.name == wanted) {
      if (name == "auto") p.why = "auto (" + std::to_string(cpu.usable_cores) + " usable cores): " + p.why;
      return p;
    }
  std::string known;
  for (const auto& n : ProfileNames()) known += (known.empty() ? "" : ", ") + n;
  return Status::InvalidArgument("unknown profile '" + name + "' (known: " + known + ")");
}

}  // namespace nhits
