// GPU detection through the CUDA runtime, when the engine is built with CUDA (NHITS_WITH_CUDA).
#include "nhits/hw.h"

#ifdef NHITS_WITH_CUDA
#include <cuda_runtime.h>
#endif

#include <filesystem>
#include <system_error>

namespace nhits {

GpuInfo DetectGpu(int device) {
  GpuInfo g;
#ifdef NHITS_WITH_CUDA
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    // Without any NVIDIA driver the runtime says the driver is "insufficient", which reads as
    // "upgrade it" on a machine that has no GPU at all.
    std::error_code ec;
    const bool no_driver_error = e == cudaErrorInsufficientDriver || e == cudaErrorNoDevice;
    g.why_absent = no_driver_error && !std::filesystem::exists("/proc/driver/nvidia", ec)
                       ? std::string("no NVIDIA driver loaded (no GPU visible to this machine)")
                       : std::string("CUDA runtime: ") + cudaGetErrorString(e);
    return g;
  }
  if (device >= count) {
    g.why_absent = count == 0 ? "no CUDA device" : "cuda:" + std::to_string(device) + " does not exist";
    return g;
  }
  cudaDeviceProp p{};
  if (cudaGetDeviceProperties(&p, device) != cudaSuccess) {
    g.why_absent = "cudaGetDeviceProperties failed";
    return g;
  }
  g.present = true;
  g.name = p.name;
  g.compute_major = p.major;
  g.compute_minor = p.minor;
  g.sm_count = p.multiProcessorCount;
  g.memory_bytes = p.totalGlobalMem;
  g.tensor_cores = p.major >= 7;
  g.bf16 = p.major >= 8;
#else
  (void)device;
  g.why_absent = "built without CUDA (no nvcc when configured, or -DNHITS_CUDA=OFF)";
#endif
  return g;
}

}  // namespace nhits
