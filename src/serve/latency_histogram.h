// A lock-free latency histogram: log-spaced buckets 5% wide from 1 µs to ~100 s, so p50/p95/p99/
// p99.9 cost O(buckets) and no stored samples, however long the server runs (percentiles are
// the bucket's upper bound: at most 5% high). Also counts at fixed bounds for Prometheus.
// Thread safety: Record from any thread; snapshots are consistent per counter.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <vector>

#include "nhits/engine.h"

namespace nhits::serve {

class LatencyHistogram {
 public:
  void Record(double us);
  Percentiles Snapshot() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }
  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }

  // Prometheus `le` bounds in µs, and the cumulative counts at them (last = +Inf).
  static const std::vector<double>& PrometheusBounds();
  std::vector<std::uint64_t> PrometheusCumulative() const;

 private:
  static constexpr int kBuckets = 400;
  static int BucketOf(double us);
  static double UpperBound(int bucket);
  std::array<std::atomic<std::uint64_t>, kBuckets> buckets_{};
  std::vector<std::atomic<std::uint64_t>> prom_ = std::vector<std::atomic<std::uint64_t>>(PrometheusBounds().size() + 1);
  std::atomic<std::uint64_t> count_{0};
  std::atomic<double> sum_{0}, max_{0};
};

}  // namespace nhits::serve
