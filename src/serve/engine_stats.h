// Counters and histograms the engine keeps for GetPerformanceStats and /metrics.
// Thread safety: atomics and a mutex for the keyed maps.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "serve/latency_histogram.h"

namespace nhits::serve {

inline std::int64_t WallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

struct ModelCounters {
  std::atomic<std::uint64_t> success{0}, batches{0}, windows{0};
  std::atomic<double> queue_us{0}, compute_us{0}, success_us{0};
  // Triton's per-model cache statistics: lookups that hit / missed and their time.
  std::atomic<std::uint64_t> cache_hits{0}, cache_misses{0};
  std::atomic<double> cache_hit_us{0}, cache_miss_us{0};
  std::atomic<std::int64_t> last_success_ms{0};  // wall clock (ms since the epoch) of the last answer
  mutable std::mutex mu;
  std::map<std::string, std::uint64_t> failures;  // reason -> count
  std::uint64_t FailureCount() const {
    std::lock_guard<std::mutex> lock(mu);
    std::uint64_t n = 0;
    for (const auto& [reason, count] : failures) n += count;
    return n;
  }
  void Fail(const std::string& reason) {
    std::lock_guard<std::mutex> lock(mu);
    ++failures[reason];
  }
  // A same-version reload carries the old instance's totals over: Prometheus counters must not
  // go down while the labels (model, version) stay the same.
  void AddFrom(const ModelCounters& o) {
    for (auto [dst, src] : {std::pair{&success, &o.success}, std::pair{&batches, &o.batches}, std::pair{&windows, &o.windows},
                            std::pair{&cache_hits, &o.cache_hits}, std::pair{&cache_misses, &o.cache_misses}})
      dst->fetch_add(src->load());
    for (auto [dst, src] : {std::pair{&queue_us, &o.queue_us}, std::pair{&compute_us, &o.compute_us},
                            std::pair{&success_us, &o.success_us}, std::pair{&cache_hit_us, &o.cache_hit_us},
                            std::pair{&cache_miss_us, &o.cache_miss_us}})
      dst->fetch_add(src->load());
    std::int64_t last = last_success_ms.load();
    while (last < o.last_success_ms.load() && !last_success_ms.compare_exchange_weak(last, o.last_success_ms.load())) {
    }
    std::scoped_lock lock(mu, o.mu);
    for (const auto& [reason, n] : o.failures) failures[reason] += n;
  }
};

struct EngineCounters {
  static constexpr int kPriorityHistograms = 8;  // levels 1..8; deeper levels count as 8
  LatencyHistogram queue, compute, end_to_end;
  std::array<LatencyHistogram, kPriorityHistograms> end_to_end_by_priority;
  void RecordEndToEnd(double us, int priority) {
    end_to_end.Record(us);
    end_to_end_by_priority[static_cast<std::size_t>(std::clamp(priority, 1, kPriorityHistograms) - 1)].Record(us);
  }
  std::atomic<double> busy_us{0};  // summed over workers
  std::mutex mu;
  std::map<int, std::uint64_t> batch_sizes;
  std::map<std::string, std::uint64_t> failures;
  std::atomic<std::uint64_t> success{0};
  void Fail(const std::string& reason) {
    std::lock_guard<std::mutex> lock(mu);
    ++failures[reason];
  }
  void Batch(int size) {
    std::lock_guard<std::mutex> lock(mu);
    ++batch_sizes[size];
  }
};

}  // namespace nhits::serve
