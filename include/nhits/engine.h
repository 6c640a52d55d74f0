// Engine: the in-process inference engine a trading platform calls for every signal, and what
// `nhits serve` puts behind HTTP. Usable from C++ without any server.
//
//   nhits::Engine engine;
//   engine.LoadModel("etth1", 1, "m.safetensors", {});        // warm-up forecast, then ready
//   nhits::ForecastRequest r{.model = "etth1", .insample = window};
//   nhits::ForecastResult f = engine.Predict(std::move(r));    // or Submit(...) -> future
//
// Per model version: strict priority queues (1 = highest, FIFO within a level), each bounded
// (a full queue rejects at once with kUnavailable "queue full"); workers that own their
// InferenceSession pull dynamic batches: up to max_batch_size windows, waiting at most
// max_queue_delay_us from the oldest request for more, shipping at once when full or a
// preferred size forms, or when the recent arrival rate says nobody will come within the delay
// (a lone client pays no batching delay); while every worker is busy the queue keeps growing the
// next batch.
// Requests past their deadline are rejected, never computed. A forecast cache (input bytes ->
// forecast, verified on hit) answers repeats before the queue. Hot reload: loading a new version
// (or the same version again) warms it up first, then routes new requests to it; the old one
// finishes everything it accepted. Shutdown drains in-flight work.
// Thread safety: every public method may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nhits/conformal.h"
#include "nhits/inference.h"
#include "nhits/model.h"
#include "nhits/precision.h"
#include "nhits/status.h"

namespace nhits {

using SteadyTime = std::chrono::steady_clock::time_point;

struct ForecastRequest {
  std::string model;            // empty: the only model loaded
  int version = 0;              // 0: the newest ready version
  std::string series_id;        // optional, echoed back
  int windows = 1;              // windows in this request (<= the model's max_batch_size)
  std::vector<float> insample;  // [windows, input_size] raw values, oldest first
  std::vector<float> mask;      // [windows, input_size], 1 = observed; empty = all observed
  // Raw exogenous inputs, for a model with futr/hist/stat_exog_list (empty otherwise):
  // hist [windows, input_size, X] and futr [windows, input_size + h, F] time-major and oldest
  // first, stat [windows, S]; columns in the model's list order.
  std::vector<float> hist_exog, futr_exog, stat_exog;
  int priority = 1;             // 1 (highest) .. the model's priority_levels
  std::optional<SteadyTime> deadline;  // rejected with kDeadlineExceeded if it passes first
  // Set by a caller that scaled the inputs for a model's local_scaler_type: a hot reload to a
  // version with another setting between the caller's look and the run is refused (kUnavailable,
  // retry) rather than answered in the wrong units.
  std::optional<LocalScalerType> expect_local_scaler;
  // DistributionLoss models: answer with the columns of these levels (the mean, the median and
  // -lo-/-hi- per level, as NhitsConfig::output_names) instead of the trained ones, from the same
  // parameters. Such answers bypass the cache. Empty: the model's own levels.
  std::vector<double> levels;
  // DistributionLoss models: answer with the mean and these quantiles in (0, 1) instead, as
  // neuralforecast's predict(quantiles=...) (columns QuantileColumnSuffixes: "", "_ql0.1", ...,
  // then the parameters if the model returns them). Not with `levels`; bypasses the cache too.
  std::vector<double> quantiles;
};

struct ForecastResult {
  Status status;
  std::string series_id;
  std::string model;
  int version = 0;
  int h = 0, outputs = 0;         // forecast is [windows, h, outputs]
  std::vector<float> forecast;
  std::vector<std::string> output_names;  // "" or "-median", "-lo-90", ...
  int point_column = 0;                   // the output that is the point forecast (NhitsConfig::point_column)
  bool cache_hit = false;
  double queue_us = 0, compute_us = 0;  // time waiting for a batch, and the batch's forward
  int batch_size = 0;                   // windows in the batch it ran in
};

struct ModelOptions {
  int max_batch_size = 64;
  int max_queue_delay_us = 100;
  std::vector<int> preferred_batch_sizes;  // ship as soon as this many windows wait (besides max_batch_size)
  int priority_levels = 3;
  // A batch holding priority-1 requests is topped up with lower levels only to this many
  // windows, so it runs at small-batch speed (priority-1 requests themselves still fill up to
  // max_batch_size).
  int priority_batch_size = 8;
  // One more single-threaded worker that takes only priority-1 requests, and only while every
  // regular worker is busy: level 1 then never waits for a large batch to finish (costs one more
  // session's memory). Off with priority_levels 1.
  bool priority_lane = true;
  // With a priority lane: run it under SCHED_FIFO at this real-time priority (1-99), so it takes
  // a core as soon as a priority-1 request arrives even when every core is saturated. Needs root
  // or CAP_SYS_NICE; without them the lane keeps normal scheduling (ModelStatus::lane says
  // which). 0: normal scheduling.
  int lane_realtime_priority = 0;
  // Regular workers lower their own OS priority by this much (nice), so under CPU saturation the
  // I/O threads and the priority lane run first. 0: unchanged.
  int worker_nice = 0;
  // A checkpoint with local_scaler_type (neuralforecast's per-series scaling over each whole
  // history) is refused, since a request carries one window, unless the caller scales the
  // series and its forecasts itself, as the batch processor and the server's /v1/forecast do.
  bool caller_scales_series = false;
  int max_queue_size = 1024;     // requests per priority level
  // Load shedding under overload: a request below priority 1 is rejected at once (kUnavailable,
  // "shed") when the work queued at its level and above would take longer than this to compute
  // at the recent rate, so the CPU goes to the higher levels. 0: off.
  int shed_after_us = 0;
  int workers = 1;               // each with its own session and compute threads
  int threads_per_worker = 0;    // 0: all cores / workers
  // With several workers: a worker that is the only one busy (and nothing queued) runs its batch
  // on every core, so a lone request gets the whole machine; under load each worker keeps to
  // threads_per_worker and no thread team waits on a core the OS gave to I/O.
  bool lend_idle_cores = true;
  SessionLayout layout;          // small-batch weight panels (off in the memory-efficient profile)
  PrecisionPlan precision;       // default: the checkpoint's own plan
  std::string device = "cpu";    // "cpu", or "cuda:N" when a CUDA backend is registered
  bool use_checkpoint_precision = true;
  bool cache = true;
  // Conformity scores for prediction intervals (LoadModel from a checkpoint reads its own; null:
  // none). The engine keeps them beside the model for its callers (/v1/forecast "level").
  std::shared_ptr<const ConformalScores> conformal;
  // Called by a worker before each batch it runs, with the batch's series ids (observability;
  // the tests use it to hold a worker and to record execution order). Must be thread-safe.
  std::function<void(const std::vector<std::string>& series_ids)> on_batch;
};

struct CacheOptions {
  std::size_t max_bytes = 64u << 20;
  std::chrono::microseconds ttl = std::chrono::seconds(60);
};

// Warning/critical levels; state 0 ok, 1 warning, 2 critical.
struct AlertThresholds {
  double p95_latency_us_warning = 5'000, p95_latency_us_critical = 20'000;
  // Server-side failures / requests (a client's invalid request or unknown model is not counted).
  double error_rate_warning = 0.01, error_rate_critical = 0.05;
  double memory_bytes_warning = 512e6, memory_bytes_critical = 1e9;
  double cache_hit_rate_warning = 0.0, cache_hit_rate_critical = 0.0;  // below these (0: off)
};

struct EngineOptions {
  CacheOptions cache;
  AlertThresholds alerts;
};

struct Percentiles {
  double p50 = 0, p95 = 0, p99 = 0, p999 = 0, max = 0, mean = 0;
  std::uint64_t count = 0;
};

struct AlertState {
  std::string name;  // p95_latency, error_rate, memory, cache_hit_rate
  double value = 0;
  int level = 0;     // 0 ok, 1 warning, 2 critical
};

struct PerformanceStats {
  std::uint64_t success = 0, cache_hits = 0, cache_misses = 0, cache_evictions = 0, cache_expired = 0;
  std::map<std::string, std::uint64_t> failures;  // reason -> count: queue_full, deadline, invalid, not_found, ...
  Percentiles queue_us, compute_us, end_to_end_us;
  std::map<int, Percentiles> end_to_end_us_by_priority;  // levels that have answered requests
  std::map<int, std::uint64_t> batch_sizes;  // windows per executed batch -> batches
  std::size_t queue_depth = 0, cache_bytes = 0, cache_entries = 0, memory_bytes = 0;
  double utilisation = 0;   // busy worker time / wall time since the last stats read
  std::vector<AlertState> alerts;
  int scaling = 0;          // +1 scale up, -1 scale down, 0 hold
  std::string scaling_reason;
};

struct ModelStatus {
  std::string name;
  int version = 0;
  bool ready = false;
  std::string state;  // loading, ready, draining
  NhitsConfig config;
  std::string precision;
  std::size_t queue_depth = 0;
  int max_batch_size = 0;
  int priority_levels = 0;
  int max_queue_delay_us = 0, max_queue_size = 0, workers = 0;
  std::vector<int> preferred_batch_sizes;
  std::string device;
  std::string lane;  // the priority lane's scheduling: "off", "normal", "real-time (SCHED_FIFO n)", ...
  // Cumulative counters of this version (Triton's per-model statistics).
  std::uint64_t success = 0, failures = 0, windows = 0, batches = 0;
  double success_us = 0, queue_us = 0, compute_us = 0;  // summed over requests (compute: over batches)
  std::uint64_t cache_hits = 0, cache_misses = 0;         // this version's cache lookups
  double cache_hit_us = 0, cache_miss_us = 0;             // summed time of those lookups
  std::int64_t last_success_ms = 0;                       // ms since the epoch of the last answer (0: none)
  PrecisionPlan precision_plan;
  std::shared_ptr<const Model> model;  // the weights this version serves
  std::shared_ptr<const ConformalScores> conformal;  // its prediction-interval scores, if any
};

// What a worker runs a batch on: the CPU InferenceSession, or a device backend.
class WindowForecaster {
 public:
  virtual ~WindowForecaster() = default;
  // Raw windows [batch, L] in, original-scale forecasts [batch, h, Q] out (host memory).
  virtual Status Predict(int batch, const float* insample, const float* mask, float* out) = 0;
  // The same on at most `threads` CPU threads (a worker whose peers are busy runs on one core);
  // backends that do not compute on CPU threads ignore it.
  virtual Status Predict(int batch, const float* insample, const float* mask, float* out, int threads) {
    (void)threads;
    return Predict(batch, insample, mask, out);
  }
  // With exogenous inputs (a model with futr/hist/stat_exog_list); backends without them say so.
  virtual Status Predict(int batch, const float* insample, const float* mask, const ExogBatch<float>& exog, float* out,
                         int threads) {
    if (exog.hist == nullptr && exog.futr == nullptr && exog.stat == nullptr)
      return Predict(batch, insample, mask, out, threads);
    return Status::Unsupported(Describe() + " does not take exogenous inputs");
  }
  // A DistributionLoss model: window `window` of the last Predict decoded at other levels
  // (InferenceSession::DecodeLast). Backends that keep no parameters say so.
  virtual Status DecodeLast(int window, const NhitsConfig& as, float* out) const {
    (void)window, (void)as, (void)out;
    return Status::Unsupported(Describe() + " decodes a DistributionLoss model at its own levels only");
  }
  virtual bool DecodesOtherLevels() const { return false; }  // whether DecodeLast works
  virtual std::size_t MemoryBytes() const = 0;
  virtual std::string Describe() const = 0;  // e.g. "cpu fp32", "cuda:0 bf16"
};

// Device backends register a factory for their device prefix ("cuda"); the engine calls it for
// models whose ModelOptions::device starts with that prefix. The CUDA backend registers itself
// with nhits::cuda::RegisterEngineBackend() (backend/cuda/engine_backend.h).
using DeviceBackendFactory = std::function<Result<std::unique_ptr<WindowForecaster>>(
    const Model& model, int max_batch, const std::string& device, const ModelOptions& options)>;
void RegisterDeviceBackend(const std::string& prefix, DeviceBackendFactory factory);

class Engine {
 public:
  explicit Engine(EngineOptions options = {});
  ~Engine();  // Shutdown()
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Loads (or hot-reloads) name/version: builds the sessions, runs a warm-up forecast, and only
  // then routes requests to it. A version already loaded is replaced the same way.
  Status LoadModel(const std::string& name, int version, const std::string& checkpoint, const ModelOptions& options);
  Status LoadModel(const std::string& name, int version, std::shared_ptr<const Model> model, const ModelOptions& options);
  // Stops routing to name/version (all versions if 0) and lets accepted requests finish.
  Status UnloadModel(const std::string& name, int version = 0);

  std::future<ForecastResult> Submit(ForecastRequest request);
  // The same without a future, for event-driven callers (the HTTP front end): on_done runs
  // exactly once, on the calling thread when the answer is immediate (rejection, cache hit) or
  // on a worker thread after the batch. It must be quick and must not block.
  void Submit(ForecastRequest request, std::function<void(ForecastResult)> on_done);
  ForecastResult Predict(ForecastRequest request);

  bool Live() const;
  bool Ready() const;  // at least one model, and every routed model ready
  bool ModelReady(const std::string& name, int version = 0) const;
  std::vector<ModelStatus> Models() const;
  Result<ModelStatus> FindModel(const std::string& name, int version = 0) const;

  PerformanceStats GetPerformanceStats() const;
  std::string PrometheusMetrics() const;  // text exposition format 0.0.4

  // Rejects new requests (kUnavailable), finishes the accepted ones, stops the workers.
  void Shutdown();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace nhits
