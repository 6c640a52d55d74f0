#include "backend/cpu/thread_pool.h"

#include <pthread.h>
#include <sched.h>

#include <chrono>

namespace nhits::cpu {
namespace {

// Spin this long for the next section before sleeping: longer than the gap between the layers
// of one forecast, far shorter than the gap between requests on an idle server.
constexpr auto kSpin = std::chrono::microseconds(200);

}  // namespace

ThreadPool::ThreadPool(int threads) : threads_(threads < 1 ? 1 : threads), active_(threads_) {
  for (int i = 1; i < threads_; ++i) workers_.emplace_back([this, i] { WorkerLoop(i); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true, std::memory_order_release);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  generation_.notify_all();
  for (auto& w : workers_) w.join();
}

int ThreadPool::SetRealtime(int priority) {
  sched_param sp{};
  sp.sched_priority = priority;
  for (auto& w : workers_)
    if (const int rc = pthread_setschedparam(w.native_handle(), SCHED_FIFO, &sp); rc != 0) return rc;
  return 0;
}

void ThreadPool::Run(void (*fn)(void*, int, int), void* ctx) {
  if (active_ == 1) {
    fn(ctx, 0, 1);
    return;
  }
  fn_ = fn;
  ctx_ = ctx;
  pending_.store(threads_ - 1, std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_release);
  generation_.notify_all();
  fn(ctx, 0, active_);
  // Spin while the workers are likely still running, then sleep: on a loaded machine a worker
  // may be descheduled, and spinning would only keep it off the core.
  const auto spin_until = std::chrono::steady_clock::now() + kSpin;
  int left = pending_.load(std::memory_order_acquire);
  while (left != 0 && std::chrono::steady_clock::now() < spin_until) left = pending_.load(std::memory_order_acquire);
  while (left != 0) {
    pending_.wait(left, std::memory_order_acquire);
    left = pending_.load(std::memory_order_acquire);
  }
}

void ThreadPool::WorkerLoop(int index) {
  std::uint64_t seen = 0;
  for (;;) {
    const auto spin_until = std::chrono::steady_clock::now() + kSpin;
    std::uint64_t g = generation_.load(std::memory_order_acquire);
    while (g == seen && std::chrono::steady_clock::now() < spin_until) g = generation_.load(std::memory_order_acquire);
    while (g == seen) {
      generation_.wait(seen, std::memory_order_acquire);
      g = generation_.load(std::memory_order_acquire);
    }
    seen = g;
    if (stop_.load(std::memory_order_acquire)) return;
    if (index < active_) fn_(ctx_, index, active_);
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) pending_.notify_one();
  }
}

}  // namespace nhits::cpu
