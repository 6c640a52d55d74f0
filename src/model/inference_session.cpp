#include "nhits/inference.h"

#include <omp.h>

#include <string>
#include <vector>

#include "backend/cpu/arena.h"
#include "backend/cpu/parallel_rows.h"
#include "backend/cpu/small_batch_linear.h"
#include "backend/cpu/thread_pool.h"
#include "model/packed_network.h"
#include "nhits/scaler.h"

namespace nhits {
namespace {

struct Buffers {
  float* scaled;
  ScaleStats* stats;
};

// The session's own buffers come first in the arena; the network's scratch follows.
Buffers TakeSessionBuffers(cpu::Arena& arena, const NhitsConfig& c, int batch) {
  Buffers b;
  b.scaled = arena.Take<float>(static_cast<std::size_t>(batch) * c.input_size);
  b.stats = arena.Take<ScaleStats>(static_cast<std::size_t>(batch));
  return b;
}

std::size_t ArenaBytesFor(const PackedNetwork& packed, int batch) {
  cpu::Arena counting;
  TakeSessionBuffers(counting, packed.config(), batch);
  return counting.high_water() + packed.ScratchBytes(batch);
}

}  // namespace

InferenceSession::InferenceSession(const Model& model, int max_batch, int threads, const PrecisionPlan& precision)
    : model_(model),
      max_batch_(max_batch < 1 ? 1 : max_batch),
      packed_(std::make_unique<PackedNetwork>(model.network(), precision, max_batch_)),
      pool_(std::make_unique<cpu::ThreadPool>(threads)),
      arena_(std::make_unique<cpu::Arena>(ArenaBytesFor(*packed_, max_batch_))) {
  // A first call at the largest batch touches every page of the arena and warms the kernels.
  const NhitsConfig& c = model_.config();
  std::vector<float> x(static_cast<std::size_t>(max_batch_) * c.input_size, 0.0f), mask(x.size(), 1.0f),
      out(static_cast<std::size_t>(max_batch_) * c.h * c.outputs_per_step());
  (void)Predict(max_batch_, x.data(), mask.data(), out.data());
}

InferenceSession::~InferenceSession() = default;

const PrecisionPlan& InferenceSession::precision() const { return packed_->plan(); }

int InferenceSession::threads() const { return pool_->size(); }

Status InferenceSession::Predict(int batch, const float* insample, const float* mask, float* out) {
  return Predict(batch, insample, mask, out, 0);
}

Status InferenceSession::Predict(int batch, const float* insample, const float* mask, float* out, int threads) {
  if (threads <= 0 || threads > pool_->size()) threads = pool_->size();
  // OpenMP's thread count (the row loops and oneDNN's GEMMs) is per calling thread: set it for
  // this call, or two serving workers would each start a team of every core.
  omp_set_num_threads(threads);
  cpu::ThreadPool* pool = threads == 1 ? nullptr : pool_.get();
  if (batch < 1 || batch > max_batch_)
    return Status::InvalidArgument("batch " + std::to_string(batch) + " is outside 1.." + std::to_string(max_batch_) +
                                   " (the session's max_batch)");
  const NhitsConfig& c = model_.config();
  const int L = c.input_size, HQ = c.h * c.outputs_per_step();
  arena_->Reset();
  Buffers buf = TakeSessionBuffers(*arena_, c, batch);
  cpu::ForRows(batch, [&](int b0, int b1) {
    for (int b = b0; b < b1; ++b) {
      const std::size_t at = static_cast<std::size_t>(b) * L;
      buf.stats[b] = ScaleWindow(c.scaler_type, insample + at, mask + at, L, buf.scaled + at);
    }
  });
  packed_->Forward(batch, buf.scaled, mask, out, *arena_, pool);
  if (c.scaler_type != ScalerType::kIdentity)
    cpu::ForRows(batch, [&](int b0, int b1) {
      for (int b = b0; b < b1; ++b) UnscaleForecast(c.scaler_type, buf.stats[b], out + static_cast<std::size_t>(b) * HQ, HQ);
    });
  return Status::Ok();
}

SessionMemory InferenceSession::memory() const {
  SessionMemory m;
  m.reserved_bytes = arena_->capacity();
  m.high_water_bytes = arena_->high_water();
  m.packed_weight_bytes = packed_->WeightBytes();
  m.owned_weight_bytes = packed_->OwnedWeightBytes();
  m.model_weight_bytes = model_.network().params().size() * sizeof(float);
  return m;
}

std::size_t InferenceSession::ArenaBytes(const Model& model, const PrecisionPlan& precision, int max_batch) {
  return ArenaBytesFor(PackedNetwork(model.network(), precision), max_batch);
}

std::size_t InferenceSession::WeightBytes(const Model& model, const PrecisionPlan& precision, int max_batch) {
  return model.network().params().size() * sizeof(float) +
         PackedNetwork(model.network(), precision, max_batch).OwnedWeightBytes();
}

int InferenceSession::MaxBatchForBudget(const Model& model, const PrecisionPlan& precision, std::size_t budget_bytes) {
  const PackedNetwork packed(model.network(), precision);
  // Weights: the model's FP32 parameters, the session's own copies (small- and large-batch).
  const std::size_t small = WeightBytes(model, precision, 1), large = WeightBytes(model, precision, cpu::kSmallBatchMax + 1);
  auto total = [&](int b) { return (b > cpu::kSmallBatchMax ? large : small) + ArenaBytesFor(packed, b); };
  if (total(1) > budget_bytes) return 0;
  if (total(cpu::kSmallBatchMax + 1) > budget_bytes) {  // no room for the large-batch weight layouts
    int b = cpu::kSmallBatchMax;
    while (b > 1 && total(b) > budget_bytes) --b;
    return b;
  }
  // Every buffer is B * (bytes per window) rounded up to 64 bytes, so fixed + B * per_window is a
  // lower bound that misses by at most one cache line per buffer: start from the bound and step
  // down the few windows the rounding costs.
  constexpr int kBig = 1 << 20;
  const std::size_t fixed = large + ArenaBytesFor(packed, 0), per_window = (total(kBig) - fixed) / kBig;
  long long b = static_cast<long long>((budget_bytes - fixed) / (per_window > 0 ? per_window : 1));
  b = std::min<long long>(b, 1 << 30);
  while (b > cpu::kSmallBatchMax + 1 && total(static_cast<int>(b)) > budget_bytes) --b;
  return static_cast<int>(b);
}

}  // namespace nhits
