// ModelInstance: one loaded model version with its queues and workers (see engine.h for the
// batching and queue policy). The engine routes requests to instances; an instance never sees
// JSON or sockets.
// Thread safety: Enqueue from any thread; Start/Drain from the engine's control path.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "nhits/engine.h"
#include "nhits/inference.h"
#include "serve/engine_stats.h"
#include "serve/forecast_cache.h"

namespace nhits::serve {

struct Pending {
  ForecastRequest request;
  std::promise<ForecastResult> promise;        // answered here unless `done` is set
  std::function<void(ForecastResult)> done;    // the callback form of Engine::Submit
  SteadyTime enqueued;
  bool internal = false;  // the warm-up forecast: not cached, not counted

  void Finish(ForecastResult r) {
    if (done) {
      done(std::move(r));
    } else {
      promise.set_value(std::move(r));
    }
  }
};

class ModelInstance {
 public:
  ModelInstance(std::string name, int version, std::shared_ptr<const Model> model, const ModelOptions& options,
                PrecisionPlan precision, EngineCounters* engine_counters, ForecastCache* cache);
  ~ModelInstance();  // drains

  // Builds each worker's forecaster (CPU session or device backend), starts the workers and runs
  // a warm-up forecast through the queue; Ok means ready.
  Status Start();
  // kUnavailable if draining or the request's level is full; the promise is then untouched.
  Status Enqueue(Pending& pending);
  // Stops accepting; returns once every accepted request has its answer and workers have exited.
  void Drain();

  const std::string& name() const { return name_; }
  int version() const { return version_; }
  // Unique per instance in this process: a reload of the same version gets a new one.
  std::uint64_t generation() const { return generation_; }
  const Model& model() const { return *model_; }
  std::shared_ptr<const Model> shared_model() const { return model_; }
  const ModelOptions& options() const { return options_; }
  const PrecisionPlan& precision() const { return precision_; }
  bool ready() const { return ready_.load(); }
  const std::string& lane_scheduling() const { return lane_scheduling_; }
  bool draining() const { return draining_.load(); }
  std::size_t QueueDepth() const;
  std::vector<std::size_t> QueueDepthByLevel() const;
  std::size_t MemoryBytes() const;
  // Whether its forecasters decode a DistributionLoss model at a request's levels (CPU: yes).
  bool DecodesOtherLevels() const { return FirstForecaster() != nullptr && FirstForecaster()->DecodesOtherLevels(); }
  ModelCounters& counters() { return counters_; }
  const ModelCounters& counters() const { return counters_; }

 private:
  struct Worker {
    std::unique_ptr<WindowForecaster> session;
    std::vector<float> insample, mask, out;  // batch buffers sized for max_batch_size
    std::vector<float> hist, futr, stat;     // exogenous inputs of the batch (empty for models without)
    std::thread thread;
    int rank = 0;  // joins in only while `rank` other workers are busy
    bool lane = false;  // the priority lane (ModelOptions::priority_lane)
    std::condition_variable cv;  // its own, so a wake-up reaches the worker meant
  };
  // Wakes the workers that may take queued work (ranks 0..busy, see WorkerLoop), the one waiting
  // for its batch to fill, and the priority lane when it has work (LaneHasWork). Arguments read
  // under mu_; called after unlocking.
  void NotifyWorkers(int busy, Worker* filling, bool lane_has_work) {
    const int last = std::min(busy, options_.workers - 1);
    for (int k = 0; k <= last; ++k) workers_[static_cast<std::size_t>(k)]->cv.notify_one();
    if (filling != nullptr && filling->rank > last) filling->cv.notify_one();
    if (lane_has_work) workers_.back()->cv.notify_one();
  }
  void FinishExpired(std::vector<Pending>& expired);
  bool LaneHasWork() const;            // under mu_
  std::size_t RegularQueued() const;   // under mu_
  void TakeLaneBatch(std::vector<Pending>& batch, std::vector<Pending>& expired);
  void WorkerLoop(Worker& w);
  bool TakeBatch(Worker& w, std::unique_lock<std::mutex>& lock, std::vector<Pending>& batch, std::vector<Pending>& expired);
  void RunBatch(Worker& w, std::vector<Pending>& batch, int threads);
  int QueuedWindows() const;
  std::string ScheduleLane(std::thread& lane);
  const WindowForecaster* FirstForecaster() const { return workers_.empty() ? nullptr : workers_.front()->session.get(); }

  std::string name_;
  int version_;
  std::uint64_t generation_;
  std::mutex join_mu_;  // Drain may run on two threads at once (Shutdown beside an unload): one joins
  std::shared_ptr<const Model> model_;
  ModelOptions options_;
  PrecisionPlan precision_;
  EngineCounters* engine_;
  ForecastCache* cache_;
  ModelCounters counters_;

  mutable std::mutex mu_;
  std::condition_variable idle_cv_;
  Worker* filling_ = nullptr;  // the worker waiting for its batch to fill (under mu_)
  std::vector<std::deque<Pending>> levels_;  // [priority - 1]
  std::atomic<std::size_t> queued_{0};
  std::vector<int> level_windows_;            // windows queued per level (under mu_)
  std::atomic<double> us_per_window_{0};      // recent compute cost, for load shedding
  SteadyTime last_arrival_{};                 // under mu_
  double interarrival_us_ = 1e9;              // EWMA of the gap between arrivals (under mu_)  // changed under mu_; read without it while spinning
  int busy_ = 0;
  bool lane_busy_ = false;
  std::string lane_scheduling_ = "off";  // set by Start, read-only afterwards
  // Threads per lane batch: all of its session's once real-time; a normal-priority lane stays on
  // one, since a team of two stalls whenever the OS gives one of its cores to someone else.
  int lane_threads_ = 1;
  int low_running_ = 0;  // regular workers running a batch that starts below level 1
  int threads_ = 1;     // compute threads per worker under load
  bool lend_ = false;   // a lone busy worker may use every core (ModelOptions::lend_idle_cores)
  bool stopping_ = false;
  std::atomic<bool> ready_{false}, draining_{false};
  std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace nhits::serve
