#include <cpuid.h>

#include <cstring>
#include <fstream>
#include <string>
#include <thread>

#include "backend/cpu/quantized_linear.h"
#include "backend/cpu/small_batch_linear.h"
#include "nhits/hw.h"

namespace nhits {
namespace {

std::size_t ReadCacheSize(int index) {
  std::ifstream f("/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index) + "/size");
  std::string s;
  if (!(f >> s) || s.empty()) return 0;
  std::size_t v = std::stoul(s);
  if (s.back() == 'K') v <<= 10;
  if (s.back() == 'M') v <<= 20;
  return v;
}

std::string ReadCacheType(int index) {
  std::ifstream f("/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index) + "/type");
  std::string s;
  f >> s;
  return s;
}

int ReadCacheLevel(int index) {
  std::ifstream f("/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index) + "/level");
  int v = 0;
  f >> v;
  return v;
}

// The register state the OS saves on a context switch (XCR0): a CPUID bit names an instruction
// set the CPU has, which a VM or kernel may still leave disabled; only both together make it usable.
unsigned long long EnabledStateMask() {
  unsigned eax = 0, edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<unsigned long long>(edx) << 32) | eax;
}

}  // namespace

CpuInfo DetectCpu() {
  CpuInfo info;
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid(0, &a, &b, &c, &d)) {
    char vendor[13] = {};
    std::memcpy(vendor, &b, 4);
    std::memcpy(vendor + 4, &d, 4);
    std::memcpy(vendor + 8, &c, 4);
    info.vendor = vendor;
  }
  if (__get_cpuid(1, &a, &b, &c, &d)) info.fma = (c >> 12) & 1;
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
    info.avx2 = (b >> 5) & 1;
    info.avx512f = (b >> 16) & 1;
    info.avx512bw = (b >> 30) & 1;
    info.avx512vl = (b >> 31) & 1;
    info.avx512_vnni = (c >> 11) & 1;
    info.amx_bf16 = (d >> 22) & 1;
    info.amx_tile = (d >> 24) & 1;
    info.amx_int8 = (d >> 25) & 1;
  }
  if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) info.avx512_bf16 = (a >> 5) & 1;
  // Without OSXSAVE nothing wider than SSE is enabled; else XMM|YMM (bits 1-2) for AVX2/FMA,
  // opmask and ZMM (5-7) for AVX-512, tile config and data (17-18) for AMX.
  const bool osxsave = __get_cpuid(1, &a, &b, &c, &d) && ((c >> 27) & 1);
  const unsigned long long xcr0 = osxsave ? EnabledStateMask() : 0;
  const bool ymm = (xcr0 & 0x6) == 0x6, zmm = ymm && (xcr0 & 0xE0) == 0xE0, tiles = (xcr0 & 0x60000) == 0x60000;
  info.avx2 = info.avx2 && ymm;
  info.fma = info.fma && ymm;
  for (bool* f : {&info.avx512f, &info.avx512bw, &info.avx512vl, &info.avx512_vnni, &info.avx512_bf16}) *f = *f && zmm;
  for (bool* f : {&info.amx_bf16, &info.amx_tile, &info.amx_int8}) *f = *f && tiles;
  unsigned max_ext = __get_cpuid_max(0x80000000, nullptr);
  if (max_ext >= 0x80000004) {
    char brand[49] = {};
    for (unsigned i = 0; i < 3; ++i) {
      __get_cpuid(0x80000002 + i, &a, &b, &c, &d);
      std::memcpy(brand + 16 * i, &a, 4);
      std::memcpy(brand + 16 * i + 4, &b, 4);
      std::memcpy(brand + 16 * i + 8, &c, 4);
      std::memcpy(brand + 16 * i + 12, &d, 4);
    }
    info.model = brand;
    while (!info.model.empty() && info.model.back() == ' ') info.model.pop_back();
  }
  info.logical_cores = static_cast<int>(std::thread::hardware_concurrency());
  info.usable_cores = UsableCores();
  for (int i = 0; i < 8; ++i) {
    const int level = ReadCacheLevel(i);
    if (level == 0) break;
    const std::string type = ReadCacheType(i);
    if (level == 1 && type == "Data") info.l1d_bytes = ReadCacheSize(i);
    if (level == 2) info.l2_bytes = ReadCacheSize(i);
    if (level == 3) info.l3_bytes = ReadCacheSize(i);
  }
  info.kernel_isa = cpu::SmallBatchLinearIsa();
  info.quantized_kernels = cpu::QuantizedLinearIsa();
  info.int8_gemm_onednn = cpu::Int8GemmUsesOnednn();
  return info;
}

}  // namespace nhits
