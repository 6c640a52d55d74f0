// Which instruction set the hand-written CPU kernels use, decided once per process. Each kernel
// keeps an ordered list, widest first (AVX-512, then AVX2 + FMA, then portable C++), and runs
// the widest this CPU has and the cap allows. NHITS_MAX_CPU_ISA=portable|avx2 caps it, as
// oneDNN's ONEDNN_MAX_CPU_ISA does, so tests hold every fallback to the same references on a
// machine that would never run it otherwise. It caps our kernels only: oneDNN's large-batch
// GEMMs follow ONEDNN_MAX_CPU_ISA.
#pragma once

namespace nhits::cpu {

enum class KernelIsa { kPortable, kAvx2, kAvx512 };

// The widest of avx512 (AVX512F + BW), avx2 (AVX2 + FMA) and portable that this CPU supports,
// at most the cap. Thread-safe (computed on first call).
KernelIsa MaxKernelIsa();
const char* ToString(KernelIsa isa);

}  // namespace nhits::cpu
