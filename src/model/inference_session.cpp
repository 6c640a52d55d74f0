#include "nhits/inference.h"

#include <string>

#include "backend/cpu/thread_pool.h"

namespace nhits {

InferenceSession::InferenceSession(const Model& model, int max_batch, int threads)
    : model_(model), max_batch_(max_batch < 1 ? 1 : max_batch), pool_(std::make_unique<cpu::ThreadPool>(threads)) {
  const NhitsConfig& c = model_.config();
  scaled_.assign(static_cast<std::size_t>(max_batch_) * c.input_size, 0.0f);
  stats_.resize(static_cast<std::size_t>(max_batch_));
  // One forward at the largest batch sizes every workspace buffer once and for all.
  std::vector<float> mask(scaled_.size(), 1.0f), out(static_cast<std::size_t>(max_batch_) * c.h * c.outputs_per_step());
  model_.network().Forward(max_batch_, scaled_.data(), mask.data(), out.data(), ws_, false, nullptr, pool_.get());
}

InferenceSession::~InferenceSession() = default;

Status InferenceSession::Predict(int batch, const float* insample, const float* mask, float* out) {
  if (batch < 1 || batch > max_batch_)
    return Status::InvalidArgument("batch " + std::to_string(batch) + " is outside 1.." + std::to_string(max_batch_) +
                                   " (the session's max_batch)");
  const NhitsConfig& c = model_.config();
  const int L = c.input_size, HQ = c.h * c.outputs_per_step();
  for (int b = 0; b < batch; ++b) {
    const float* x = insample + static_cast<std::size_t>(b) * L;
    stats_[b] = ComputeScaleStatsNoAlloc(c.scaler_type, x, mask + static_cast<std::size_t>(b) * L, L,
                                         scaled_.data() + static_cast<std::size_t>(b) * L);
    for (int t = 0; t < L; ++t)
      scaled_[static_cast<std::size_t>(b) * L + t] = static_cast<float>(ScaleValue(c.scaler_type, stats_[b], x[t]));
  }
  model_.network().Forward(batch, scaled_.data(), mask, out, ws_, false, nullptr, pool_.get());
  if (c.scaler_type != ScalerType::kIdentity)
    for (int b = 0; b < batch; ++b)
      for (int i = 0; i < HQ; ++i) {
        float& v = out[static_cast<std::size_t>(b) * HQ + i];
        v = static_cast<float>(UnscaleValue(c.scaler_type, stats_[b], v));
      }
  return Status::Ok();
}

SessionMemory InferenceSession::memory() const {
  SessionMemory m;
  auto add = [&m](const auto& v) { m.reserved_bytes += v.capacity() * sizeof(v[0]); };
  add(scaled_);
  add(stats_);
  add(ws_.residual);
  add(ws_.mask_rev);
  add(ws_.scratch_a);
  add(ws_.scratch_b);
  add(ws_.d_resid);
  for (const auto& v : ws_.pooled) add(v);
  for (const auto& v : ws_.argmax) add(v);
  for (const auto& blk : ws_.pre) for (const auto& v : blk) add(v);
  for (const auto& blk : ws_.post) for (const auto& v : blk) add(v);
  m.weight_bytes = model_.network().params().size() * sizeof(float);
  return m;
}

}  // namespace nhits
