#include <cstdio>
#include <memory>

#include "cli_common.h"
#include "commands.h"
#include "nhits/hw.h"

namespace nhits::cli {

Action RegisterHw(CLI::App& app) {
  auto profile = std::make_shared<std::string>("auto");
  app.add_option("--profile", *profile, "Profile to resolve: auto, ultra-low-latency, low-latency, balanced, "
                                        "high-throughput, memory-efficient, production")
      ->transform(OneOf(ProfileNames(), "profile"))
      ->capture_default_str();
  return [profile] {
    const CpuInfo c = DetectCpu();
    const RuntimeProfile p = Unwrap(ResolveProfile(*profile, c));
    auto yn = [](bool b) { return b ? "yes" : "no"; };
    std::printf("cpu          %s (%s), %d logical cores, %d usable by this process (affinity, cgroup quota)\n",
                c.model.c_str(), c.vendor.c_str(), c.logical_cores, c.usable_cores);
    // 0: sysfs did not say (some VMs); MiB only from a whole MiB up.
    auto size = [](std::size_t bytes) {
      if (bytes == 0) return std::string("unknown");
      return bytes >= (1u << 20) && bytes % (1u << 20) == 0 ? std::to_string(bytes >> 20) + " MiB"
                                                              : std::to_string(bytes >> 10) + " KiB";
    };
    std::printf("caches       L1d %s, L2 %s, L3 %s\n", size(c.l1d_bytes).c_str(), size(c.l2_bytes).c_str(),
                size(c.l3_bytes).c_str());
    std::printf("isa          AVX2 %s, FMA %s, AVX-512F %s (BW %s, VL %s), VNNI %s, AVX512-BF16 %s, AMX %s\n",
                yn(c.avx2), yn(c.fma), yn(c.avx512f), yn(c.avx512bw), yn(c.avx512vl), yn(c.avx512_vnni),
                yn(c.avx512_bf16), yn(c.amx_tile));
    std::printf("kernels      small batches: fp32:%s %s; large batches: oneDNN matmul (FP32/BF16), INT8 %s\n",
                c.kernel_isa.c_str(), c.quantized_kernels.c_str(),
                c.int8_gemm_onednn ? "oneDNN u8s8s32 GEMM"
                                   : "small-batch kernel per 8 windows (no VNNI for oneDNN: exact, about FP32's rate; its "
                                     "gain is 4x fewer weight bytes)");
    const GpuInfo g = DetectGpu();
    if (g.present) {
      std::printf("gpu          %s, compute capability %d.%d, %d SMs, %.1f GiB, Tensor Cores %s, automatic precision %s\n",
                  g.name.c_str(), g.compute_major, g.compute_minor, g.sm_count, g.memory_bytes / 1073741824.0,
                  g.tensor_cores ? "yes" : "no", g.bf16 ? "bf16" : g.tensor_cores ? "fp16 (fp32 for a model without a scaler_type)" : "fp32");
    } else {
      std::printf("gpu          none (%s)\n", g.why_absent.c_str());
    }
    std::printf("profile      %s: workers %d x threads %d, precision %s, max_batch_size %d, max_queue_delay_us %d, cache %s (%zu MiB), "
                "small-batch panels %s\n",
                p.name.c_str(), p.workers, p.threads, p.precision.c_str(), p.max_batch_size, p.max_queue_delay_us,
                p.cache_enabled ? "on" : "off", p.cache_bytes >> 20, p.small_batch_panels ? "on" : "off");
    std::printf("             %s\n", p.why.c_str());
    // What this line resolves is not necessarily what runs: serve has its own default.
    if (*profile == "auto")
      std::printf("             (`nhits serve` uses balanced unless given --profile auto or another profile)\n");
  };
}

}  // namespace nhits::cli
