// ForecastCache: (model, version, exact input bytes) -> forecast, in front of the queues.
// Keys are a 128-bit hash of the input (insample, mask, then any exogenous inputs), but a hit also compares the stored
// input bytes, so a hash collision can only cost a miss. Entries expire after a TTL; when the
// byte budget is exceeded, eviction samples a few entries and drops the one with the lowest
// (1 + hits) / (1 + seconds since last use): popular and recent entries stay (sampled eviction,
// as Redis does, keeps it O(1) per insert).
// Thread safety: all methods lock one mutex.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "nhits/engine.h"
#include "serve/hash128.h"

namespace nhits::serve {

// What a cache key holds besides insample and mask: the window count (a 2-window request and a
// masked 1-window one can have the same bytes), then hist | futr | stat, each after its length.
std::vector<float> CacheKeyExtra(const ForecastRequest& request);

class ForecastCache {
 public:
  using HashFn = Hash128 (*)(const void* data, std::size_t size);
  using Clock = std::chrono::steady_clock;

  explicit ForecastCache(CacheOptions options, HashFn hash = HashBytes);

  // True and fills `forecast` on a verified, unexpired hit.
  // `extra`: the rest of the request's key (CacheKeyExtra). `generation`: the loaded instance's
  // (ModelInstance::generation): a same-version reload must not hit the old weights' answers.
  bool Lookup(const std::string& model, int version, const std::vector<float>& insample, const std::vector<float>& mask,
              std::vector<float>* forecast, const std::vector<float>& extra = {}, std::uint64_t generation = 0);
  void Insert(const std::string& model, int version, const std::vector<float>& insample, const std::vector<float>& mask,
              const std::vector<float>& forecast, const std::vector<float>& extra = {}, std::uint64_t generation = 0);
  // version 0: every version; generation 0: every instance of it.
  void EraseModel(const std::string& model, int version, std::uint64_t generation = 0);

  struct Stats {
    std::uint64_t hits = 0, misses = 0, evictions = 0, expired = 0;
    std::size_t bytes = 0, entries = 0;
  };
  Stats stats() const;

 private:
  struct Entry {
    std::string model;
    int version = 0;
    std::uint64_t generation = 0;
    std::uint64_t key = 0;
    std::vector<float> input;  // insample then mask, compared on every hit
    std::vector<float> forecast;
    Clock::time_point expires, last_used;
    std::uint64_t hits = 0;
    std::size_t bytes() const { return sizeof(Entry) + model.size() + (input.size() + forecast.size()) * sizeof(float); }
  };
  std::uint64_t KeyOf(const std::string& model, int version, const std::vector<float>& input) const;
  void RemoveAt(std::size_t i);
  void EvictOne(Clock::time_point now);

  CacheOptions options_;
  HashFn hash_;
  mutable std::mutex mu_;
  std::vector<Entry> entries_;                             // slab; order is irrelevant
  std::unordered_multimap<std::uint64_t, std::size_t> index_;  // key -> slab position
  std::size_t bytes_ = 0;
  std::uint64_t hits_ = 0, misses_ = 0, evictions_ = 0, expired_ = 0;
  std::mt19937_64 rng_{12345};
};

}  // namespace nhits::serve
