// The CUDA inference path (see cuda_forecaster.h). Everything here compiles in CI (nvcc, sm_80
// and sm_90); it only runs where a GPU is present: bench/gpu/check.sh and the GPU tests.
#include "backend/cuda/cuda_forecaster.h"

#include <cublasLt.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <vector>

#include "backend/cuda/caching_allocator.h"
#include "backend/cuda/cublaslt_api.h"
#include "backend/cuda/cuda_common.cuh"
#include "nhits/distribution.h"
#include "nhits/scaler.h"

namespace nhits::cuda {

const char* ToString(GpuPrecision p) {
  switch (p) {
    case GpuPrecision::kFp32: return "fp32";
    case GpuPrecision::kTf32: return "tf32";
    case GpuPrecision::kFp16: return "fp16";
    case GpuPrecision::kBf16: return "bf16";
  }
  return "?";
}

Result<GpuPrecision> ParseGpuPrecision(const std::string& name) {
  for (GpuPrecision p : {GpuPrecision::kFp32, GpuPrecision::kTf32, GpuPrecision::kFp16, GpuPrecision::kBf16})
    if (name == ToString(p)) return p;
  return Status::InvalidArgument("unknown GPU precision '" + name + "' (fp32, tf32, fp16 or bf16)");
}

namespace {

class CudaRaw : public RawDeviceMemory {
 public:
  void* Allocate(std::size_t n) override {
    void* p = nullptr;
    return cudaMalloc(&p, n) == cudaSuccess ? p : nullptr;
  }
  void Free(void* p) override { cudaFree(p); }
};

// Activations other than ReLU (which the GEMM epilogue applies).
template <typename T>
__global__ void ActivationKernel(int n, int activation, float slope, T* y) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const float x = ToF(y[i]);
  float v = x;
  switch (static_cast<Activation>(activation)) {
    case Activation::kReLU: v = x > 0 ? x : 0; break;
    case Activation::kSoftplus: v = x > 20 ? x : log1pf(expf(x)); break;
    case Activation::kTanh: v = tanhf(x); break;
    case Activation::kSELU: v = 1.0507009873554805f * (x > 0 ? x : 1.6732632423543772f * (expf(x) - 1)); break;
    case Activation::kLeakyReLU: v = x > 0 ? x : 0.01f * x; break;
    case Activation::kPReLU: v = x > 0 ? x : slope * x; break;
    case Activation::kSigmoid: v = 1 / (1 + expf(-x)); break;
  }
  y[i] = FromF<T>(v);
}

template <typename T>
class Forecaster final : public CudaForecaster {
 public:
  Forecaster(const Model& model, int max_batch, GpuPrecision precision)
      : model_(model), max_batch_(max_batch), precision_(precision), alloc_(raw_, SIZE_MAX) {}
  ~Forecaster() override {
    for (auto& [b, g] : graphs_) cudaGraphExecDestroy(g);
    if (lt_api_) {  // null when Init failed before loading cuBLASLt: nothing of it was created
      for (auto& l : layers_) {
        lt_api_->MatmulDescDestroy(l.desc);
        lt_api_->MatrixLayoutDestroy(l.a);
      }
      for (auto& [key, lay] : layouts_) lt_api_->MatrixLayoutDestroy(lay);
      if (lt_) lt_api_->Destroy(lt_);
    }
    if (host_x_) cudaFreeHost(host_x_);
    if (host_m_) cudaFreeHost(host_m_);
    if (host_f_) cudaFreeHost(host_f_);
    for (void* p : owned_) alloc_.Free(p);
    if (stream_) cudaStreamDestroy(stream_);
  }

  Status Init() {
    // The current device is per host thread: Predict runs on serving workers, not this one.
    NHITS_CUDA_TRY(cudaGetDevice(&device_));
    const NhitsConfig& c = model_.config();
    L_ = c.input_size;
    HQ_ = c.h * c.network_outputs_per_step();  // the network's channels; DecodeForecast makes the columns
    HC_ = c.h * c.outputs_per_step();
    NHITS_CUDA_TRY(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    Result<const CublasLt*> api = LoadCublasLt();
    if (!api.ok()) return api.status();
    lt_api_ = *api;
    NHITS_LT_TRY(lt_api_->Create(&lt_));
    const std::size_t xs = static_cast<std::size_t>(max_batch_) * L_;
    NHITS_CUDA_TRY(cudaMallocHost(&host_x_, xs * sizeof(float)));
    NHITS_CUDA_TRY(cudaMallocHost(&host_m_, xs * sizeof(float)));
    NHITS_CUDA_TRY(cudaMallocHost(&host_f_, static_cast<std::size_t>(max_batch_) * HQ_ * sizeof(float)));
    std::fill(host_x_, host_x_ + xs, 0.0f);
    std::fill(host_m_, host_m_ + xs, 1.0f);
    const auto& p = model_.network().params();
    const auto& blocks = model_.network().layout().blocks;
    int widest = 0, max_pooled = 0;
    for (std::size_t bi = 0; bi < blocks.size(); ++bi) {
      const BlockLayout& blk = blocks[bi];
      max_pooled = std::max(max_pooled, blk.pooled_size);
      BlockDev bd;
      std::vector<float> w(blk.interp.weight.begin(), blk.interp.weight.end());
      NHITS_RETURN_IF_ERROR(Upload(blk.interp.index.data(), blk.interp.index.size() * sizeof(int), &bd.index));
      NHITS_RETURN_IF_ERROR(Upload(w.data(), w.size() * sizeof(float), &bd.weight));
      blocks_.push_back(bd);
      for (std::size_t li = 0; li < blk.layers.size(); ++li) {
        const LinearSlot& s = blk.layers[li];
        widest = std::max(widest, s.out);
        Layer l;
        l.slot = &s;
        l.block = static_cast<int>(bi);
        l.hidden = s.activated;
        std::vector<T> wt(static_cast<std::size_t>(s.in) * s.out), bt(static_cast<std::size_t>(s.out));
        for (std::size_t i = 0; i < wt.size(); ++i) wt[i] = HostConvert<T>(p[s.weight + i]);
        for (int i = 0; i < s.out; ++i) bt[static_cast<std::size_t>(i)] = HostConvert<T>(p[s.bias + i]);
        NHITS_RETURN_IF_ERROR(Upload(wt.data(), wt.size() * sizeof(T), &l.w));
        NHITS_RETURN_IF_ERROR(Upload(bt.data(), bt.size() * sizeof(T), &l.b));
        const cublasComputeType_t compute =
            precision_ == GpuPrecision::kTf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
        NHITS_LT_TRY(lt_api_->MatmulDescCreate(&l.desc, compute, CUDA_R_32F));
        const cublasOperation_t transa = CUBLAS_OP_T;
        NHITS_LT_TRY(lt_api_->MatmulDescSetAttribute(l.desc, CUBLASLT_MATMUL_DESC_TRANSA, &transa, sizeof(transa)));
        const bool relu = l.hidden && model_.config().activation == Activation::kReLU;
        const cublasLtEpilogue_t epi = relu ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_BIAS;
        NHITS_LT_TRY(lt_api_->MatmulDescSetAttribute(l.desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof(epi)));
        NHITS_LT_TRY(lt_api_->MatmulDescSetAttribute(l.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &l.b, sizeof(l.b)));
        // W is [out, in] row-major = column-major in x out; op T makes it out x in.
        NHITS_LT_TRY(lt_api_->MatrixLayoutCreate(&l.a, DataType<T>(), s.in, s.out, s.in));
        layers_.push_back(l);
      }
    }
    const std::size_t B = static_cast<std::size_t>(max_batch_);
    NHITS_RETURN_IF_ERROR(Scratch(B * L_ * sizeof(float), &d_x_));
    NHITS_RETURN_IF_ERROR(Scratch(B * L_ * sizeof(float), &d_m_));
    NHITS_RETURN_IF_ERROR(Scratch(B * L_ * sizeof(float), &d_mr_));
    NHITS_RETURN_IF_ERROR(Scratch(B * HQ_ * sizeof(float), &d_f_));
    NHITS_RETURN_IF_ERROR(Scratch(B * L_ * sizeof(T), &d_r_[0]));
    NHITS_RETURN_IF_ERROR(Scratch(B * L_ * sizeof(T), &d_r_[1]));
    NHITS_RETURN_IF_ERROR(Scratch(B * max_pooled * sizeof(T), &d_pool_));
    NHITS_RETURN_IF_ERROR(Scratch(B * widest * sizeof(T), &d_act_[0]));
    NHITS_RETURN_IF_ERROR(Scratch(B * widest * sizeof(T), &d_act_[1]));
    NHITS_RETURN_IF_ERROR(Scratch(kWorkspace, &d_workspace_));
    // The uploads above ran on the legacy default stream, which stream_ (non-blocking) does not wait for.
    NHITS_CUDA_TRY(cudaStreamSynchronize(cudaStreamLegacy));  // not the whole device: other models serve on
    return Status::Ok();
  }

  Status Predict(int batch, const float* insample, const float* mask, float* out) override {
    if (batch < 1 || batch > max_batch_)
      return Status::InvalidArgument("batch " + std::to_string(batch) + " is outside 1.." + std::to_string(max_batch_));
    NHITS_CUDA_TRY(cudaSetDevice(device_));
    const NhitsConfig& c = model_.config();
    stats_.resize(static_cast<std::size_t>(batch));
    for (int b = 0; b < batch; ++b) {
      const float* x = insample + static_cast<std::size_t>(b) * L_;
      const float* m = mask + static_cast<std::size_t>(b) * L_;
      stats_[b] = ScaleInsampleWindow(c, x, m, L_, host_x_ + static_cast<std::size_t>(b) * L_);
      std::copy(m, m + L_, host_m_ + static_cast<std::size_t>(b) * L_);
    }
    int bucket = 1;
    while (bucket < batch) bucket *= 2;
    bucket = std::min(bucket, max_batch_);
    auto it = graphs_.find(bucket);
    if (it == graphs_.end()) {
      cudaGraph_t graph = nullptr;
      NHITS_CUDA_TRY(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
      const Status s = Enqueue(bucket);
      const cudaError_t end = cudaStreamEndCapture(stream_, &graph);
      cudaGraphExec_t exec = nullptr;
      const cudaError_t made = s.ok() && end == cudaSuccess ? cudaGraphInstantiate(&exec, graph, 0) : cudaSuccess;
      if (graph != nullptr) cudaGraphDestroy(graph);  // on every path: a failed capture must not leak it
      NHITS_RETURN_IF_ERROR(s);
      NHITS_CUDA_TRY(end);
      NHITS_CUDA_TRY(made);
      it = graphs_.emplace(bucket, exec).first;
    }
    NHITS_CUDA_TRY(cudaGraphLaunch(it->second, stream_));
    NHITS_CUDA_TRY(cudaStreamSynchronize(stream_));
    for (int b = 0; b < batch; ++b)
      DecodeForecast(c, stats_[b], host_f_ + static_cast<std::size_t>(b) * HQ_, out + static_cast<std::size_t>(b) * HC_);
    return Status::Ok();
  }

  GpuPrecision precision() const override { return precision_; }
  std::string fallback_reason() const override { return fallback_; }
  double load_check_error() const override { return check_error_; }
  GpuMemoryStats memory() const override {
    const AllocatorStats s = alloc_.stats();
    return {s.reserved, s.in_use, s.high_water_reserved, s.efficiency(), s.fragmentation};
  }
  void set_fallback(std::string why) { fallback_ = std::move(why); }
  void set_check_error(double e) { check_error_ = e; }

 private:
  static constexpr std::size_t kWorkspace = 4u << 20;
  struct Layer {
    const LinearSlot* slot = nullptr;
    int block = 0;
    bool hidden = false;
    void* w = nullptr;
    void* b = nullptr;
    cublasLtMatmulDesc_t desc = nullptr;
    cublasLtMatrixLayout_t a = nullptr;
  };
  struct BlockDev {
    void* index = nullptr;
    void* weight = nullptr;
  };

  Status Upload(const void* host, std::size_t bytes, void** dev) {
    NHITS_RETURN_IF_ERROR(Scratch(bytes, dev));
    NHITS_CUDA_TRY(cudaMemcpy(*dev, host, bytes, cudaMemcpyHostToDevice));
    return Status::Ok();
  }
  Status Scratch(std::size_t bytes, void** dev) {
    Result<void*> p = alloc_.Allocate(bytes, reinterpret_cast<StreamId>(stream_));
    if (!p.ok()) return p.status();
    *dev = *p;
    owned_.push_back(*p);
    return Status::Ok();
  }
  Result<cublasLtMatrixLayout_t> Layout(int rows, int cols) {
    const auto key = std::make_pair(rows, cols);
    auto it = layouts_.find(key);
    if (it != layouts_.end()) return it->second;
    cublasLtMatrixLayout_t l = nullptr;
    NHITS_LT_TRY(lt_api_->MatrixLayoutCreate(&l, DataType<T>(), rows, cols, rows));
    layouts_[key] = l;
    return l;
  }

  // One forward for `B` windows, enqueued on the stream (captured into a graph by Predict).
  Status Enqueue(int B) {
    const NhitsConfig& c = model_.config();
    const int H = c.h, Q = c.network_outputs_per_step();
    NHITS_CUDA_TRY(cudaMemcpyAsync(d_x_, host_x_, static_cast<std::size_t>(B) * L_ * sizeof(float), cudaMemcpyHostToDevice, stream_));
    NHITS_CUDA_TRY(cudaMemcpyAsync(d_m_, host_m_, static_cast<std::size_t>(B) * L_ * sizeof(float), cudaMemcpyHostToDevice, stream_));
    PrepareKernel<T><<<B, 128, 0, stream_>>>(L_, HQ_, static_cast<float*>(d_x_), static_cast<float*>(d_m_),
                                               static_cast<T*>(d_r_[0]), static_cast<float*>(d_mr_), static_cast<float*>(d_f_));
    const auto& blocks = model_.network().layout().blocks;
    const auto& p = model_.network().params();
    int cur = 0;
    std::size_t li_global = 0;
    for (std::size_t bi = 0; bi < blocks.size(); ++bi) {
      const BlockLayout& blk = blocks[bi];
      const T* r = static_cast<T*>(d_r_[cur]);
      const void* x = r;
      if (blk.pool_kernel > 1) {
        PoolKernel<T><<<B, 128, 0, stream_>>>(L_, blk.pool_kernel, blk.pooled_size,
                                              c.pooling_mode == PoolingMode::kMaxPool1d, r, static_cast<T*>(d_pool_), nullptr);
        x = d_pool_;
      }
      const float slope = c.activation == Activation::kPReLU ? p[blk.prelu] : 0.0f;
      for (std::size_t li = 0; li < blk.layers.size(); ++li, ++li_global) {
        const Layer& l = layers_[li_global];
        void* y = d_act_[li % 2];
        Result<cublasLtMatrixLayout_t> bl = Layout(l.slot->in, B), cl = Layout(l.slot->out, B);
        if (!bl.ok()) return bl.status();
        if (!cl.ok()) return cl.status();
        NHITS_RETURN_IF_ERROR(Matmul(l, x, *bl, y, *cl));
        if (l.hidden && c.activation != Activation::kReLU) {
          const int n = B * l.slot->out;
          ActivationKernel<T><<<(n + 255) / 256, 256, 0, stream_>>>(n, static_cast<int>(c.activation), slope, static_cast<T*>(y));
        }
        x = y;
      }
      BlockTailKernel<T><<<B, 128, 0, stream_>>>(L_, blk.n_theta, blk.knots, H, Q, blk.interp.taps,
                                                 static_cast<const T*>(x), r, static_cast<float*>(d_mr_),
                                                 static_cast<T*>(d_r_[1 - cur]), static_cast<int*>(blocks_[bi].index),
                                                 static_cast<float*>(blocks_[bi].weight), static_cast<float*>(d_f_));
      cur = 1 - cur;
    }
    NHITS_CUDA_TRY(cudaGetLastError());
    NHITS_CUDA_TRY(cudaMemcpyAsync(host_f_, d_f_, static_cast<std::size_t>(B) * HQ_ * sizeof(float), cudaMemcpyDeviceToHost, stream_));
    return Status::Ok();
  }

  Status Matmul(const Layer& l, const void* x, cublasLtMatrixLayout_t xl, void* y, cublasLtMatrixLayout_t yl) {
    const float alpha = 1.0f, beta = 0.0f;
    const auto key = std::make_pair(l.desc, yl);
    auto it = algos_.find(key);
    if (it == algos_.end()) {
      cublasLtMatmulPreference_t pref = nullptr;
      NHITS_LT_TRY(lt_api_->MatmulPreferenceCreate(&pref));
      NHITS_LT_TRY(lt_api_->MatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &kWorkspace,
                                                        sizeof(kWorkspace)));
      cublasLtMatmulHeuristicResult_t result{};
      int found = 0;
      const cublasStatus_t s = lt_api_->MatmulAlgoGetHeuristic(lt_, l.desc, l.a, xl, yl, yl, pref, 1, &result, &found);
      lt_api_->MatmulPreferenceDestroy(pref);
      if (s != CUBLAS_STATUS_SUCCESS || found == 0)
        return Status::Unsupported("cuBLASLt has no algorithm for a " + std::to_string(l.slot->out) + "x" +
                                   std::to_string(l.slot->in) + " layer in " + ToString(precision_));
      it = algos_.emplace(key, result.algo).first;
    }
    NHITS_LT_TRY(lt_api_->Matmul(lt_, l.desc, &alpha, l.w, l.a, x, xl, &beta, y, yl, y, yl, &it->second, d_workspace_,
                                kWorkspace, stream_));
    return Status::Ok();
  }

  const Model& model_;
  int max_batch_;
  GpuPrecision precision_;
  CudaRaw raw_;
  CachingAllocator alloc_;
  std::vector<void*> owned_;
  cudaStream_t stream_ = nullptr;
  const CublasLt* lt_api_ = nullptr;  // set by Init; every cuBLASLt call goes through it
  cublasLtHandle_t lt_ = nullptr;
  int L_ = 0, HQ_ = 0, HC_ = 0;  // input size; raw channels and forecast columns per window
  float *host_x_ = nullptr, *host_m_ = nullptr, *host_f_ = nullptr;
  void *d_x_ = nullptr, *d_m_ = nullptr, *d_mr_ = nullptr, *d_f_ = nullptr, *d_pool_ = nullptr, *d_workspace_ = nullptr;
  void* d_r_[2] = {nullptr, nullptr};
  void* d_act_[2] = {nullptr, nullptr};
  std::vector<Layer> layers_;
  std::vector<BlockDev> blocks_;
  std::map<std::pair<int, int>, cublasLtMatrixLayout_t> layouts_;
  std::map<std::pair<cublasLtMatmulDesc_t, cublasLtMatrixLayout_t>, cublasLtMatmulAlgo_t> algos_;
  std::map<int, cudaGraphExec_t> graphs_;
  std::vector<ScaleStats> stats_;
  std::string fallback_;
  double check_error_ = 0;
  int device_ = 0;
};

Result<std::unique_ptr<CudaForecaster>> Build(const Model& model, int max_batch, GpuPrecision precision) {
  std::unique_ptr<CudaForecaster> f;
  Status s;
  switch (precision) {
    case GpuPrecision::kFp32:
    case GpuPrecision::kTf32: {
      auto p = std::make_unique<Forecaster<float>>(model, max_batch, precision);
      s = p->Init();
      f = std::move(p);
      break;
    }
    case GpuPrecision::kFp16: {
      auto p = std::make_unique<Forecaster<__half>>(model, max_batch, precision);
      s = p->Init();
      f = std::move(p);
      break;
    }
    case GpuPrecision::kBf16: {
      auto p = std::make_unique<Forecaster<__nv_bfloat16>>(model, max_batch, precision);
      s = p->Init();
      f = std::move(p);
      break;
    }
  }
  if (!s.ok()) return s;
  return std::move(f);
}

// Max |gpu - cpu| / max(|cpu|, 1) over random windows: the load-time accuracy check.
Result<double> CheckAgainstCpu(const Model& model, CudaForecaster& f, int max_batch) {
  const NhitsConfig& c = model.config();
  const int n = std::min(max_batch, 16), L = c.input_size, HQ = c.h * c.outputs_per_step();
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0, 1);
  std::vector<float> x(static_cast<std::size_t>(n) * L), m(x.size(), 1.0f), cpu(static_cast<std::size_t>(n) * HQ), gpu(cpu.size());
  for (int b = 0; b < n; ++b) {
    float v = 100;
    for (int t = 0; t < L; ++t) x[static_cast<std::size_t>(b) * L + t] = v += nd(rng);
  }
  model.PredictWindows(n, x.data(), m.data(), cpu.data());
  NHITS_RETURN_IF_ERROR(f.Predict(n, x.data(), m.data(), gpu.data()));
  // A non-finite forecast is the worst error, not none (std::max would drop a NaN).
  double worst = 0;
  for (std::size_t i = 0; i < cpu.size(); ++i) {
    if (!std::isfinite(cpu[i]))
      return Status::Internal("the CPU reference forecast of the load-time check windows is not finite: the model's "
                              "weights are (inf or NaN)");
    const double e = std::abs(static_cast<double>(gpu[i]) - cpu[i]) / std::max(1.0, std::abs(static_cast<double>(cpu[i])));
    if (!std::isfinite(e)) return std::numeric_limits<double>::infinity();
    worst = std::max(worst, e);
  }
  return worst;
}

}  // namespace

Result<std::unique_ptr<CudaForecaster>> CudaForecaster::Create(const Model& model, int max_batch, GpuPrecision precision,
                                                               int device, bool auto_fallback) {
  if (model.config().has_exog())
    return Status::Unsupported("the CUDA forecaster does not take exogenous inputs (futr/hist/stat_exog_list) yet");
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0)
    return Status::Unavailable("no CUDA device (cudaGetDeviceCount found none)");
  if (device < 0 || device >= count)
    return Status::InvalidArgument("cuda:" + std::to_string(device) + " does not exist (" + std::to_string(count) + " devices)");
  if (Status st = CheckKernelIndexRange(model, max_batch); !st.ok()) return st;
  NHITS_CUDA_TRY(cudaSetDevice(device));
  Result<std::unique_ptr<CudaForecaster>> f = Build(model, std::max(1, max_batch), precision);
  if (!f.ok()) return f.status();
  Result<double> err = CheckAgainstCpu(model, **f, std::max(1, max_batch));
  if (!err.ok()) return err.status();
  const double bound = precision == GpuPrecision::kFp32 || precision == GpuPrecision::kTf32 ? 1e-3 : 1e-2;
  if (*err > bound && auto_fallback && precision != GpuPrecision::kFp32) {
    const std::string why = std::string(ToString(precision)) + " was " + std::to_string(*err) +
                            " from the FP32 CPU reference (bound " + std::to_string(bound) + "): using fp32";
    f = Build(model, std::max(1, max_batch), GpuPrecision::kFp32);
    if (!f.ok()) return f.status();
    err = CheckAgainstCpu(model, **f, std::max(1, max_batch));
    if (!err.ok()) return err.status();
    static_cast<Forecaster<float>*>(f->get())->set_fallback(why);
  }
  if (!std::isfinite(*err))
    return Status::Internal("the GPU's " + std::string(ToString((*f)->precision())) +
                            " forecasts of the load-time check windows are not finite (inf or NaN)");
  if (precision == GpuPrecision::kFp32 || precision == GpuPrecision::kTf32 || (*f)->precision() == GpuPrecision::kFp32) {
    static_cast<Forecaster<float>*>(f->get())->set_check_error(*err);
  } else if (precision == GpuPrecision::kFp16) {
    static_cast<Forecaster<__half>*>(f->get())->set_check_error(*err);
  } else {
    static_cast<Forecaster<__nv_bfloat16>*>(f->get())->set_check_error(*err);
  }
  return f;
}

}  // namespace nhits::cuda
