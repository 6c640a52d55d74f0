// Hardware detection and named runtime profiles.
//
// DetectCpu reads cpuid and sysfs once; profiles are plain data (a struct with a comment per
// field) and a name only chooses values. `auto` picks a profile from what was detected.
// Thread safety: pure functions over values.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "nhits/status.h"

namespace nhits {

struct CpuInfo {
  std::string vendor;  // "GenuineIntel", "AuthenticAMD", ...
  std::string model;   // brand string
  int logical_cores = 1;  // online CPUs
  // What this process may run on: its affinity mask (taskset, cpusets) capped by a cgroup CPU
  // quota (docker --cpus), rounded up. Thread counts and profiles follow this, not logical_cores.
  int usable_cores = 1;
  bool avx2 = false, fma = false, avx512f = false, avx512bw = false, avx512vl = false;
  bool avx512_vnni = false, avx512_bf16 = false, amx_tile = false, amx_bf16 = false, amx_int8 = false;
  std::size_t l1d_bytes = 0, l2_bytes = 0, l3_bytes = 0;  // per cache instance, from sysfs
  // ISA the engine's own kernels use on this CPU.
  std::string kernel_isa;
  std::string quantized_kernels;  // the BF16 and INT8 kernels, e.g. "bf16:avx2 int8:avx2"
  bool int8_gemm_onednn = false;  // large INT8 batches through oneDNN's u8s8s32 GEMM
};

CpuInfo DetectCpu();

// CpuInfo::usable_cores without the rest of the detection (what "all cores" means for threads).
int UsableCores();
// Whole cores allowed by a cgroup v2 cpu.max line ("150000 100000" -> 2, rounded up; "max 100000"
// -> 0, no limit) or by cgroup v1's quota and period joined by a space ("-1 100000" -> 0).
int CoresFromCgroupCpuMax(const std::string& cpu_max);

struct GpuInfo {
  bool present = false;
  std::string why_absent;  // built without CUDA, no device, driver error
  std::string name;
  int compute_major = 0, compute_minor = 0, sm_count = 0;
  std::size_t memory_bytes = 0;
  bool tensor_cores = false;  // sm_70 and newer
  bool bf16 = false;          // sm_80 and newer: the automatic precision is BF16 there, FP16 on sm_70/75
};

// Device 0's properties when the engine was built with CUDA and a device answers.
GpuInfo DetectGpu(int device = 0);

struct RuntimeProfile {
  std::string name;
  int threads = 0;                 // compute threads per worker (0: all cores)
  int workers = 1;                 // serving workers per model, each running its own batches
  bool priority_lane = true;       // one more worker for priority-1 requests while lower levels are busy
  std::string precision = "fp32";  // numeric path of the forecasts
  int max_batch_size = 64;         // largest batch the dynamic batcher forms
  int max_queue_delay_us = 100;    // how long a batch may wait to grow (latency vs throughput)
  bool cache_enabled = true;       // forecast cache in front of the model
  std::size_t cache_bytes = 64u << 20;  // cache budget
  bool small_batch_panels = true;  // SessionLayout::small_batch_panels: faster batches 1-2, one more FP32 weight copy
  std::string why;                 // one line on when to choose it
};

// Names: ultra-low-latency, low-latency, balanced, high-throughput, memory-efficient, production,
// and auto (chosen from `cpu`). Unknown names are InvalidArgument listing the known ones.
Result<RuntimeProfile> ResolveProfile(const std::string& name, const CpuInfo& cpu);
std::vector<std::string> ProfileNames();

}  // namespace nhits
