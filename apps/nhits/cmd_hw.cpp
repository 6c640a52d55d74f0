#include <cstdio>
#include <memory>

#include "cli_common.h"
#include "commands.h"
#include "nhits/hw.h"

namespace nhits::cli {

Action RegisterHw(CLI::App& app) {
  auto profile = std::make_shared<std::string>("auto");
  app.add_option("--profile", *profile, "Profile to resolve: auto, ultra-low-latency, low-latency, balanced, "
                                        "high-throughput, memory-efficient, production")->capture_default_str();
  return [profile] {
    const CpuInfo c = DetectCpu();
    const RuntimeProfile p = Unwrap(ResolveProfile(*profile, c));
    auto yn = [](bool b) { return b ? "yes" : "no"; };
    std::printf("cpu          %s (%s), %d logical cores\n", c.model.c_str(), c.vendor.c_str(), c.logical_cores);
    std::printf("caches       L1d %zu KiB, L2 %zu KiB, L3 %zu MiB\n", c.l1d_bytes >> 10, c.l2_bytes >> 10, c.l3_bytes >> 20);
    std::printf("isa          AVX2 %s, FMA %s, AVX-512F %s (BW %s, VL %s), VNNI %s, AVX512-BF16 %s, AMX %s\n",
                yn(c.avx2), yn(c.fma), yn(c.avx512f), yn(c.avx512bw), yn(c.avx512vl), yn(c.avx512_vnni),
                yn(c.avx512_bf16), yn(c.amx_tile));
    std::printf("kernels      small-batch linear: %s; GEMM: oneDNN sgemm\n", c.kernel_isa.c_str());
    std::printf("gpu          none (built without CUDA)\n");
    std::printf("profile      %s: threads %d, precision %s, max_batch_size %d, max_queue_delay_us %d, cache %s (%zu MiB)\n",
                p.name.c_str(), p.threads, p.precision.c_str(), p.max_batch_size, p.max_queue_delay_us,
                p.cache_enabled ? "on" : "off", p.cache_bytes >> 20);
    std::printf("             %s\n", p.why.c_str());
  };
}

}  // namespace nhits::cli
