#include "backend/cuda/caching_allocator.h"

#include <algorithm>
#include <string>

namespace nhits::cuda {

std::size_t CachingAllocator::RoundUp(std::size_t bytes) {
  constexpr std::size_t kSmall = 512, kLarge = 2u << 20, kSmallLimit = 1u << 20;
  if (bytes == 0) bytes = 1;
  if (bytes < kSmallLimit) return (bytes + kSmall - 1) / kSmall * kSmall;
  return (bytes + kLarge - 1) / kLarge * kLarge;
}

CachingAllocator::~CachingAllocator() {
  std::lock_guard<std::mutex> lock(mu_);
  EmptyCacheLocked();
  for (auto& [p, b] : live_) raw_.Free(p);  // leaked by the caller: still give it back
  live_.clear();
}

Result<void*> CachingAllocator::Allocate(std::size_t bytes, StreamId stream) {
  // Rounding up near SIZE_MAX would wrap to a tiny block handed out as a success.
  if (bytes > (std::size_t{1} << 50))
    return Status::Unavailable("a device allocation of " + std::to_string(bytes) + " bytes is beyond any GPU");
  const std::size_t size = RoundUp(bytes);
  std::lock_guard<std::mutex> lock(mu_);
  auto pool = free_.find({stream, size});
  if (pool != free_.end() && !pool->second.empty()) {
    void* p = pool->second.begin()->second;
    pool->second.erase(pool->second.begin());
    free_blocks_.erase(p);
    live_[p] = Block{size, bytes, stream};
    stats_.in_use += size;
    stats_.requested += bytes;
    stats_.high_water_in_use = std::max(stats_.high_water_in_use, stats_.in_use);
    ++stats_.hits;
    return p;
  }
  ++stats_.misses;
  if (stats_.reserved + size > limit_) EmptyCacheLocked();  // cached blocks of other sizes first
  if (stats_.reserved + size > limit_)
    return Status::Unavailable("device memory limit: " + std::to_string(bytes) + " more bytes (" +
                               std::to_string(size) + " rounded) would take " +
                               std::to_string(stats_.reserved + size) + " of the " + std::to_string(limit_) +
                               "-byte limit (" + std::to_string(stats_.in_use) + " in use)");
  void* p = raw_.Allocate(size);
  if (p == nullptr) {
    EmptyCacheLocked();
    p = raw_.Allocate(size);
  }
  if (p == nullptr)
    return Status::Unavailable("the device is out of memory for " + std::to_string(size) + " bytes (" +
                               std::to_string(stats_.reserved) + " reserved by this allocator)");
  ++stats_.raw_allocations;
  stats_.reserved += size;
  stats_.high_water_reserved = std::max(stats_.high_water_reserved, stats_.reserved);
  live_[p] = Block{size, bytes, stream};
  stats_.in_use += size;
  stats_.requested += bytes;
  stats_.high_water_in_use = std::max(stats_.high_water_in_use, stats_.in_use);
  return p;
}

void CachingAllocator::Free(void* p) {
  if (p == nullptr) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = live_.find(p);
  if (it == live_.end()) return;  // not ours, or freed twice: ignore rather than corrupt the pools
  const Block b = it->second;
  live_.erase(it);
  stats_.in_use -= b.size;
  stats_.requested -= b.requested;
  free_[{b.stream, b.size}].emplace(0, p);
  free_blocks_[p] = b;
}

void CachingAllocator::EmptyCacheLocked() {
  for (auto& [p, b] : free_blocks_) {
    raw_.Free(p);
    stats_.reserved -= b.size;
    ++stats_.raw_frees;
  }
  free_blocks_.clear();
  free_.clear();
}

void CachingAllocator::EmptyCache() {
  std::lock_guard<std::mutex> lock(mu_);
  EmptyCacheLocked();
}

AllocatorStats CachingAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  AllocatorStats s = stats_;
  s.cached = s.reserved - s.in_use;
  std::size_t largest = 0, total = 0;
  for (const auto& [p, b] : free_blocks_) largest = std::max(largest, b.size), total += b.size;
  s.fragmentation = total ? 1.0 - static_cast<double>(largest) / total : 0.0;
  return s;
}

}  // namespace nhits::cuda
