#include "backend/cpu/kernel_isa.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace nhits::cpu {
namespace {

KernelIsa Detect() {
  __builtin_cpu_init();  // this may run from another file's static initialiser, before libgcc's
  KernelIsa isa = KernelIsa::kPortable;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) isa = KernelIsa::kAvx2;
  // The AVX-512 tier falls back to AVX2 kernels where it lacks VNNI: it needs both (a VM may
  // mask features a real chip would have).
  if (isa == KernelIsa::kAvx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw"))
    isa = KernelIsa::kAvx512;
  const char* cap = std::getenv("NHITS_MAX_CPU_ISA");
  if (cap == nullptr || *cap == '\0') return isa;
  KernelIsa limit;
  if (std::strcmp(cap, "portable") == 0) {
    limit = KernelIsa::kPortable;
  } else if (std::strcmp(cap, "avx2") == 0) {
    limit = KernelIsa::kAvx2;
  } else if (std::strcmp(cap, "avx512") == 0) {
    limit = KernelIsa::kAvx512;
  } else {
    // A typo must not silently run another kernel than the one a test or benchmark meant.
    std::fprintf(stderr, "NHITS_MAX_CPU_ISA=%s is not one of portable, avx2, avx512; ignored\n", cap);
    return isa;
  }
  return isa < limit ? isa : limit;
}

}  // namespace

KernelIsa MaxKernelIsa() {
  static const KernelIsa isa = Detect();
  return isa;
}

const char* ToString(KernelIsa isa) {
  switch (isa) {
    case KernelIsa::kAvx512: return "avx512";
    case KernelIsa::kAvx2: return "avx2";
    default: return "portable";
  }
}

}  // namespace nhits::cpu
