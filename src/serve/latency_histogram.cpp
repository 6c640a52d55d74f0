#include "serve/latency_histogram.h"

#include <algorithm>
#include <cmath>

namespace nhits::serve {
namespace {
const double kLogGrowth = std::log(1.05);
}

int LatencyHistogram::BucketOf(double us) {
  if (!(us > 1.0)) return 0;
  return std::min(kBuckets - 1, 1 + static_cast<int>(std::log(us) / kLogGrowth));
}

double LatencyHistogram::UpperBound(int bucket) { return bucket == 0 ? 1.0 : std::exp(bucket * kLogGrowth); }

const std::vector<double>& LatencyHistogram::PrometheusBounds() {
  static const std::vector<double> bounds{25,    50,    100,    250,    500,    1000,    2500,    5000,
                                          10000, 25000, 50000, 100000, 250000, 500000, 1000000, 5000000};
  return bounds;
}

void LatencyHistogram::Record(double us) {
  buckets_[static_cast<std::size_t>(BucketOf(us))].fetch_add(1, std::memory_order_relaxed);
  const auto& bounds = PrometheusBounds();
  const std::size_t i = static_cast<std::size_t>(std::lower_bound(bounds.begin(), bounds.end(), us) - bounds.begin());
  prom_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(us, std::memory_order_relaxed);
  double seen = max_.load(std::memory_order_relaxed);
  while (us > seen && !max_.compare_exchange_weak(seen, us, std::memory_order_relaxed)) {
  }
}

Percentiles LatencyHistogram::Snapshot() const {
  Percentiles p;
  std::array<std::uint64_t, kBuckets> c{};
  for (int i = 0; i < kBuckets; ++i) {
    c[static_cast<std::size_t>(i)] = buckets_[static_cast<std::size_t>(i)].load(std::memory_order_relaxed);
    p.count += c[static_cast<std::size_t>(i)];
  }
  if (p.count == 0) return p;
  p.max = max_.load(std::memory_order_relaxed);
  p.mean = sum_.load(std::memory_order_relaxed) / static_cast<double>(count_.load(std::memory_order_relaxed));
  auto at = [&](double q) {
    const auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(p.count)));
    std::uint64_t seen = 0;
    for (int i = 0; i < kBuckets; ++i) {
      seen += c[static_cast<std::size_t>(i)];
      if (seen >= std::max<std::uint64_t>(rank, 1)) return std::min(UpperBound(i), p.max);
    }
    return p.max;
  };
  p.p50 = at(0.50);
  p.p95 = at(0.95);
  p.p99 = at(0.99);
  p.p999 = at(0.999);
  return p;
}

std::vector<std::uint64_t> LatencyHistogram::PrometheusCumulative() const {
  std::vector<std::uint64_t> out(prom_.size());
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < prom_.size(); ++i) out[i] = sum += prom_[i].load(std::memory_order_relaxed);
  return out;
}

}  // namespace nhits::serve
