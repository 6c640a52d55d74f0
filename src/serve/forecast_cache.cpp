#include "serve/forecast_cache.h"

#include <algorithm>
#include <cstring>

namespace nhits::serve {
namespace {

std::vector<float> Concat(const std::vector<float>& a, const std::vector<float>& b, const std::vector<float>& exog) {
  std::vector<float> out;
  out.reserve(a.size() + b.size() + 1 + exog.size());
  out.insert(out.end(), a.begin(), a.end());
  out.push_back(b.empty() ? 0.0f : 1.0f);  // "no mask" and "all-ones mask" stay distinct keys
  out.insert(out.end(), b.begin(), b.end());
  out.insert(out.end(), exog.begin(), exog.end());
  return out;
}

bool SameBytes(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

std::vector<float> CacheKeyExtra(const ForecastRequest& r) {
  std::vector<float> key{static_cast<float>(r.windows)};
  if (r.hist_exog.empty() && r.futr_exog.empty() && r.stat_exog.empty()) return key;
  for (const auto* part : {&r.hist_exog, &r.futr_exog, &r.stat_exog}) {
    key.push_back(static_cast<float>(part->size()));  // lengths keep the parts apart
    key.insert(key.end(), part->begin(), part->end());
  }
  return key;
}

ForecastCache::ForecastCache(CacheOptions options, HashFn hash) : options_(options), hash_(hash) {}

std::uint64_t ForecastCache::KeyOf(const std::string& model, int version, const std::vector<float>& input) const {
  const Hash128 h = hash_(input.data(), input.size() * sizeof(float));
  const Hash128 m = hash_(model.data(), model.size());
  return h.lo ^ (h.hi * 0x9e3779b97f4a7c15ULL) ^ (m.lo + static_cast<std::uint64_t>(version) * 0xc2b2ae3d27d4eb4fULL);
}

bool ForecastCache::Lookup(const std::string& model, int version, const std::vector<float>& insample,
                           const std::vector<float>& mask, std::vector<float>* forecast,
                           const std::vector<float>& exog, std::uint64_t generation) {
  const std::vector<float> input = Concat(insample, mask, exog);
  const std::uint64_t key = KeyOf(model, version, input);
  const auto now = Clock::now();
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, end] = index_.equal_range(key);
  for (; it != end; ++it) {
    Entry& e = entries_[it->second];
    if (e.version != version || e.generation != generation || e.model != model || !SameBytes(e.input, input))
      continue;  // a collision, or an answer of the instance a reload replaced
    if (now >= e.expires) {
      RemoveAt(it->second);
      ++expired_;
      break;
    }
    ++e.hits;
    e.last_used = now;
    *forecast = e.forecast;
    ++hits_;
    return true;
  }
  ++misses_;
  return false;
}

void ForecastCache::Insert(const std::string& model, int version, const std::vector<float>& insample,
                           const std::vector<float>& mask, const std::vector<float>& forecast,
                           const std::vector<float>& exog, std::uint64_t generation) {
  Entry e;
  e.model = model;
  e.version = version;
  e.generation = generation;
  e.input = Concat(insample, mask, exog);
  e.key = KeyOf(model, version, e.input);
  e.forecast = forecast;
  const auto now = Clock::now();
  e.expires = now + options_.ttl;
  e.last_used = now;
  if (e.bytes() > options_.max_bytes) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, end] = index_.equal_range(e.key);
  for (; it != end; ++it) {
    Entry& old = entries_[it->second];
    if (old.version == version && old.generation == generation && old.model == model && SameBytes(old.input, e.input)) {
      bytes_ -= old.bytes();
      old.forecast = e.forecast;
      old.expires = e.expires;
      old.last_used = now;
      bytes_ += old.bytes();
      return;
    }
  }
  while (bytes_ + e.bytes() > options_.max_bytes && !entries_.empty()) EvictOne(now);
  bytes_ += e.bytes();
  index_.emplace(e.key, entries_.size());
  entries_.push_back(std::move(e));
}

void ForecastCache::RemoveAt(std::size_t i) {
  auto drop = [this](std::uint64_t key, std::size_t pos) {
    auto [it, end] = index_.equal_range(key);
    for (; it != end; ++it)
      if (it->second == pos) {
        index_.erase(it);
        return;
      }
  };
  bytes_ -= entries_[i].bytes();
  drop(entries_[i].key, i);
  const std::size_t last = entries_.size() - 1;
  if (i != last) {
    drop(entries_[last].key, last);
    index_.emplace(entries_[last].key, i);
    entries_[i] = std::move(entries_[last]);
  }
  entries_.pop_back();
}

void ForecastCache::EvictOne(Clock::time_point now) {
  constexpr int kSamples = 8;
  std::size_t victim = 0;
  double worst = 0;
  bool expired = false;
  std::uniform_int_distribution<std::size_t> pick(0, entries_.size() - 1);
  for (int s = 0; s < kSamples; ++s) {
    const std::size_t i = entries_.size() <= kSamples ? static_cast<std::size_t>(s) % entries_.size() : pick(rng_);
    const Entry& e = entries_[i];
    if (now >= e.expires) {
      victim = i;
      expired = true;
      break;
    }
    const double idle_s = std::chrono::duration<double>(now - e.last_used).count();
    const double score = (1.0 + static_cast<double>(e.hits)) / (1.0 + idle_s);
    if (s == 0 || score < worst) worst = score, victim = i;
  }
  RemoveAt(victim);
  ++(expired ? expired_ : evictions_);
}

void ForecastCache::EraseModel(const std::string& model, int version, std::uint64_t generation) {
  std::lock_guard<std::mutex> lock(mu_);
  for (std::size_t i = entries_.size(); i-- > 0;)
    if (entries_[i].model == model && (version == 0 || entries_[i].version == version) &&
        (generation == 0 || entries_[i].generation == generation))
      RemoveAt(i);
}

ForecastCache::Stats ForecastCache::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {hits_, misses_, evictions_, expired_, bytes_, entries_.size()};
}

}  // namespace nhits::serve
