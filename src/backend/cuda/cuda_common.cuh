// What the CUDA inference and training paths share: error-to-Status macros, the float <-> compute
// type conversions, cuBLASLt data types, and the forward kernels that are not GEMMs (time
// reversal, pooling, residual update fused with the interpolation and forecast accumulation).
// Mirrors Network<T>::Forward (src/model/network.cpp).
#pragma once

#include <cublasLt.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstddef>
#include <string>

#include "nhits/model.h"
#include "nhits/status.h"

#define NHITS_CUDA_TRY(expr)                                                                             \
  do {                                                                                                   \
    const cudaError_t e_ = (expr);                                                                       \
    if (e_ != cudaSuccess) return Status::Internal(std::string(#expr) + ": " + cudaGetErrorString(e_)); \
  } while (0)
#define NHITS_LT_TRY(expr)                                                                                  \
  do {                                                                                                      \
    const cublasStatus_t s_ = (expr);                                                                       \
    if (s_ != CUBLAS_STATUS_SUCCESS)                                                                        \
      return Status::Internal(std::string(#expr) + " failed with cuBLAS status " + std::to_string(int(s_))); \
  } while (0)

namespace nhits::cuda {

// The kernels index a batch's rows in 32 bits: every per-batch buffer (batch x the widest of the
// input size, a layer, theta or the outputs) must stay below 2^31 elements.
inline Status CheckKernelIndexRange(const Model& model, int max_batch) {
  const NhitsConfig& c = model.config();
  long long widest = static_cast<long long>(c.input_size) + c.h;
  widest = std::max(widest, static_cast<long long>(c.h) * c.network_outputs_per_step());
  for (const BlockLayout& b : model.network().layout().blocks) {
    widest = std::max(widest, static_cast<long long>(b.n_theta));
    for (const LinearSlot& l : b.layers) widest = std::max({widest, static_cast<long long>(l.in), static_cast<long long>(l.out)});
  }
  if (static_cast<long long>(max_batch) * widest >= (1LL << 31))
    return Status::InvalidArgument("max batch " + std::to_string(max_batch) + " x " + std::to_string(widest) +
                                   " values per window is beyond the GPU kernels' 32-bit indexing (2^31): a smaller max batch");
  return Status::Ok();
}

template <typename T>
__device__ __forceinline__ float ToF(T v);
template <>
__device__ __forceinline__ float ToF(float v) { return v; }
template <>
__device__ __forceinline__ float ToF(__half v) { return __half2float(v); }
template <>
__device__ __forceinline__ float ToF(__nv_bfloat16 v) { return __bfloat162float(v); }
template <typename T>
__device__ __forceinline__ T FromF(float v);
template <>
__device__ __forceinline__ float FromF(float v) { return v; }
template <>
__device__ __forceinline__ __half FromF(float v) { return __float2half(v); }
template <>
__device__ __forceinline__ __nv_bfloat16 FromF(float v) { return __float2bfloat16(v); }

template <typename T>
inline T HostConvert(float v);
template <>
inline float HostConvert(float v) { return v; }
template <>
inline __half HostConvert(float v) { return __float2half(v); }
template <>
inline __nv_bfloat16 HostConvert(float v) { return __float2bfloat16(v); }

template <typename T>
inline cudaDataType_t DataType();
template <>
inline cudaDataType_t DataType<float>() { return CUDA_R_32F; }
template <>
inline cudaDataType_t DataType<__half>() { return CUDA_R_16F; }
template <>
inline cudaDataType_t DataType<__nv_bfloat16>() { return CUDA_R_16BF; }

template <typename T>
__global__ void ConvertKernel(std::size_t n, const float* src, T* dst) {
  const std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x;
  if (i < n) dst[i] = FromF<T>(src[i]);
}

// Time reversal of the window and mask; the forecast starts at the Naive1 level.
template <typename T>
__global__ void PrepareKernel(int L, int HQ, const float* x, const float* m, T* r, float* mr, float* f) {
  const int b = blockIdx.x;
  for (int t = threadIdx.x; t < L; t += blockDim.x) {
    r[b * L + t] = FromF<T>(x[b * L + L - 1 - t]);
    mr[b * L + t] = m[b * L + L - 1 - t];
  }
  const float level = x[b * L + L - 1];
  for (int i = threadIdx.x; i < HQ; i += blockDim.x) f[b * HQ + i] = level;
}

// MaxPool1d / AvgPool1d, kernel = stride = k, ceil_mode (the last window may be partial).
// `argmax` (training only, may be null) records the winning position for the backward pass.
template <typename T>
__global__ void PoolKernel(int L, int k, int Lp, bool max_pool, const T* r, T* out, int* argmax) {
  const int b = blockIdx.x;
  for (int p = threadIdx.x; p < Lp; p += blockDim.x) {
    const int s = p * k, e = min(s + k, L);
    int best = s;
    float acc = max_pool ? ToF(r[b * L + s]) : 0.0f;
    for (int t = max_pool ? s + 1 : s; t < e; ++t) {
      const float v = ToF(r[b * L + t]);
      if (max_pool && (v > acc || isnan(v))) acc = v, best = t;
      if (!max_pool) acc += v;
    }
    out[b * Lp + p] = FromF<T>(max_pool ? acc : acc / static_cast<float>(e - s));
    if (argmax != nullptr) argmax[b * Lp + p] = best;
  }
}

// The residual update fused with the interpolation and forecast accumulation of one block.
template <typename T>
__global__ void BlockTailKernel(int L, int n_theta, int K, int H, int Q, int taps, const T* theta, const T* r,
                                const float* mr, T* r_next, const int* index, const float* weight, float* f) {
  const int b = blockIdx.x;
  const T* th = theta + static_cast<std::size_t>(b) * n_theta;
  for (int t = threadIdx.x; t < L; t += blockDim.x)
    r_next[b * L + t] = FromF<T>((ToF(r[b * L + t]) - ToF(th[t])) * mr[b * L + t]);
  for (int i = threadIdx.x; i < H * Q; i += blockDim.x) {
    const int j = i / Q, q = i % Q;
    float s = 0;
    for (int u = 0; u < taps; ++u) s += weight[j * taps + u] * ToF(th[L + q * K + index[j * taps + u]]);
    f[b * H * Q + i] += s;
  }
}

}  // namespace nhits::cuda
