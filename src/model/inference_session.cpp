#include "nhits/inference.h"

#include <omp.h>

#include <algorithm>
#include <string>
#include <vector>

#include "backend/cpu/arena.h"
#include "backend/cpu/parallel_rows.h"
#include "backend/cpu/small_batch_linear.h"
#include "backend/cpu/thread_pool.h"
#include "model/packed_network.h"
#include "nhits/distribution.h"
#include "nhits/hw.h"
#include "nhits/scaler.h"

namespace nhits {
namespace {

struct Buffers {
  float* scaled;
  ScaleStats* stats;
  float *hist, *futr, *exog_scratch;  // scaled exogenous columns, and ScaleExogColumns' scratch per window
  float* raw;  // DistributionLoss: the network's parameter channels, before DecodeForecast
  float *embedded_hist, *embedded_futr, *embedded_stat;  // categorical columns: the network's inputs
};

// The session's own buffers come first in the arena; the network's scratch follows.
Buffers TakeSessionBuffers(cpu::Arena& arena, const Model& model, int batch) {
  const NhitsConfig& c = model.config();
  const CategoricalEmbeddings& e = model.embeddings();
  const std::size_t B = static_cast<std::size_t>(batch), L = static_cast<std::size_t>(c.input_size);
  Buffers b;
  b.scaled = arena.Take<float>(B * L);
  b.stats = arena.Take<ScaleStats>(B);
  b.hist = arena.Take<float>(B * L * c.hist_exog_list.size());
  b.futr = arena.Take<float>(B * (L + c.h) * c.futr_exog_list.size());
  b.exog_scratch = arena.Take<float>(c.hist_exog_list.empty() && c.futr_exog_list.empty() ? 0 : B * 2 * L);
  b.raw = arena.Take<float>(c.distribution_loss() ? B * c.h * c.network_outputs_per_step() : 0);
  const bool coded = !e.empty();
  b.embedded_hist = arena.Take<float>(coded ? B * L * e.hist_width() : 0);
  b.embedded_futr = arena.Take<float>(coded ? B * (L + c.h) * e.futr_width() : 0);
  b.embedded_stat = arena.Take<float>(coded ? B * e.stat_width() : 0);
  return b;
}

std::size_t ArenaBytesFor(const Model& model, const PackedNetwork& packed, int batch) {
  cpu::Arena counting;
  TakeSessionBuffers(counting, model, batch);
  return counting.high_water() + packed.ScratchBytes(batch);
}

}  // namespace

InferenceSession::InferenceSession(const Model& model, int max_batch, int threads, const PrecisionPlan& precision,
                                   const SessionLayout& layout)
    : InferenceSession(model, max_batch, threads,
                       std::make_shared<const PackedNetwork>(model.network(), precision, max_batch < 1 ? 1 : max_batch,
                                                             layout.small_batch_panels),
                       false) {}

InferenceSession::InferenceSession(const Model& model, int max_batch, int threads,
                                   std::shared_ptr<const PackedNetwork> packed, bool sibling)
    : model_(model),
      max_batch_(max_batch < 1 ? 1 : max_batch),
      packed_(std::move(packed)),
      sibling_(sibling),
      // 0 (or less): every core this process may use; the pool alone would clamp it to one.
      pool_(std::make_unique<cpu::ThreadPool>(threads > 0 ? threads : UsableCores())),
      arena_(std::make_unique<cpu::Arena>(ArenaBytesFor(model, *packed_, max_batch_))) {
  Warm();
}

std::unique_ptr<InferenceSession> InferenceSession::Sibling(int threads) const {
  return std::unique_ptr<InferenceSession>(new InferenceSession(model_, max_batch_, threads, packed_, true));
}

// A first call at the largest batch touches every page of the arena and warms the kernels.
void InferenceSession::Warm() {
  const NhitsConfig& c = model_.config();
  const std::size_t B = static_cast<std::size_t>(max_batch_), L = static_cast<std::size_t>(c.input_size);
  std::vector<float> x(B * L, 0.0f), mask(x.size(), 1.0f), out(B * c.h * c.outputs_per_step()),
      hist(B * L * c.hist_exog_list.size()), futr(B * (L + c.h) * c.futr_exog_list.size()),
      stat(B * c.stat_exog_list.size());
  (void)Predict(max_batch_, x.data(), mask.data(), {hist.data(), futr.data(), stat.data()}, out.data(), 0);
}

InferenceSession::~InferenceSession() = default;

const PrecisionPlan& InferenceSession::precision() const { return packed_->plan(); }

int InferenceSession::threads() const { return pool_->size(); }

int InferenceSession::SetHelperThreadsRealtime(int priority) { return pool_->SetRealtime(priority); }

Status InferenceSession::Predict(int batch, const float* insample, const float* mask, float* out) {
  return Predict(batch, insample, mask, out, 0);
}

Status InferenceSession::Predict(int batch, const float* insample, const float* mask, float* out, int threads) {
  return Predict(batch, insample, mask, ExogBatch<float>{}, out, threads);
}

Status InferenceSession::Predict(int batch, const float* insample, const float* mask, const ExogBatch<float>& exog,
                                 float* out, int threads) {
  if (threads <= 0 || threads > pool_->size()) threads = pool_->size();
  // OpenMP's thread count (the row loops and oneDNN's GEMMs) is per calling thread: set it for
  // this call, or two serving workers would each start a team of every core.
  omp_set_num_threads(threads);
  pool_->SetActive(threads);
  cpu::ThreadPool* pool = threads == 1 ? nullptr : pool_.get();
  if (batch < 1 || batch > max_batch_)
    return Status::InvalidArgument("batch " + std::to_string(batch) + " is outside 1.." + std::to_string(max_batch_) +
                                   " (the session's max_batch)");
  const NhitsConfig& c = model_.config();
  const int L = c.input_size, HQ = c.h * c.outputs_per_step(), HP = c.h * c.network_outputs_per_step();
  const int X = static_cast<int>(c.hist_exog_list.size()), F = static_cast<int>(c.futr_exog_list.size());
  if ((X > 0 && exog.hist == nullptr) || (F > 0 && exog.futr == nullptr) ||
      (!c.stat_exog_list.empty() && exog.stat == nullptr))
    return Status::InvalidArgument("the model takes exogenous inputs (futr/hist/stat_exog_list) and not all of them "
                                   "were given");
  arena_->Reset();
  Buffers buf = TakeSessionBuffers(*arena_, model_, batch);
  cpu::ForRows(batch, [&](int b0, int b1) {
    for (int b = b0; b < b1; ++b) {
      const std::size_t at = static_cast<std::size_t>(b) * L;
      buf.stats[b] = ScaleInsampleWindow(c, insample + at, mask + at, L, buf.scaled + at);
    }
  });
  ExogBatch<float> scaled_exog{nullptr, nullptr, exog.stat};
  if (X > 0 || F > 0) {
    cpu::ForRows(batch, [&](int b0, int b1) {
      for (int b = b0; b < b1; ++b) {
        const std::size_t w = static_cast<std::size_t>(b);
        float* scratch = buf.exog_scratch + w * 2 * L;
        ScaleExogWindow(c, mask + w * L, exog.hist + w * L * X, exog.futr + w * (L + c.h) * F, buf.hist + w * L * X,
                        buf.futr + w * (L + c.h) * F, scratch);
      }
    });
    scaled_exog.hist = buf.hist;
    scaled_exog.futr = buf.futr;
  }
  scaled_exog = model_.NetworkExog(batch, scaled_exog, buf.embedded_hist, buf.embedded_futr, buf.embedded_stat);
  float* raw = c.distribution_loss() ? buf.raw : out;
  last_batch_ = 0;  // until this call's forward has run
  packed_->Forward(batch, buf.scaled, mask, scaled_exog, raw, *arena_, pool);
  last_stats_ = buf.stats;
  last_raw_ = buf.raw;
  last_batch_ = batch;
  if (c.scaler_type != ScalerType::kIdentity || c.distribution_loss())
    cpu::ForRows(batch, [&](int b0, int b1) {
      for (int b = b0; b < b1; ++b)
        DecodeForecast(c, buf.stats[b], raw + static_cast<std::size_t>(b) * HP, out + static_cast<std::size_t>(b) * HQ);
    });
  return Status::Ok();
}

Status InferenceSession::DecodeLast(int window, const NhitsConfig& as, float* out) const {
  const NhitsConfig& c = model_.config();
  if (!c.distribution_loss() || !as.distribution_loss() || as.distribution != c.distribution || as.h != c.h ||
      as.network_outputs_per_step() != c.network_outputs_per_step())
    return Status::InvalidArgument("DecodeLast: only a DistributionLoss model's own distribution decodes at other levels");
  if (window < 0 || window >= last_batch_)
    return Status::InvalidArgument("DecodeLast: window " + std::to_string(window) + " is not in the last batch of " +
                                   std::to_string(last_batch_));
  DecodeForecast(as, last_stats_[window], last_raw_ + static_cast<std::size_t>(window) * c.h * c.network_outputs_per_step(),
                 out);
  return Status::Ok();
}

std::int64_t InferenceSession::ExecutedFlopsPerForecast() const {
  std::int64_t linear = 0;  // the network's linear layers as neuralforecast runs them
  for (const auto& block : model_.network().layout().blocks)
    for (const auto& l : block.layers) linear += static_cast<std::int64_t>(l.in) * l.out;
  return model_.FlopsPerForecast() - 2 * (linear - packed_->MacsPerWindow());
}

SessionMemory InferenceSession::memory() const {
  SessionMemory m;
  m.reserved_bytes = arena_->capacity();
  m.high_water_bytes = arena_->high_water();
  m.packed_weight_bytes = packed_->WeightBytes();
  (sibling_ ? m.shared_weight_bytes : m.owned_weight_bytes) = packed_->OwnedWeightBytes();
  m.model_weight_bytes = model_.network().params().size() * sizeof(float);
  return m;
}

std::size_t InferenceSession::ArenaBytes(const Model& model, const PrecisionPlan& precision, int max_batch) {
  return ArenaBytesFor(model, PackedNetwork(model.network(), precision, max_batch), max_batch);
}

std::size_t InferenceSession::WeightBytes(const Model& model, const PrecisionPlan& precision, int max_batch) {
  return model.network().params().size() * sizeof(float) +
         PackedNetwork(model.network(), precision, max_batch).OwnedWeightBytes();
}

int InferenceSession::MaxBatchForBudget(const Model& model, const PrecisionPlan& precision, std::size_t budget_bytes) {
  // Small batches use no large-batch weight layouts and no matmul scratchpad; larger ones both.
  const PackedNetwork small_packed(model.network(), precision, 1),
      large_packed(model.network(), precision, cpu::kSmallBatchMax + 1);
  const std::size_t small = model.network().params().size() * sizeof(float) + small_packed.OwnedWeightBytes(),
                    large = model.network().params().size() * sizeof(float) + large_packed.OwnedWeightBytes();
  auto total = [&](long long b) {
    const int B = static_cast<int>(b);
    return b > cpu::kSmallBatchMax ? large + ArenaBytesFor(model, large_packed, B) : small + ArenaBytesFor(model, small_packed, B);
  };
  if (total(1) > budget_bytes) return 0;
  if (total(cpu::kSmallBatchMax + 1) > budget_bytes) {  // no room for the large-batch weight layouts
    int b = cpu::kSmallBatchMax;
    while (b > 1 && total(b) > budget_bytes) --b;
    return b;
  }
  // Every buffer is B * (bytes per window) rounded up to 64 bytes, so total(B) is affine in B up
  // to a cache line per buffer: solve the affine form, then step to the exact answer.
  constexpr long long kBig = 1 << 20;
  const std::size_t per_window = std::max<std::size_t>(1, (total(2 * kBig) - total(kBig)) / kBig);
  const std::size_t fixed = total(kBig) - std::min<std::size_t>(total(kBig), kBig * per_window);
  long long b = budget_bytes > fixed ? static_cast<long long>((budget_bytes - fixed) / per_window) : 0;
  b = std::clamp<long long>(b, cpu::kSmallBatchMax + 1, 1 << 30);
  while (b > cpu::kSmallBatchMax + 1 && total(b) > budget_bytes) --b;
  while (b < (1 << 30) && total(b + 1) <= budget_bytes) ++b;
  return static_cast<int>(b);
}

}  // namespace nhits
