// The small-batch kernels for x86 CPUs with AVX2 + FMA but no AVX-512 (AMD Zen 1-3, many
// cloud VMs, Intel client cores): 8 lanes and 16 vector registers instead of 16 and 32, the
// same accumulator blocking (R rows x B windows, RowsPerStep) and the same weight layouts, so
// a process packs its weights once whichever kernel runs. Without them such a CPU ran the
// portable loops, 9x slower than the weight-streaming floor at batch 1. Callers dispatch on
// MaxKernelIsa(); each function has the contract of its AVX-512 counterpart.
#pragma once

#include "backend/cpu/quantized_linear.h"
#include "backend/cpu/small_batch_linear.h"

namespace nhits::cpu::avx2 {

// SmallBatchLinear: w [out, in] row-major.
void Linear(int batch, int in, const float* x, const float* w, const float* bias, float* y, int ldy, int o_begin,
            int o_end, Epilogue e);
// PanelLinear: the [ceil(in/16)][8][16] panels, read as two 8-lane halves.
void PanelLinear(int batch, const float* x, const Fp32Panels& w, const float* bias, float* y, int ldy, int o_begin,
                 int o_end, Epilogue e);
// Bf16SmallBatchLinear.
void Bf16Linear(int batch, const float* x, const Bf16Weights& w, const float* bias, float* y, int ldy, int o_begin,
                int o_end, Epilogue e);
// Int8SmallBatchLinear, exact: bytes widened to 16 bits and multiplied pairwise into 32 (vpmaddwd),
// not vpmaddubsw, whose 16-bit sums of two u8 x s8 products saturate.
void Int8Linear(int batch, const QuantizedRows& xq, const Int8Weights& w, const float* bias, float* y, int ldy,
                int o_begin, int o_end, Epilogue e);

}  // namespace nhits::cpu::avx2
