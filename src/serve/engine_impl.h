// Engine's private state, shared by engine.cpp (routing, loading, stats) and engine_metrics.cpp
// (Prometheus text).
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "nhits/engine.h"
#include "serve/engine_stats.h"
#include "serve/forecast_cache.h"
#include "serve/model_instance.h"

namespace nhits {

struct Engine::Impl {
  explicit Impl(EngineOptions o) : options(o), cache(o.cache) {}

  // The instance a request for name/version goes to (version 0: newest ready), or null and why.
  std::shared_ptr<serve::ModelInstance> Route(const std::string& name, int version, Status* why) const;
  std::vector<std::shared_ptr<serve::ModelInstance>> Instances() const;
  // Validates, answers from the cache, or enqueues; every outcome goes through pending.Finish.
  void Submit(serve::Pending pending);

  EngineOptions options;
  serve::ForecastCache cache;
  serve::EngineCounters counters;
  mutable std::shared_mutex mu;  // guards models
  std::map<std::string, std::map<int, std::shared_ptr<serve::ModelInstance>>> models;
  std::atomic<bool> shut_down{false};
  mutable std::mutex util_mu;
  mutable std::chrono::steady_clock::time_point util_since = std::chrono::steady_clock::now();
  mutable double util_busy = 0;
};

}  // namespace nhits
