// Counters and histograms the engine keeps for GetPerformanceStats and /metrics.
// Thread safety: atomics and a mutex for the keyed maps.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "serve/latency_histogram.h"

namespace nhits::serve {

struct ModelCounters {
  std::atomic<std::uint64_t> success{0}, batches{0}, windows{0};
  std::atomic<double> queue_us{0}, compute_us{0}, success_us{0};
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
