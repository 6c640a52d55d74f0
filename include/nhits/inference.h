// InferenceSession: forecasting with every buffer reserved up front, for serving. A session is
// sized for a maximum batch and a precision (fp32, bf16 or int8: a per-model runtime choice).
// All scratch memory comes from one arena sized exactly from the model's shapes; in steady state
// a call on the small-batch path (batch <= 8, the latency regime) performs no heap allocation.
// Larger batches go through oneDNN's GEMMs, which manage their own packing buffers.
//
// Usage:
//   nhits::InferenceSession session(model, /*max_batch=*/8, /*threads=*/2);
//   session.Predict(1, insample, mask, forecast);  // raw values in, original scale out
//   nhits::InferenceSession int8(model, 8, 2, {nhits::Precision::kInt8});
// Thread safety: one thread per session at a time; run one session per serving worker. The
// Model must outlive its sessions and must not be modified while they exist.
#pragma once

#include <cstddef>
#include <memory>

#include "nhits/model.h"
#include "nhits/scaler.h"
#include "nhits/precision.h"

namespace nhits {

namespace cpu {
class Arena;
class ThreadPool;
}
class PackedNetwork;

struct SessionMemory {
  std::size_t reserved_bytes = 0;     // the arena: activations, scaling and kernel scratch
  std::size_t high_water_bytes = 0;   // the most of it any call has used
  std::size_t packed_weight_bytes = 0;  // weights as the kernels stream them (BF16/INT8 copies + FP32 layers)
  std::size_t owned_weight_bytes = 0;   // copies the session holds (BF16/INT8 packs, large-batch GEMM layouts)
  std::size_t shared_weight_bytes = 0;  // a sibling's: the copies it shares with its first session
  std::size_t model_weight_bytes = 0;   // the model's FP32 parameters (shared, not owned)
  // high_water / reserved: 1.0 when the arena was sized exactly for what calls use.
  double efficiency() const { return reserved_bytes ? static_cast<double>(high_water_bytes) / reserved_bytes : 0.0; }
};

// How a session lays out its weights, beyond the precision plan.
struct SessionLayout {
  // FP32 layers keep a second copy of their weights in 8-row panels for batches 1-2 (AVX-512
  // only): a batch-1 forecast ~1.4x faster for one more copy of the FP32 weights in memory.
  // Off, those batches use the row-major kernel (the memory-efficient profile).
  bool small_batch_panels = true;
};

class InferenceSession {
 public:
  // threads: the session's threads; 0 means every core this process may use (UsableCores).
  InferenceSession(const Model& model, int max_batch, int threads, const PrecisionPlan& precision = {},
                   const SessionLayout& layout = {});
  ~InferenceSession();
  InferenceSession(const InferenceSession&) = delete;
  InferenceSession& operator=(const InferenceSession&) = delete;

  // Another session on the same packed weights, with its own arena and `threads` threads: the
  // serving workers of one model keep one copy of the weights in memory and in cache.
  std::unique_ptr<InferenceSession> Sibling(int threads) const;

  int max_batch() const { return max_batch_; }
  const PrecisionPlan& precision() const;
  // insample/mask: [batch, L] raw values (mask 0 = padded); out: [batch, h, Q] original scale.
  // InvalidArgument if batch is not in 1..max_batch(), or if the model takes exogenous inputs
  // (use the overload with ExogBatch).
  Status Predict(int batch, const float* insample, const float* mask, float* out);
  // The same on `threads` threads for this call only (1..threads(); 0: all of them): a serving
  // worker runs on one core while its peers are busy and on all of them when it is alone.
  Status Predict(int batch, const float* insample, const float* mask, float* out, int threads);
  // With the raw exogenous inputs of each window (ExogBatch layout, see Model::PredictWindows):
  // scaled per window like y, then the same kernels. InvalidArgument when the model needs them and
  // a pointer is null.
  Status Predict(int batch, const float* insample, const float* mask, const ExogBatch<float>& exog, float* out,
                 int threads = 0);
  // A DistributionLoss model: window `window` of the last Predict call decoded again under `as`
  // (the same model at other levels: as.level differs, nothing else), into
  // [h, as.outputs_per_step()]. Valid until the next Predict; InvalidArgument otherwise.
  Status DecodeLast(int window, const NhitsConfig& as, float* out) const;
  int threads() const;
  // Runs the session's helper threads under SCHED_FIFO at `priority` (a serving worker that is
  // itself real-time needs its helpers to be, or they wait behind everything else). Returns 0
  // or the error (EPERM without root or CAP_SYS_NICE).
  int SetHelperThreadsRealtime(int priority);
  SessionMemory memory() const;
  // FLOPs of the linear layers per forecast as this session runs them: each block's linear first
  // layer composed with the next and the last block's backcast rows skipped, so fewer than
  // Model::FlopsPerForecast (neuralforecast's count), which is what a roofline must compare.
  std::int64_t ExecutedFlopsPerForecast() const;

  // Bytes a session of this batch size reserves (arena), computed from the model's shapes.
  static std::size_t ArenaBytes(const Model& model, const PrecisionPlan& precision, int max_batch);
  // Weight memory of a session: the model's FP32 parameters plus the session's own copies.
  static std::size_t WeightBytes(const Model& model, const PrecisionPlan& precision, int max_batch);
  // The largest max_batch whose weights (WeightBytes) and arena fit in `budget_bytes` (0 if
  // none): solved from the shapes, not by trying sessions.
  static int MaxBatchForBudget(const Model& model, const PrecisionPlan& precision, std::size_t budget_bytes);

 private:
  InferenceSession(const Model& model, int max_batch, int threads, std::shared_ptr<const PackedNetwork> packed,
                   bool sibling);
  void Warm();

  const Model& model_;
  int max_batch_;
  std::shared_ptr<const PackedNetwork> packed_;
  bool sibling_ = false;  // shares packed_ with the session it came from
  std::unique_ptr<cpu::ThreadPool> pool_;
  std::unique_ptr<cpu::Arena> arena_;
  // The last Predict's scaler statistics and raw distribution channels (in the arena), for DecodeLast.
  const ScaleStats* last_stats_ = nullptr;
  const float* last_raw_ = nullptr;
  int last_batch_ = 0;
};

}  // namespace nhits
