// InferenceSession: forecasting with every buffer allocated up front, for serving. A session is
// sized for a maximum batch; in steady state a call performs no heap allocation on the
// small-batch path (batch <= 8, the latency regime), and the session reports the bytes it holds.
//
// Usage:
//   nhits::InferenceSession session(model, /*max_batch=*/8, /*threads=*/2);
//   session.Predict(1, insample, mask, forecast);  // raw values in, original scale out
// Thread safety: one thread per session at a time; run one session per serving worker. The
// Model must outlive its sessions and must not be modified while they exist.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "nhits/model.h"
#include "nhits/scaler.h"

namespace nhits {

namespace cpu {
class ThreadPool;
}

struct SessionMemory {
  std::size_t reserved_bytes = 0;    // activation and scratch buffers held by the session
  std::size_t weight_bytes = 0;      // the model's parameters (shared, not owned)
};

class InferenceSession {
 public:
  InferenceSession(const Model& model, int max_batch, int threads);
  ~InferenceSession();
  InferenceSession(const InferenceSession&) = delete;
  InferenceSession& operator=(const InferenceSession&) = delete;

  int max_batch() const { return max_batch_; }
  // insample/mask: [batch, L] raw values (mask 0 = padded); out: [batch, h, Q] original scale.
  // InvalidArgument if batch is not in 1..max_batch().
  Status Predict(int batch, const float* insample, const float* mask, float* out);
  SessionMemory memory() const;

 private:
  const Model& model_;
  int max_batch_;
  std::unique_ptr<cpu::ThreadPool> pool_;
  Workspace<float> ws_;
  std::vector<float> scaled_;
  std::vector<ScaleStats> stats_;
};

}  // namespace nhits
