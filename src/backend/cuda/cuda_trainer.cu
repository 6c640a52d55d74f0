// Mixed-precision training on the GPU (see cuda_trainer.h). Mirrors Network<T>::Forward and
// ::Backward (src/model/network.cpp) step for step; the GPU test compares an FP32 step with it.
#include "backend/cuda/cuda_trainer.h"

#include <cublasLt.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "backend/cuda/cublaslt_api.h"
#include "backend/cuda/cuda_common.cuh"
#include "nhits/loss.h"

namespace nhits::cuda {
namespace {

// d theta = [ -d r_next * m | interpolation^T d forecast ]; d r_next * m becomes d r (identity path).
__global__ void ThetaGradKernel(int L, int n_theta, int K, int H, int Q, int taps, const float* mr, float* d_resid,
                                const float* d_f, const int* index, const float* weight, float* d_theta) {
  const int b = blockIdx.x;
  float* dth = d_theta + static_cast<std::size_t>(b) * n_theta;
  for (int t = threadIdx.x; t < L; t += blockDim.x) {
    const float dr = d_resid[b * L + t] * mr[b * L + t];
    d_resid[b * L + t] = dr;
    dth[t] = -dr;
  }
  for (int i = threadIdx.x; i < n_theta - L; i += blockDim.x) dth[L + i] = 0;
  __syncthreads();
  for (int i = threadIdx.x; i < H * Q; i += blockDim.x) {
    const int j = i / Q, q = i % Q;
    for (int u = 0; u < taps; ++u) atomicAdd(&dth[L + q * K + index[j * taps + u]], weight[j * taps + u] * d_f[b * H * Q + i]);
  }
}

// d(pre) = d(post) * relu'(pre); post > 0 exactly where pre > 0.
template <typename T>
__global__ void ReluGradKernel(std::size_t n, const T* post, T* d) {
  const std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x;
  if (i < n && !(ToF(post[i]) > 0.0f)) d[i] = FromF<T>(0.0f);
}

template <typename T>
__global__ void BiasGradKernel(int B, int out, const T* d, float* grad) {
  const int o = blockIdx.x * blockDim.x + threadIdx.x;
  if (o >= out) return;
  float s = 0;
  for (int b = 0; b < B; ++b) s += ToF(d[static_cast<std::size_t>(b) * out + o]);
  grad[o] = s;
}

template <typename T>
__global__ void PoolGradKernel(int L, int k, int Lp, bool max_pool, const T* d_pooled, const int* argmax, float* d_resid) {
  const int b = blockIdx.x;
  for (int p = threadIdx.x; p < Lp; p += blockDim.x) {
    const float g = ToF(d_pooled[b * Lp + p]);
    if (max_pool) {
      d_resid[b * L + argmax[b * Lp + p]] += g;  // windows are disjoint: no two threads share a slot
    } else {
      const int s = p * k, e = min(s + k, L);
      for (int t = s; t < e; ++t) d_resid[b * L + t] += g / static_cast<float>(e - s);
    }
  }
}

__global__ void FiniteKernel(std::size_t n, const float* g, int* bad) {
  const std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x;
  if (i < n && !isfinite(g[i])) atomicExch(bad, 1);
}

// Adam (PyTorch defaults) on the FP32 master weights, gradients unscaled on the fly.
__global__ void AdamKernel(std::size_t n, float* p, float* m, float* v, const float* g, float inv_scale, float step,
                           float inv_sqrt_bc2) {
  const std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const float gi = g[i] * inv_scale;
  m[i] = 0.9f * m[i] + 0.1f * gi;
  v[i] = 0.999f * v[i] + 0.001f * gi * gi;
  p[i] -= step * m[i] / (sqrtf(v[i]) * inv_sqrt_bc2 + 1e-8f);
}

unsigned Blocks(std::size_t n) { return static_cast<unsigned>((n + 255) / 256); }

template <typename T>
class Trainer final : public CudaTrainer {
 public:
  Trainer(const Model& model, int max_batch, GpuPrecision precision, LossScalerOptions so)
      : config_(model.config()), layout_(model.network().layout()), max_batch_(max_batch), precision_(precision),
        scaler_(so) {
    P_ = model.network().params().size();
  }
  ~Trainer() override {
    for (void* p : owned_) cudaFree(p);
    if (lt_) lt_api_->Destroy(lt_);
    if (stream_) cudaStreamDestroy(stream_);
  }

  Status Init(const Model& model) {
    NHITS_CUDA_TRY(cudaGetDevice(&device_));  // per host thread: Step may run on another
    NHITS_CUDA_TRY(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    Result<const CublasLt*> api = LoadCublasLt();
    if (!api.ok()) return api.status();
    lt_api_ = *api;
    NHITS_LT_TRY(lt_api_->Create(&lt_));
    const std::size_t B = static_cast<std::size_t>(max_batch_), L = config_.input_size,
                      HQ = static_cast<std::size_t>(config_.h) * config_.network_outputs_per_step();
    NHITS_RETURN_IF_ERROR(Alloc(P_ * sizeof(float), &master_));
    NHITS_RETURN_IF_ERROR(Alloc(P_ * sizeof(float), &m_));
    NHITS_RETURN_IF_ERROR(Alloc(P_ * sizeof(float), &v_));
    NHITS_RETURN_IF_ERROR(Alloc(P_ * sizeof(float), &grad_));
    NHITS_RETURN_IF_ERROR(Alloc(P_ * sizeof(T), &work_));
    NHITS_CUDA_TRY(cudaMemcpy(master_, model.network().params().data(), P_ * sizeof(float), cudaMemcpyHostToDevice));
    NHITS_CUDA_TRY(cudaMemset(m_, 0, P_ * sizeof(float)));
    NHITS_CUDA_TRY(cudaMemset(v_, 0, P_ * sizeof(float)));
    NHITS_RETURN_IF_ERROR(Alloc(B * L * sizeof(float), &x_));
    NHITS_RETURN_IF_ERROR(Alloc(B * L * sizeof(float), &mask_));
    NHITS_RETURN_IF_ERROR(Alloc(B * L * sizeof(float), &mr_));
    NHITS_RETURN_IF_ERROR(Alloc(B * L * sizeof(float), &d_resid_));
    NHITS_RETURN_IF_ERROR(Alloc(B * HQ * sizeof(float), &f_));
    NHITS_RETURN_IF_ERROR(Alloc(B * HQ * sizeof(float), &df_));
    NHITS_RETURN_IF_ERROR(Alloc(sizeof(int), &bad_));
    int widest = 0, max_theta = 0;
    for (const BlockLayout& blk : layout_.blocks) {
      Block bd;
      NHITS_RETURN_IF_ERROR(Alloc(B * L * sizeof(T), &bd.r));
      NHITS_RETURN_IF_ERROR(Alloc(B * blk.pooled_size * sizeof(T), &bd.pooled));
      NHITS_RETURN_IF_ERROR(Alloc(B * blk.pooled_size * sizeof(int), &bd.argmax));
      std::vector<float> w(blk.interp.weight.begin(), blk.interp.weight.end());
      NHITS_RETURN_IF_ERROR(Alloc(blk.interp.index.size() * sizeof(int), &bd.index));
      NHITS_RETURN_IF_ERROR(Alloc(w.size() * sizeof(float), &bd.weight));
      NHITS_CUDA_TRY(cudaMemcpy(bd.index, blk.interp.index.data(), blk.interp.index.size() * sizeof(int), cudaMemcpyHostToDevice));
      NHITS_CUDA_TRY(cudaMemcpy(bd.weight, w.data(), w.size() * sizeof(float), cudaMemcpyHostToDevice));
      for (const LinearSlot& l : blk.layers) {
        void* out = nullptr;
        NHITS_RETURN_IF_ERROR(Alloc(B * l.out * sizeof(T), &out));
        bd.out.push_back(out);
        widest = std::max(widest, std::max(l.out, l.in));
      }
      max_theta = std::max(max_theta, blk.n_theta);
      blocks_.push_back(bd);
    }
    NHITS_RETURN_IF_ERROR(Alloc(B * L * sizeof(T), &r_last_));
    NHITS_RETURN_IF_ERROR(Alloc(B * max_theta * sizeof(float), &dtheta_f_));
    NHITS_RETURN_IF_ERROR(Alloc(B * std::max(widest, max_theta) * sizeof(T), &d_a_));
    NHITS_RETURN_IF_ERROR(Alloc(B * std::max(widest, max_theta) * sizeof(T), &d_b_));
    NHITS_RETURN_IF_ERROR(Alloc(kWorkspace, &workspace_));
    host_f_.resize(B * HQ);
    host_df_.resize(B * HQ);
    // The copy and memsets above ran on the legacy default stream, which stream_ does not wait for.
    NHITS_CUDA_TRY(cudaStreamSynchronize(cudaStreamLegacy));  // not the whole device: other models serve on
    return Status::Ok();
  }

  Result<GpuTrainStep> Step(int B, const float* insample, const float* mask, const float* y, const float* y_mask,
                            double lr) override {
    if (B < 1 || B > max_batch_) return Status::InvalidArgument("batch outside 1.." + std::to_string(max_batch_));
    NHITS_CUDA_TRY(cudaSetDevice(device_));
    const int L = config_.input_size, H = config_.h, Q = config_.network_outputs_per_step(), HQ = H * Q;
    const double scale = precision_ == GpuPrecision::kFp32 || precision_ == GpuPrecision::kTf32 ? 1.0 : scaler_.scale();
    ConvertKernel<T><<<Blocks(P_), 256, 0, stream_>>>(P_, static_cast<float*>(master_), static_cast<T*>(work_));
    NHITS_CUDA_TRY(cudaMemcpyAsync(x_, insample, static_cast<std::size_t>(B) * L * sizeof(float), cudaMemcpyHostToDevice, stream_));
    NHITS_CUDA_TRY(cudaMemcpyAsync(mask_, mask, static_cast<std::size_t>(B) * L * sizeof(float), cudaMemcpyHostToDevice, stream_));
    NHITS_RETURN_IF_ERROR(Forward(B));
    NHITS_CUDA_TRY(cudaMemcpyAsync(host_f_.data(), f_, static_cast<std::size_t>(B) * HQ * sizeof(float), cudaMemcpyDeviceToHost, stream_));
    NHITS_CUDA_TRY(cudaStreamSynchronize(stream_));
    GpuTrainStep out;
    out.loss_scale = scale;
    out.loss = ComputeLoss<float>(config_, B, host_f_.data(), y, y_mask, host_df_.data());
    for (int i = 0; i < B * HQ; ++i) host_df_[static_cast<std::size_t>(i)] *= static_cast<float>(scale);
    NHITS_CUDA_TRY(cudaMemcpyAsync(df_, host_df_.data(), static_cast<std::size_t>(B) * HQ * sizeof(float), cudaMemcpyHostToDevice, stream_));
    NHITS_RETURN_IF_ERROR(Backward(B));
    NHITS_CUDA_TRY(cudaMemsetAsync(bad_, 0, sizeof(int), stream_));
    FiniteKernel<<<Blocks(P_), 256, 0, stream_>>>(P_, static_cast<float*>(grad_), static_cast<int*>(bad_));
    int bad = 0;
    NHITS_CUDA_TRY(cudaMemcpyAsync(&bad, bad_, sizeof(int), cudaMemcpyDeviceToHost, stream_));
    NHITS_CUDA_TRY(cudaStreamSynchronize(stream_));
    const bool mixed = !(precision_ == GpuPrecision::kFp32 || precision_ == GpuPrecision::kTf32);
    if (mixed && !scaler_.Update(bad != 0)) {
      out.skipped = true;
      return out;
    }
    // Without loss scaling a non-finite gradient is divergence, not an overflow to skip: applying
    // it would turn the master weights to NaN for good (the CPU trainer stops on a non-finite loss).
    if (!mixed && bad != 0)
      return Status::InvalidArgument("a gradient is not finite at this step (the model diverged): lower the learning rate "
                                     "or use a scaler");
    ++t_;
    const double bc1 = 1.0 - std::pow(0.9, t_), bc2 = 1.0 - std::pow(0.999, t_);
    AdamKernel<<<Blocks(P_), 256, 0, stream_>>>(P_, static_cast<float*>(master_), static_cast<float*>(m_),
                                                static_cast<float*>(v_), static_cast<float*>(grad_),
                                                static_cast<float>(1.0 / scale), static_cast<float>(lr / bc1),
                                                static_cast<float>(1.0 / std::sqrt(bc2)));
    NHITS_CUDA_TRY(cudaGetLastError());
    NHITS_CUDA_TRY(cudaStreamSynchronize(stream_));
    return out;
  }

  Status CopyWeightsTo(Model& model) override {
    if (model.network().params().size() != P_) return Status::InvalidArgument("the model's layout differs");
    NHITS_CUDA_TRY(cudaMemcpy(model.mutable_network().params().data(), master_, P_ * sizeof(float), cudaMemcpyDeviceToHost));
    return Status::Ok();
  }
  std::uint64_t skipped_steps() const override { return scaler_.skipped(); }

 private:
  static constexpr std::size_t kWorkspace = 4u << 20;
  struct Block {
    void *r = nullptr, *pooled = nullptr, *argmax = nullptr, *index = nullptr, *weight = nullptr;
    std::vector<void*> out;  // per layer: output (post-ReLU for hidden layers)
  };

  Status Alloc(std::size_t bytes, void** p) {
    NHITS_CUDA_TRY(cudaMalloc(p, std::max<std::size_t>(bytes, 1)));
    owned_.push_back(*p);
    return Status::Ok();
  }
  // The largest power of two up to 256 that divides the address.
  static std::uint32_t Alignment(const void* p) {
    const auto v = reinterpret_cast<std::uintptr_t>(p);
    std::uint32_t a = 256;
    while (a > 1 && v % a != 0) a /= 2;
    return a;
  }
  T* W(const LinearSlot& l) const { return static_cast<T*>(work_) + l.weight; }
  T* Bias(const LinearSlot& l) const { return static_cast<T*>(work_) + l.bias; }

  // D = op(A) * op(B) (+ bias / ReLU epilogue); all column-major as cuBLASLt sees them.
  Status Gemm(cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, const void* a, int lda, cudaDataType_t at,
              const void* b, int ldb, void* d, int ldd, cudaDataType_t dt, cublasLtEpilogue_t epi, const void* bias) {
    const cublasComputeType_t compute = precision_ == GpuPrecision::kTf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    cublasLtMatmulDesc_t desc = nullptr;
    cublasLtMatrixLayout_t al = nullptr, bl = nullptr, dl = nullptr;
    cublasLtMatmulPreference_t pref = nullptr;
    Status s;
    auto check = [&](cublasStatus_t c, const char* what) {
      if (s.ok() && c != CUBLAS_STATUS_SUCCESS) s = Status::Internal(std::string(what) + " failed: " + std::to_string(int(c)));
    };
    check(lt_api_->MatmulDescCreate(&desc, compute, CUDA_R_32F), "cublasLtMatmulDescCreate");
    if (s.ok()) check(lt_api_->MatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof(ta)), "TRANSA");
    if (s.ok()) check(lt_api_->MatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof(tb)), "TRANSB");
    if (s.ok()) check(lt_api_->MatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof(epi)), "EPILOGUE");
    if (s.ok() && bias != nullptr)
      check(lt_api_->MatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)), "BIAS");
    if (s.ok()) check(lt_api_->MatrixLayoutCreate(&al, at, ta == CUBLAS_OP_N ? m : k, ta == CUBLAS_OP_N ? k : m, lda), "A layout");
    if (s.ok()) check(lt_api_->MatrixLayoutCreate(&bl, at, tb == CUBLAS_OP_N ? k : n, tb == CUBLAS_OP_N ? n : k, ldb), "B layout");
    if (s.ok()) check(lt_api_->MatrixLayoutCreate(&dl, dt, m, n, ldd), "D layout");
    if (s.ok()) check(lt_api_->MatmulPreferenceCreate(&pref), "preference");
    if (s.ok())
      check(lt_api_->MatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &kWorkspace, sizeof(kWorkspace)),
            "workspace");
    // Weights and their gradients sit at any element offset of one packed buffer: tell the
    // heuristic how aligned each pointer really is, or it assumes 256 bytes (misaligned access).
    const std::uint32_t align_a = Alignment(a), align_b = Alignment(b), align_d = Alignment(d);
    for (auto [attr, value] : {std::pair{CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &align_a},
                               std::pair{CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &align_b},
                               std::pair{CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &align_d},
                               std::pair{CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &align_d}})
      if (s.ok()) check(lt_api_->MatmulPreferenceSetAttribute(pref, attr, value, sizeof(*value)), "alignment");
    cublasLtMatmulHeuristicResult_t h{};
    int found = 0;
    if (s.ok()) check(lt_api_->MatmulAlgoGetHeuristic(lt_, desc, al, bl, dl, dl, pref, 1, &h, &found), "heuristic");
    if (s.ok() && found == 0) s = Status::Unsupported("cuBLASLt has no algorithm for this training GEMM");
    const float alpha = 1.0f, beta = 0.0f;
    if (s.ok()) check(lt_api_->Matmul(lt_, desc, &alpha, a, al, b, bl, &beta, d, dl, d, dl, &h.algo, workspace_, kWorkspace, stream_),
                      "cublasLtMatmul");
    if (pref) lt_api_->MatmulPreferenceDestroy(pref);
    if (dl) lt_api_->MatrixLayoutDestroy(dl);
    if (bl) lt_api_->MatrixLayoutDestroy(bl);
    if (al) lt_api_->MatrixLayoutDestroy(al);
    if (desc) lt_api_->MatmulDescDestroy(desc);
    return s;
  }

  Status Forward(int B) {
    const int L = config_.input_size, H = config_.h, Q = config_.network_outputs_per_step();
    PrepareKernel<T><<<B, 128, 0, stream_>>>(L, H * Q, static_cast<float*>(x_), static_cast<float*>(mask_),
                                              static_cast<T*>(blocks_[0].r), static_cast<float*>(mr_), static_cast<float*>(f_));
    for (std::size_t bi = 0; bi < blocks_.size(); ++bi) {
      const BlockLayout& blk = layout_.blocks[bi];
      Block& bd = blocks_[bi];
      PoolKernel<T><<<B, 128, 0, stream_>>>(L, blk.pool_kernel, blk.pooled_size, config_.pooling_mode == PoolingMode::kMaxPool1d,
                                            static_cast<T*>(bd.r), static_cast<T*>(bd.pooled), static_cast<int*>(bd.argmax));
      const void* x = bd.pooled;
      for (std::size_t li = 0; li < blk.layers.size(); ++li) {
        const LinearSlot& l = blk.layers[li];
        const bool hidden = l.activated;
        // Y^T [out, B] = W [out, in] (row-major = column-major in x out, op T) * X^T [in, B]
        NHITS_RETURN_IF_ERROR(Gemm(CUBLAS_OP_T, CUBLAS_OP_N, l.out, B, l.in, W(l), l.in, DataType<T>(), x, l.in, bd.out[li],
                                   l.out, DataType<T>(), hidden ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_BIAS, Bias(l)));
        x = bd.out[li];
      }
      T* r_next = bi + 1 < blocks_.size() ? static_cast<T*>(blocks_[bi + 1].r) : static_cast<T*>(r_last_);
      BlockTailKernel<T><<<B, 128, 0, stream_>>>(L, blk.n_theta, blk.knots, H, Q, blk.interp.taps, static_cast<const T*>(x),
                                            static_cast<T*>(bd.r), static_cast<float*>(mr_), r_next, static_cast<int*>(bd.index),
                                            static_cast<float*>(bd.weight), static_cast<float*>(f_));
    }
    NHITS_CUDA_TRY(cudaGetLastError());
    return Status::Ok();
  }

  Status Backward(int B) {
    const int L = config_.input_size, H = config_.h, Q = config_.network_outputs_per_step();
    NHITS_CUDA_TRY(cudaMemsetAsync(d_resid_, 0, static_cast<std::size_t>(B) * L * sizeof(float), stream_));
    NHITS_CUDA_TRY(cudaMemsetAsync(grad_, 0, P_ * sizeof(float), stream_));
    float* grad = static_cast<float*>(grad_);
    for (std::size_t bi = blocks_.size(); bi-- > 0;) {
      const BlockLayout& blk = layout_.blocks[bi];
      Block& bd = blocks_[bi];
      ThetaGradKernel<<<B, 128, 0, stream_>>>(L, blk.n_theta, blk.knots, H, Q, blk.interp.taps, static_cast<float*>(mr_),
                                              static_cast<float*>(d_resid_), static_cast<float*>(df_),
                                              static_cast<int*>(bd.index), static_cast<float*>(bd.weight),
                                              static_cast<float*>(dtheta_f_));
      const std::size_t nt = static_cast<std::size_t>(B) * blk.n_theta;
      ConvertKernel<T><<<Blocks(nt), 256, 0, stream_>>>(nt, static_cast<float*>(dtheta_f_), static_cast<T*>(d_a_));
      void* d_out = d_a_;
      void* d_in = d_b_;
      for (std::size_t li = blk.layers.size(); li-- > 0;) {
        const LinearSlot& l = blk.layers[li];
        const bool hidden = l.activated;
        if (hidden) {
          const std::size_t n = static_cast<std::size_t>(B) * l.out;
          ReluGradKernel<T><<<Blocks(n), 256, 0, stream_>>>(n, static_cast<T*>(bd.out[li]), static_cast<T*>(d_out));
        }
        const void* x = li == 0 ? bd.pooled : bd.out[li - 1];
        // dW [out, in] row-major = column-major [in, out] = X^T [in, B] * dY [B, out]
        NHITS_RETURN_IF_ERROR(Gemm(CUBLAS_OP_N, CUBLAS_OP_T, l.in, l.out, B, x, l.in, DataType<T>(), d_out, l.out, grad + l.weight,
                                   l.in, CUDA_R_32F, CUBLASLT_EPILOGUE_DEFAULT, nullptr));
        BiasGradKernel<T><<<(l.out + 127) / 128, 128, 0, stream_>>>(B, l.out, static_cast<T*>(d_out), grad + l.bias);
        if (li == 0 && bi == 0) break;  // the first block's input needs no gradient
        // dX [B, in] row-major = column-major [in, B] = W (column-major in x out) * dY^T [out, B]
        NHITS_RETURN_IF_ERROR(Gemm(CUBLAS_OP_N, CUBLAS_OP_N, l.in, B, l.out, W(l), l.in, DataType<T>(), d_out, l.out, d_in, l.in,
                                   DataType<T>(), CUBLASLT_EPILOGUE_DEFAULT, nullptr));
        std::swap(d_out, d_in);
      }
      if (bi > 0)
        PoolGradKernel<T><<<B, 128, 0, stream_>>>(L, blk.pool_kernel, blk.pooled_size,
                                                  config_.pooling_mode == PoolingMode::kMaxPool1d, static_cast<T*>(d_out),
                                                  static_cast<int*>(bd.argmax), static_cast<float*>(d_resid_));
    }
    NHITS_CUDA_TRY(cudaGetLastError());
    return Status::Ok();
  }

  NhitsConfig config_;
  ParamLayout layout_;
  int max_batch_;
  GpuPrecision precision_;
  DynamicLossScaler scaler_;
  std::size_t P_ = 0;
  int t_ = 0;
  int device_ = 0;
  cudaStream_t stream_ = nullptr;
  const CublasLt* lt_api_ = nullptr;  // set by Init; every cuBLASLt call goes through it
  cublasLtHandle_t lt_ = nullptr;
  std::vector<void*> owned_;
  void *master_ = nullptr, *m_ = nullptr, *v_ = nullptr, *grad_ = nullptr, *work_ = nullptr;
  void *x_ = nullptr, *mask_ = nullptr, *mr_ = nullptr, *d_resid_ = nullptr, *f_ = nullptr, *df_ = nullptr, *bad_ = nullptr;
  void *r_last_ = nullptr, *dtheta_f_ = nullptr, *d_a_ = nullptr, *d_b_ = nullptr, *workspace_ = nullptr;
  std::vector<Block> blocks_;
  std::vector<float> host_f_, host_df_;
};

}  // namespace

Result<std::unique_ptr<CudaTrainer>> CudaTrainer::Create(const Model& model, int max_batch, GpuPrecision precision,
                                                         LossScalerOptions scaler, int device) {
  const NhitsConfig& c = model.config();
  if (c.activation != Activation::kReLU)
    return Status::Unsupported("GPU training supports ReLU activations (this model uses " + ToString(c.activation) + ")");
  if (c.dropout_prob_theta > 0) return Status::Unsupported("GPU training does not support dropout_prob_theta > 0 yet");
  if (c.has_exog()) return Status::Unsupported("GPU training does not take exogenous inputs (futr/hist/stat_exog_list) yet");
  if (c.exclude_insample_y) return Status::Unsupported("GPU training does not support exclude_insample_y yet");
  if (c.distribution_loss()) return Status::Unsupported("GPU training does not support DistributionLoss yet");
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) return Status::Unavailable("no CUDA device");
  if (device < 0 || device >= count) return Status::InvalidArgument("cuda:" + std::to_string(device) + " does not exist");
  if (Status st = CheckKernelIndexRange(model, max_batch); !st.ok()) return st;
  NHITS_CUDA_TRY(cudaSetDevice(device));
  std::unique_ptr<CudaTrainer> t;
  Status s;
  switch (precision) {
    case GpuPrecision::kFp32:
    case GpuPrecision::kTf32: {
      auto p = std::make_unique<Trainer<float>>(model, max_batch, precision, scaler);
      s = p->Init(model);
      t = std::move(p);
      break;
    }
    case GpuPrecision::kFp16: {
      auto p = std::make_unique<Trainer<__half>>(model, max_batch, precision, scaler);
      s = p->Init(model);
      t = std::move(p);
      break;
    }
    case GpuPrecision::kBf16: {
      auto p = std::make_unique<Trainer<__nv_bfloat16>>(model, max_batch, precision, scaler);
      s = p->Init(model);
      t = std::move(p);
      break;
    }
  }
  if (!s.ok()) return s;
  return std::move(t);
}

}  // namespace nhits::cuda
