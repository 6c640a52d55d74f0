#include "nhits/engine.h"

#include "nhits/distribution.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <shared_mutex>

#include "serve/engine_impl.h"

namespace nhits {

using serve::ModelInstance;
using serve::Pending;

namespace {

using Clock = std::chrono::steady_clock;

ForecastResult Failed(Status s, const ForecastRequest& r) {
  ForecastResult out;
  out.status = std::move(s);
  out.model = r.model;
  out.version = r.version;
  out.series_id = r.series_id;
  return out;
}

const char* Reason(Status::Code code) {
  switch (code) {
    case Status::Code::kNotFound: return "not_found";
    case Status::Code::kInvalidArgument: return "invalid";
    case Status::Code::kDeadlineExceeded: return "deadline";
    case Status::Code::kUnavailable: return "unavailable";
    default: return "internal";
  }
}

// A request's exogenous inputs must be exactly what the model lists: sizes per window, finite.
Status CheckExogenous(const NhitsConfig& c, const ForecastRequest& r) {
  const std::size_t W = static_cast<std::size_t>(r.windows), L = static_cast<std::size_t>(c.input_size);
  const struct {
    const std::vector<float>& values;
    const std::vector<std::string>& columns;
    std::size_t per_column;
    const char* name;
    const char* shape;
  } parts[] = {{r.hist_exog, c.hist_exog_list, L, "hist_exog", "[windows, input_size, X]"},
               {r.futr_exog, c.futr_exog_list, L + static_cast<std::size_t>(c.h), "futr_exog", "[windows, input_size + h, F]"},
               {r.stat_exog, c.stat_exog_list, 1, "stat_exog", "[windows, S]"}};
  for (const auto& p : parts) {
    const std::size_t want = W * p.per_column * p.columns.size();
    if (p.values.size() != want) {
      std::string cols;
      for (const auto& n : p.columns) cols += (cols.empty() ? "" : ",") + n;
      return Status::InvalidArgument(std::string(p.name) + " has " + std::to_string(p.values.size()) +
                                     " values; the model needs " + p.shape + " = " + std::to_string(want) +
                                     (p.columns.empty() ? " (it takes none)" : " (columns " + cols + ")"));
    }
    for (std::size_t i = 0; i < want; ++i)
      if (!std::isfinite(p.values[i]))
        return Status::InvalidArgument(std::string(p.name) + " value " + std::to_string(i) +
                                       " (flat index) is not finite (NaN, Inf, or beyond the float range)");
  }
  return Status::Ok();
}

}  // namespace

Engine::Engine(EngineOptions options) : impl_(std::make_unique<Impl>(options)) {}

Engine::~Engine() { Shutdown(); }

std::shared_ptr<ModelInstance> Engine::Impl::Route(const std::string& name, int version, Status* why) const {
  std::shared_lock<std::shared_mutex> lock(mu);
  const std::map<int, std::shared_ptr<ModelInstance>>* versions = nullptr;
  if (name.empty()) {
    if (models.size() == 1) versions = &models.begin()->second;
    if (models.size() != 1) {
      *why = Status::InvalidArgument(models.empty() ? "no model is loaded"
                                                    : "several models are loaded: name one in the request");
      return nullptr;
    }
  } else {
    auto it = models.find(name);
    if (it == models.end()) {
      *why = Status::NotFound("unknown model '" + name + "'");
      return nullptr;
    }
    versions = &it->second;
  }
  if (version == 0) {
    for (auto it = versions->rbegin(); it != versions->rend(); ++it)
      if (it->second->ready() && !it->second->draining()) return it->second;
    *why = Status::Unavailable("model '" + name + "' has no ready version");
    return nullptr;
  }
  auto it = versions->find(version);
  if (it == versions->end()) {
    *why = Status::NotFound("model '" + name + "' has no version " + std::to_string(version));
    return nullptr;
  }
  return it->second;
}

Status Engine::LoadModel(const std::string& name, int version, const std::string& checkpoint,
                         const ModelOptions& options) {
  CheckpointInfo info;
  Result<Model> model = LoadCheckpoint(checkpoint, &info);
  if (!model.ok()) return model.status();
  // A request carries one window, not the whole history the per-series statistics come from.
  if (model->config().local_scaler_type != LocalScalerType::kNone && !options.caller_scales_series)
    return Status::Unsupported(checkpoint + ": local_scaler_type=" + ToString(model->config().local_scaler_type) +
                               " (NeuralForecast's per-series scaling over each whole history) cannot be forecast from "
                               "windows alone; `nhits predict`, `nhits batch` and `nhits serve`'s /v1/forecast scale each "
                               "series as neuralforecast does");
  ModelOptions o = options;
  if (o.use_checkpoint_precision) {
    Result<PrecisionPlan> plan = PrecisionPlanFromMetadata(info);
    if (!plan.ok()) return Status::Corruption(checkpoint + ": " + plan.status().message());
    o.precision = *plan;
  }
  o.use_checkpoint_precision = false;
  if (auto it = info.find(kConformalKey); it != info.end() && !o.conformal) {
    Result<ConformalScores> scores = ConformalFromJson(it->second, checkpoint);
    if (!scores.ok()) return scores.status();
    o.conformal = std::make_shared<const ConformalScores>(std::move(*scores));
  }
  return LoadModel(name, version, std::make_shared<const Model>(std::move(*model)), o);
}

Status Engine::LoadModel(const std::string& name, int version, std::shared_ptr<const Model> model,
                         const ModelOptions& options) {
  if (name.empty() || version < 1) return Status::InvalidArgument("a model needs a name and a version >= 1");
  if (model->config().has_exog() && !options.device.empty() && options.device != "cpu")
    return Status::Unsupported("model '" + name + "': exogenous inputs (futr/hist/stat_exog_list) are served on the cpu "
                               "device only, not on '" + options.device + "'");
  if (options.priority_levels < 1 || options.max_batch_size < 1 || options.max_queue_size < 1 || options.workers < 1)
    return Status::InvalidArgument("priority_levels, max_batch_size, max_queue_size and workers must be >= 1");
  // Intervals read h scores per forecast step: scores for another horizon would read past the forecast.
  if (options.conformal && options.conformal->h != model->config().h)
    return Status::InvalidArgument("model '" + name + "': its conformity scores are for h=" +
                                   std::to_string(options.conformal->h) + ", the model forecasts h=" +
                                   std::to_string(model->config().h));
  if (impl_->shut_down) return Status::Unavailable("the engine is shutting down");
  // Build and warm up outside the registry lock: the old version keeps serving meanwhile.
  auto fresh = std::make_shared<ModelInstance>(name, version, std::move(model), options, options.precision,
                                               &impl_->counters, &impl_->cache);
  if (Status s = fresh->Start(); !s.ok()) return s;
  std::shared_ptr<ModelInstance> replaced;
  {
    std::unique_lock<std::shared_mutex> lock(impl_->mu);
    // Checked again under the lock: a Shutdown that began meanwhile has listed the instances
    // already (or waits for this lock to list them), so an instance added after it would run on.
    if (impl_->shut_down) {
      lock.unlock();
      fresh->Drain();
      return Status::Unavailable("the engine is shutting down");
    }
    auto& slot = impl_->models[name][version];
    replaced = std::move(slot);
    slot = fresh;
  }
  if (replaced) {
    replaced->Drain();  // everything it accepted is answered; new requests already go to `fresh`
    impl_->cache.EraseModel(name, version, replaced->generation());  // `fresh`'s answers stay
    fresh->counters().AddFrom(replaced->counters());
  }
  return Status::Ok();
}

Status Engine::UnloadModel(const std::string& name, int version) {
  std::vector<std::shared_ptr<ModelInstance>> gone;
  {
    std::unique_lock<std::shared_mutex> lock(impl_->mu);
    auto it = impl_->models.find(name);
    if (it == impl_->models.end()) return Status::NotFound("unknown model '" + name + "'");
    if (version == 0) {
      for (auto& [v, inst] : it->second) gone.push_back(inst);
      impl_->models.erase(it);
    } else {
      auto v = it->second.find(version);
      if (v == it->second.end())
        return Status::NotFound("model '" + name + "' has no version " + std::to_string(version));
      gone.push_back(v->second);
      it->second.erase(v);
      if (it->second.empty()) impl_->models.erase(it);
    }
  }
  for (auto& inst : gone) inst->Drain();
  impl_->cache.EraseModel(name, version);
  return Status::Ok();
}

// Both Submit forms go through here: `pending` carries the request and how to answer it.
void Engine::Impl::Submit(Pending pending) {
  ForecastRequest& request = pending.request;
  auto fail = [&](Status s) {
    counters.Fail(Reason(s.code()));
    pending.Finish(Failed(std::move(s), request));
  };
  if (shut_down) return fail(Status::Unavailable("the engine is shutting down"));
  const auto arrived = Clock::now();
  // A hot reload can retire the routed version between routing and enqueueing: route again.
  for (int attempt = 0; attempt < 3; ++attempt) {
    Status why;
    std::shared_ptr<ModelInstance> inst = Route(request.model, request.version, &why);
    if (!inst) return fail(why);
    const NhitsConfig& c = inst->model().config();
    const std::size_t n = static_cast<std::size_t>(std::max(request.windows, 0)) * c.input_size;
    if (request.windows < 1 || request.windows > inst->options().max_batch_size)
      return fail(Status::InvalidArgument("windows " + std::to_string(request.windows) + " is outside 1.." +
                                          std::to_string(inst->options().max_batch_size) + " (max_batch_size)"));
    if (request.insample.size() != n)
      return fail(Status::InvalidArgument("insample has " + std::to_string(request.insample.size()) +
                                          " values; model '" + inst->name() + "' needs windows x input_size = " +
                                          std::to_string(n)));
    if (!request.mask.empty() && request.mask.size() != n)
      return fail(Status::InvalidArgument("mask has " + std::to_string(request.mask.size()) + " values, insample " +
                                          std::to_string(n)));
    for (std::size_t i = 0; i < n; ++i)
      if (!std::isfinite(request.insample[i]) || (!request.mask.empty() && !std::isfinite(request.mask[i])))
        return fail(Status::InvalidArgument(
            "insample value " + std::to_string(i % static_cast<std::size_t>(c.input_size)) + " of window " +
            std::to_string(i / static_cast<std::size_t>(c.input_size)) + " (of " + std::to_string(c.input_size) +
            ", oldest first) is not finite (NaN, Inf, or beyond the float range); mark missing points with mask 0"));
    if (Status s = CheckExogenous(c, request); !s.ok()) return fail(std::move(s));
    if (!request.quantiles.empty() || !request.levels.empty()) {
      // Other levels and any quantiles both decode a DistributionLoss model's parameters again.
      const bool quantiles = !request.quantiles.empty();
      const std::string what = quantiles ? "quantiles" : "levels";
      if (quantiles && !request.levels.empty())
        return fail(Status::InvalidArgument("levels and quantiles cannot be combined (as in neuralforecast)"));
      if (!c.distribution_loss())
        return fail(Status::InvalidArgument(what + ": model '" + inst->name() + "' is trained with " + ToString(c.loss) +
                                            "; other levels and quantiles come from a DistributionLoss model's parameters"));
      if (!inst->DecodesOtherLevels())
        return fail(Status::InvalidArgument(what + ": model '" + inst->name() + "' runs on " + inst->options().device +
                                            ", which answers its own levels only; serve it on cpu for " + what));
      Status v = Status::Ok();
      if (quantiles) {
        v = ValidateQuantiles(request.quantiles);
      } else {
        NhitsConfig as = c;
        as.level = SortedLevels(request.levels);
        v = as.Validate();
      }
      if (!v.ok()) return fail(Status::InvalidArgument(what + ": " + v.message()));
    }
    if (request.expect_local_scaler && *request.expect_local_scaler != c.local_scaler_type)
      return fail(Status::Unavailable("model '" + inst->name() + "' was reloaded with local_scaler_type=" +
                                      ToString(c.local_scaler_type) + " while the request was prepared; retry"));
    if (request.priority < 1 || request.priority > inst->options().priority_levels)
      return fail(Status::InvalidArgument("priority " + std::to_string(request.priority) + " is outside 1.." +
                                          std::to_string(inst->options().priority_levels)));
    if (request.deadline && arrived >= *request.deadline)
      return fail(Status::DeadlineExceeded("the deadline had passed on arrival"));
    if (inst->options().cache && request.levels.empty() && request.quantiles.empty()) {
      ForecastResult hit;
      const auto lookup_start = Clock::now();
      const bool found = cache.Lookup(inst->name(), inst->version(), request.insample, request.mask, &hit.forecast,
                                      serve::CacheKeyExtra(request), inst->generation());
      const double lookup_us = std::chrono::duration<double, std::micro>(Clock::now() - lookup_start).count();
      serve::ModelCounters& k = inst->counters();
      (found ? k.cache_hits : k.cache_misses).fetch_add(1, std::memory_order_relaxed);
      (found ? k.cache_hit_us : k.cache_miss_us).fetch_add(lookup_us, std::memory_order_relaxed);
      if (found) {
        k.last_success_ms.store(serve::WallClockMs(), std::memory_order_relaxed);
        hit.model = inst->name();
        hit.version = inst->version();
        hit.series_id = request.series_id;
        hit.h = c.h;
        hit.outputs = c.outputs_per_step();
        hit.output_names = c.output_names();
        hit.point_column = c.point_column();
        hit.cache_hit = true;
        counters.success.fetch_add(1, std::memory_order_relaxed);
        inst->counters().success.fetch_add(1, std::memory_order_relaxed);
        const double us = std::chrono::duration<double, std::micro>(Clock::now() - arrived).count();
        inst->counters().success_us.fetch_add(us, std::memory_order_relaxed);
        counters.RecordEndToEnd(us, request.priority);
        return pending.Finish(std::move(hit));
      }
    }
    pending.enqueued = arrived;
    Status s = inst->Enqueue(pending);
    if (s.ok()) return;
    if (!inst->draining()) {  // queue full, or shed under overload
      const char* reason = s.message().rfind("shed", 0) == 0 ? "shed" : "queue_full";
      inst->counters().Fail(reason);
      counters.Fail(reason);
      return pending.Finish(Failed(std::move(s), request));
    }
  }
  fail(Status::Unavailable("model '" + request.model + "' is being reloaded; try again"));
}

std::future<ForecastResult> Engine::Submit(ForecastRequest request) {
  Pending p;
  p.request = std::move(request);
  std::future<ForecastResult> f = p.promise.get_future();
  impl_->Submit(std::move(p));
  return f;
}

void Engine::Submit(ForecastRequest request, std::function<void(ForecastResult)> on_done) {
  Pending p;
  p.request = std::move(request);
  p.done = std::move(on_done);
  impl_->Submit(std::move(p));
}

ForecastResult Engine::Predict(ForecastRequest request) { return Submit(std::move(request)).get(); }

bool Engine::Live() const { return !impl_->shut_down; }

bool Engine::Ready() const {
  std::shared_lock<std::shared_mutex> lock(impl_->mu);
  if (impl_->shut_down || impl_->models.empty()) return false;
  for (const auto& [name, versions] : impl_->models) {
    bool any = false;
    for (const auto& [v, inst] : versions) any = any || (inst->ready() && !inst->draining());
    if (!any) return false;
  }
  return true;
}

bool Engine::ModelReady(const std::string& name, int version) const {
  Status why;
  auto inst = impl_->Route(name, version, &why);
  return inst && inst->ready() && !inst->draining();
}

namespace {
ModelStatus StatusOf(const ModelInstance& inst) {
  ModelStatus m;
  m.name = inst.name();
  m.version = inst.version();
  m.ready = inst.ready() && !inst.draining();
  m.state = inst.draining() ? "draining" : inst.ready() ? "ready" : "loading";
  m.config = inst.model().config();
  m.precision = inst.precision().Describe();
  m.queue_depth = inst.QueueDepth();
  m.max_batch_size = inst.options().max_batch_size;
  m.priority_levels = inst.options().priority_levels;
  m.max_queue_delay_us = inst.options().max_queue_delay_us;
  m.preferred_batch_sizes = inst.options().preferred_batch_sizes;
  m.max_queue_size = inst.options().max_queue_size;
  m.workers = inst.options().workers;
  m.device = inst.options().device;
  m.lane = inst.lane_scheduling();
  const serve::ModelCounters& k = inst.counters();
  m.success = k.success.load();
  m.failures = k.FailureCount();
  m.windows = k.windows.load();
  m.batches = k.batches.load();
  m.success_us = k.success_us.load();
  m.queue_us = k.queue_us.load();
  m.compute_us = k.compute_us.load();
  m.cache_hits = k.cache_hits.load();
  m.cache_misses = k.cache_misses.load();
  m.cache_hit_us = k.cache_hit_us.load();
  m.cache_miss_us = k.cache_miss_us.load();
  m.last_success_ms = k.last_success_ms.load();
  m.precision_plan = inst.precision();
  m.model = inst.shared_model();
  m.conformal = inst.options().conformal;
  return m;
}
}  // namespace

std::vector<ModelStatus> Engine::Models() const {
  std::shared_lock<std::shared_mutex> lock(impl_->mu);
  std::vector<ModelStatus> out;
  for (const auto& [name, versions] : impl_->models)
    for (const auto& [v, inst] : versions) out.push_back(StatusOf(*inst));
  return out;
}

Result<ModelStatus> Engine::FindModel(const std::string& name, int version) const {
  Status why;
  auto inst = impl_->Route(name, version, &why);
  if (!inst) {
    // Route() skips versions that are not ready; metadata still exists for them.
    std::shared_lock<std::shared_mutex> lock(impl_->mu);
    auto it = impl_->models.find(name);
    if (it != impl_->models.end() && !it->second.empty()) {
      if (version == 0) return StatusOf(*it->second.rbegin()->second);
      if (it->second.count(version)) return StatusOf(*it->second.at(version));
    }
    return why;
  }
  return StatusOf(*inst);
}

std::vector<std::shared_ptr<ModelInstance>> Engine::Impl::Instances() const {
  std::shared_lock<std::shared_mutex> lock(mu);
  std::vector<std::shared_ptr<ModelInstance>> out;
  for (const auto& [name, versions] : models)
    for (const auto& [v, inst] : versions) out.push_back(inst);
  return out;
}

PerformanceStats Engine::GetPerformanceStats() const {
  Impl& im = *impl_;
  PerformanceStats st;
  st.success = im.counters.success.load();
  {
    std::lock_guard<std::mutex> lock(im.counters.mu);
    st.failures = im.counters.failures;
    st.batch_sizes = im.counters.batch_sizes;
  }
  st.queue_us = im.counters.queue.Snapshot();
  st.compute_us = im.counters.compute.Snapshot();
  st.end_to_end_us = im.counters.end_to_end.Snapshot();
  for (int l = 0; l < serve::EngineCounters::kPriorityHistograms; ++l)
    if (im.counters.end_to_end_by_priority[static_cast<std::size_t>(l)].count() > 0)
      st.end_to_end_us_by_priority[l + 1] = im.counters.end_to_end_by_priority[static_cast<std::size_t>(l)].Snapshot();
  const auto cache = im.cache.stats();
  st.cache_hits = cache.hits;
  st.cache_misses = cache.misses;
  st.cache_evictions = cache.evictions;
  st.cache_expired = cache.expired;
  st.cache_bytes = cache.bytes;
  st.cache_entries = cache.entries;
  int workers = 0, max_batch = 0;
  for (const auto& inst : im.Instances()) {
    st.queue_depth += inst->QueueDepth();
    st.memory_bytes += inst->MemoryBytes();
    workers += inst->options().workers;
    max_batch = std::max(max_batch, inst->options().max_batch_size);
  }
  st.memory_bytes += cache.bytes;
  {
    // Utilisation over the interval since the previous read (or since start).
    std::lock_guard<std::mutex> lock(im.util_mu);
    const auto now = Clock::now();
    const double busy = im.counters.busy_us.load();
    const double wall = std::chrono::duration<double, std::micro>(now - im.util_since).count() * std::max(workers, 1);
    st.utilisation = wall > 0 ? std::min(1.0, (busy - im.util_busy) / wall) : 0.0;
    im.util_since = now;
    im.util_busy = busy;
  }
  // The error-rate alert counts what the server could have avoided (compute, internal, deadline,
  // queue_full, shed, unavailable), not a client's bad request or unknown model: those still
  // appear in failures by reason.
  std::uint64_t failed = 0;
  for (const auto& [reason, n] : st.failures)
    if (reason != "invalid" && reason != "not_found") failed += n;
  const double requests = static_cast<double>(st.success + failed);
  const AlertThresholds& a = im.options.alerts;
  auto level = [](double v, double warn, double crit, bool below = false) {
    if (below) return (crit > 0 && v < crit) ? 2 : (warn > 0 && v < warn) ? 1 : 0;
    return v >= crit ? 2 : v >= warn ? 1 : 0;
  };
  const double error_rate = requests > 0 ? static_cast<double>(failed) / requests : 0.0;
  const double lookups = static_cast<double>(cache.hits + cache.misses);
  // No lookups yet: unknown (NaN, which compares below no threshold), not a perfect 1.0.
  const double hit_rate = lookups > 0 ? static_cast<double>(cache.hits) / lookups : std::numeric_limits<double>::quiet_NaN();
  st.alerts = {{"p95_latency_us", st.end_to_end_us.p95,
                level(st.end_to_end_us.p95, a.p95_latency_us_warning, a.p95_latency_us_critical)},
               {"error_rate", error_rate, level(error_rate, a.error_rate_warning, a.error_rate_critical)},
               {"memory_bytes", static_cast<double>(st.memory_bytes),
                level(static_cast<double>(st.memory_bytes), a.memory_bytes_warning, a.memory_bytes_critical)},
               {"cache_hit_rate", hit_rate, level(hit_rate, a.cache_hit_rate_warning, a.cache_hit_rate_critical, true)}};
  // Scaling signal: up when the workers are saturated, requests wait for more than a full batch
  // or latency alerts fire; down when mostly idle with empty queues.
  // A latency alert only argues for more workers while they are busy: the p95 is cumulative and
  // stays high on an idle server after a slow spell, where more workers would change nothing.
  const bool latency_under_load = st.alerts[0].level > 0 && (st.utilisation > 0.5 || st.queue_depth > 0);
  if (st.utilisation > 0.85 || st.queue_depth > static_cast<std::size_t>(2 * std::max(max_batch, 1)) ||
      latency_under_load) {
    st.scaling = 1;
    st.scaling_reason = st.utilisation > 0.85 ? "workers over 85% busy"
                        : st.alerts[0].level > 0 ? "p95 latency above its threshold"
                                                 : "queue deeper than two full batches";
  } else if (st.utilisation < 0.2 && st.queue_depth == 0 && workers > 1) {
    st.scaling = -1;
    st.scaling_reason = "workers under 20% busy with empty queues";
  } else {
    st.scaling_reason = "within bounds";
  }
  return st;
}

void Engine::Shutdown() {
  if (impl_->shut_down.exchange(true)) return;
  for (auto& inst : impl_->Instances()) inst->Drain();
}

}  // namespace nhits
