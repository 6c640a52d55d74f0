// A persistent pool for the short, frequent parallel sections of a forecast (one per linear
// layer): workers spin briefly between sections and then sleep on an atomic, so a batch-1
// forecast pays no thread start-up and no syscall per layer while the pool is busy.
// Thread safety: Run may be called by one thread at a time (the pool's owner).
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace nhits::cpu {

class ThreadPool {
 public:
  // `threads` includes the caller; 1 means everything runs inline.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return threads_; }
  // Runs the next sections on the first `n` threads only (1..size(); anything else: all), until
  // set again: a per-call thread budget. The others still check in to each section, so a section
  // never overlaps the next. Owner thread only, between sections.
  void SetActive(int n) { active_ = n < 1 || n > threads_ ? threads_ : n; }
  int active() const { return active_; }
  // Runs the pool's own threads under SCHED_FIFO at `priority` (the caller's thread is the
  // caller's business). Returns 0 or the error of the first thread refused (EPERM without root
  // or CAP_SYS_NICE).
  int SetRealtime(int priority);

  // Calls fn(ctx, t, size()) for t = 0..size()-1 (t = 0 on the caller) and waits for all.
  void Run(void (*fn)(void* ctx, int thread, int threads), void* ctx);

  template <typename F>
  void Run(F& f) {
    Run([](void* c, int t, int n) { (*static_cast<F*>(c))(t, n); }, &f);
  }

 private:
  void WorkerLoop(int index);

  int threads_;
  int active_;  // written by the owner before a section is published, read by workers after
  std::vector<std::thread> workers_;
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  void (*fn_)(void*, int, int) = nullptr;  // written before generation_ is published
  void* ctx_ = nullptr;
};

}  // namespace nhits::cpu
