#include "nhits/hw.h"

namespace nhits {
namespace {

// The profiles as data. Precision stays fp32 until the reduced-precision kernels land.
std::vector<RuntimeProfile> Profiles(const CpuInfo& cpu) {
  const int cores = cpu.logical_cores > 0 ? cpu.logical_cores : 1;
  return {
      {"ultra-low-latency", cores, "fp32", 1, 0, true, 64u << 20,
       "every core on one forecast at a time, no batching delay: lowest p50/p99 per request"},
      {"low-latency", cores, "fp32", 8, 50, true, 64u << 20,
       "small batches formed within 50 us: near-minimal latency, better throughput under bursts"},
      {"balanced", cores, "fp32", 64, 200, true, 128u << 20, "moderate batches, 200 us wait: the general default"},
      {"high-throughput", cores, "fp32", 1024, 2000, true, 256u << 20,
       "large batches (GEMM-efficient), up to 2 ms wait: forecasts/s over latency"},
      {"memory-efficient", 1, "fp32", 16, 200, false, 0, "one thread, small batches, no cache: smallest footprint"},
      {"production", cores > 1 ? cores - 1 : 1, "fp32", 64, 500, true, 128u << 20,
       "balanced batching with one core left for I/O and the OS"},
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
  const std::string wanted = name == "auto" ? (cpu.logical_cores <= 4 ? "low-latency" : "balanced") : name;
  for (auto& p : Profiles(cpu))
    if (p.name == wanted) {
      if (name == "auto") p.why = "auto (" + std::to_string(cpu.logical_cores) + " cores): " + p.why;
      return p;
    }
  std::string known;
  for (const auto& n : ProfileNames()) known += (known.empty() ? "" : ", ") + n;
  return Status::InvalidArgument("unknown profile '" + name + "' (known: " + known + ")");
}

}  // namespace nhits
