#include "serve/model_instance.h"

#include "nhits/distribution.h"
#include "nhits/hw.h"

#include <pthread.h>
#include <sched.h>

#include <sys/resource.h>
#include <unistd.h>

#include <sys/prctl.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

namespace nhits::serve {
namespace {

using Clock = std::chrono::steady_clock;

double MicrosBetween(SteadyTime a, SteadyTime b) { return std::chrono::duration<double, std::micro>(b - a).count(); }

class CpuForecaster final : public WindowForecaster {
 public:
  CpuForecaster(const Model& model, int max_batch, int threads, const PrecisionPlan& plan, const SessionLayout& layout)
      : session_(std::make_unique<InferenceSession>(model, max_batch, threads, plan, layout)) {}
  explicit CpuForecaster(std::unique_ptr<InferenceSession> session) : session_(std::move(session)) {}
  Status Predict(int batch, const float* x, const float* m, float* out) override { return session_->Predict(batch, x, m, out); }
  Status Predict(int batch, const float* x, const float* m, float* out, int threads) override {
    return session_->Predict(batch, x, m, out, threads);
  }
  Status Predict(int batch, const float* x, const float* m, const ExogBatch<float>& exog, float* out,
                 int threads) override {
    return session_->Predict(batch, x, m, exog, out, threads);
  }
  Status DecodeLast(int window, const NhitsConfig& as, float* out) const override {
    return session_->DecodeLast(window, as, out);
  }
  bool DecodesOtherLevels() const override { return true; }
  std::size_t MemoryBytes() const override {
    const SessionMemory m = session_->memory();
    return m.reserved_bytes + m.owned_weight_bytes;  // shared weights count once, at the first session
  }
  std::string Describe() const override { return "cpu " + session_->precision().Describe(); }
  const InferenceSession& session() const { return *session_; }
  InferenceSession& session() { return *session_; }

 private:
  std::unique_ptr<InferenceSession> session_;
};

std::mutex& BackendMutex() {
  static std::mutex mu;
  return mu;
}
std::map<std::string, DeviceBackendFactory>& Backends() {
  static std::map<std::string, DeviceBackendFactory> backends;
  return backends;
}

// `first`: the model's first forecaster, or null. A CPU forecaster after the first shares its
// packed weights (one copy in memory and in the caches for all of a model's workers).
Result<std::unique_ptr<WindowForecaster>> MakeForecaster(const Model& model, const ModelOptions& o, int threads,
                                                         const PrecisionPlan& plan, const WindowForecaster* first) {
  if (o.device.empty() || o.device == "cpu") {
    if (const auto* cpu = dynamic_cast<const CpuForecaster*>(first))
      return std::unique_ptr<WindowForecaster>(std::make_unique<CpuForecaster>(cpu->session().Sibling(threads)));
    return std::unique_ptr<WindowForecaster>(std::make_unique<CpuForecaster>(model, o.max_batch_size, threads, plan, o.layout));
  }
  const std::string prefix = o.device.substr(0, o.device.find(':'));
  DeviceBackendFactory factory;
  {
    std::lock_guard<std::mutex> lock(BackendMutex());
    auto it = Backends().find(prefix);
    if (it != Backends().end()) factory = it->second;
  }
  if (!factory) {
    std::string known = "cpu";
    {
      std::lock_guard<std::mutex> lock(BackendMutex());
      for (const auto& [name, f] : Backends()) known += ", " + name + ":N";
    }
    return Status::Unavailable("device '" + o.device + "': no '" + prefix + "' backend in this build; devices: " + known +
                               (known == "cpu" ? " (built without CUDA)" : ""));
  }
  return factory(model, o.max_batch_size, o.device, o);
}

}  // namespace

}  // namespace nhits::serve

namespace nhits {
void RegisterDeviceBackend(const std::string& prefix, DeviceBackendFactory factory) {
  std::lock_guard<std::mutex> lock(serve::BackendMutex());
  serve::Backends()[prefix] = std::move(factory);
}
}  // namespace nhits

namespace nhits::serve {

namespace {
std::uint64_t NextGeneration() {
  static std::atomic<std::uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace

ModelInstance::ModelInstance(std::string name, int version, std::shared_ptr<const Model> model,
                             const ModelOptions& options, PrecisionPlan precision, EngineCounters* engine_counters,
                             ForecastCache* cache)
    : name_(std::move(name)),
      version_(version),
      generation_(NextGeneration()),
      model_(std::move(model)),
      options_(options),
      precision_(std::move(precision)),
      engine_(engine_counters),
      cache_(options.cache ? cache : nullptr),
      levels_(static_cast<std::size_t>(std::max(1, options.priority_levels))),
      level_windows_(levels_.size(), 0) {
  options_.max_batch_size = std::max(1, options_.max_batch_size);
  options_.workers = std::max(1, options_.workers);
}

ModelInstance::~ModelInstance() { Drain(); }

Status ModelInstance::Start() {
  const NhitsConfig& c = model_->config();
  const int cores = UsableCores();
  threads_ = options_.threads_per_worker > 0 ? options_.threads_per_worker : std::max(1, cores / options_.workers);
  lend_ = options_.lend_idle_cores && options_.workers > 1 && cores > threads_;
  const int threads = lend_ ? cores : threads_;  // sessions can use every core; calls choose
  for (int i = 0; i < options_.workers; ++i) {
    auto w = std::make_unique<Worker>();
    // A CPU session's constructor runs a forecast at the largest batch: every buffer is touched.
    Result<std::unique_ptr<WindowForecaster>> f = MakeForecaster(*model_, options_, threads, precision_, FirstForecaster());
    if (!f.ok()) return f.status();
    w->session = std::move(*f);
    const std::size_t B = static_cast<std::size_t>(options_.max_batch_size), n = B * c.input_size;
    w->insample.resize(n);
    w->mask.resize(n);
    w->out.resize(B * c.h * c.outputs_per_step());
    w->hist.resize(n * c.hist_exog_list.size());
    w->futr.resize(B * (c.input_size + c.h) * c.futr_exog_list.size());
    w->stat.resize(B * c.stat_exog_list.size());
    workers_.push_back(std::move(w));
  }
  // The priority lane: one more worker that runs only level-1 requests, and only while every
  // regular worker is busy, so level 1 never waits for a large batch to finish.
  if (options_.priority_lane && levels_.size() > 1) {
    auto w = std::make_unique<Worker>();
    // A real-time lane computes on every core: a priority-1 forecast streams weights that the
    // flood has pushed out of the caches, and two cores fetch them twice as fast as one.
    // At most 4: enough to pull the weights at memory speed without parking many real-time
    // threads on a big machine.
    const int lane_threads = options_.lane_realtime_priority > 0 ? std::min(cores, 4) : 1;
    Result<std::unique_ptr<WindowForecaster>> f =
        MakeForecaster(*model_, options_, lane_threads, precision_, FirstForecaster());
    if (!f.ok()) return f.status();
    w->session = std::move(*f);
    w->insample.resize(workers_.front()->insample.size());
    w->mask.resize(workers_.front()->mask.size());
    w->out.resize(workers_.front()->out.size());
    w->hist.resize(workers_.front()->hist.size());
    w->futr.resize(workers_.front()->futr.size());
    w->stat.resize(workers_.front()->stat.size());
    w->lane = true;
    workers_.push_back(std::move(w));
  }
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    workers_[i]->rank = static_cast<int>(i);
    workers_[i]->thread = std::thread([this, raw = workers_[i].get()] { WorkerLoop(*raw); });
  }
  if (!workers_.empty() && workers_.back()->lane) lane_scheduling_ = ScheduleLane(workers_.back()->thread);

  // Ready only once a forecast has gone through the whole path and come back finite.
  Pending warm;
  warm.request.windows = 1;
  warm.request.insample.assign(static_cast<std::size_t>(c.input_size), 1.0f);
  warm.request.hist_exog.assign(static_cast<std::size_t>(c.input_size) * c.hist_exog_list.size(), 0.0f);
  warm.request.futr_exog.assign(static_cast<std::size_t>(c.input_size + c.h) * c.futr_exog_list.size(), 0.0f);
  warm.request.stat_exog.assign(c.stat_exog_list.size(), 0.0f);
  warm.enqueued = Clock::now();
  warm.internal = true;
  std::future<ForecastResult> f = warm.promise.get_future();
  if (Status s = Enqueue(warm); !s.ok()) return s;
  ForecastResult r = f.get();
  if (!r.status.ok()) return Status::Internal("warm-up forecast of " + name_ + " failed: " + r.status.ToString());
  for (float v : r.forecast)
    if (!std::isfinite(v)) return Status::Internal("warm-up forecast of " + name_ + " is not finite");
  ready_ = true;
  return Status::Ok();
}

// A real-time lane preempts everything else on its core the moment a priority-1 request wakes
// it: under CPU saturation a normal-priority lane waits behind the I/O threads for its time
// slice (docs/PERFORMANCE.md, "Priority 1 under overload"). It sleeps between requests and
// computes one bounded batch at a time, so it cannot monopolise a core.
std::string ModelInstance::ScheduleLane(std::thread& lane) {
  if (options_.lane_realtime_priority <= 0) return "normal";
  sched_param sp{};
  sp.sched_priority = std::clamp(options_.lane_realtime_priority, sched_get_priority_min(SCHED_FIFO),
                                 sched_get_priority_max(SCHED_FIFO));
  int rc = pthread_setschedparam(lane.native_handle(), SCHED_FIFO, &sp);
  auto* cpu = dynamic_cast<CpuForecaster*>(workers_.back()->session.get());
  if (rc == 0 && cpu != nullptr) rc = cpu->session().SetHelperThreadsRealtime(sp.sched_priority);
  if (rc != 0) {
    sp.sched_priority = 0;
    pthread_setschedparam(lane.native_handle(), SCHED_OTHER, &sp);
    return std::string("normal (real-time scheduling refused: ") + std::strerror(rc) + "; needs root or CAP_SYS_NICE)";
  }
  const int threads = cpu != nullptr ? cpu->session().threads() : 1;
  lane_threads_ = threads;
  return "real-time (SCHED_FIFO " + std::to_string(sp.sched_priority) + ", " + std::to_string(threads) + " thread" +
         (threads == 1 ? ")" : "s)");
}

Status ModelInstance::Enqueue(Pending& pending) {
  const int level = pending.request.priority;
  std::unique_lock<std::mutex> lock(mu_);
  if (stopping_) return Status::Unavailable("model " + name_ + " version " + std::to_string(version_) + " is draining");
  auto& q = levels_[static_cast<std::size_t>(level - 1)];
  if (static_cast<int>(q.size()) >= options_.max_queue_size)
    return Status::Unavailable("queue full: priority " + std::to_string(level) + " of model " + name_ + " holds " +
                               std::to_string(q.size()) + " requests (max_queue_size)");
  if (options_.shed_after_us > 0 && level > 1) {
    int ahead = 0;  // windows that will run before this one
    for (int l = 0; l < level; ++l) ahead += level_windows_[static_cast<std::size_t>(l)];
    const double wait_us = ahead * us_per_window_.load(std::memory_order_relaxed) / options_.workers;
    if (wait_us > options_.shed_after_us)
      return Status::Unavailable("shed: priority " + std::to_string(level) + " would wait ~" +
                                 std::to_string(static_cast<long long>(wait_us)) + " us (> shed_after_us " +
                                 std::to_string(options_.shed_after_us) + "); higher priorities go first under overload");
  }
  level_windows_[static_cast<std::size_t>(level - 1)] += pending.request.windows;
  if (last_arrival_ != SteadyTime{}) {
    const double gap = std::chrono::duration<double, std::micro>(pending.enqueued - last_arrival_).count();
    interarrival_us_ = interarrival_us_ >= 1e9 ? gap : 0.8 * interarrival_us_ + 0.2 * std::max(gap, 0.0);
  }
  last_arrival_ = pending.enqueued;
  q.push_back(std::move(pending));
  ++queued_;
  const int busy = busy_;
  Worker* filling = filling_;
  const bool lane = LaneHasWork();
  lock.unlock();
  NotifyWorkers(busy, filling, lane);
  return Status::Ok();
}

int ModelInstance::QueuedWindows() const {
  int n = 0;
  for (int w : level_windows_) n += w;  // kept up to date by Enqueue and TakeBatch
  return n;
}

// Called with the lock held and at least one request queued. Waits (releasing the lock) for the
// batch to fill, at most max_queue_delay_us after its oldest request arrived.
bool ModelInstance::TakeBatch(Worker& w, std::unique_lock<std::mutex>& lock, std::vector<Pending>& batch,
                              std::vector<Pending>& expired) {
  const auto delay = std::chrono::microseconds(options_.max_queue_delay_us);
  while (true) {
    if (RegularQueued() == 0) return false;
    const bool skip_top = LaneHasWork();
    SteadyTime oldest = SteadyTime::max();
    for (const auto& q : levels_)
      if (!q.empty() && !(skip_top && &q == &levels_.front())) oldest = std::min(oldest, q.front().enqueued);
    const int windows = QueuedWindows() - (skip_top ? level_windows_.front() : 0);
    const bool full = windows >= options_.max_batch_size;
    bool preferred = false, internal = false;
    for (int size : options_.preferred_batch_sizes) preferred = preferred || windows >= size;
    for (const auto& q : levels_)
      for (const Pending& p : q) internal = internal || p.internal;  // the warm-up never waits
    if (full || preferred || internal || stopping_ || Clock::now() >= oldest + delay) break;
    // Nobody else is likely to arrive before the delay runs out (one client at a time, say):
    // waiting would only add latency, so ship now.
    if (last_arrival_ + std::chrono::microseconds(static_cast<long long>(interarrival_us_)) > oldest + delay) break;
    filling_ = &w;
    w.cv.wait_until(lock, oldest + delay);
    if (filling_ == &w) filling_ = nullptr;
  }
  // Strict priority, FIFO within a level; stop at the first request that does not fit. A batch
  // that carries level-1 requests takes lower levels only up to priority_batch_size windows: it
  // then finishes in a small-batch time instead of a full batch's, which is what keeps level 1
  // fast while lower levels flood the queue.
  const auto now = Clock::now();
  int windows = 0;
  bool carries_top = false;
  const bool skip_top = LaneHasWork();
  for (auto& q : levels_) {
    const bool top = &q == &levels_.front();
    if (top && skip_top) continue;
    const int limit = !top && carries_top ? std::max(windows, std::min(options_.priority_batch_size, options_.max_batch_size))
                                          : options_.max_batch_size;
    while (!q.empty()) {
      Pending& p = q.front();
      if (p.request.deadline && now >= *p.request.deadline) {
        level_windows_[static_cast<std::size_t>(&q - levels_.data())] -= p.request.windows;
        expired.push_back(std::move(p));
        q.pop_front();
        --queued_;
        continue;
      }
      if (windows + p.request.windows > limit) break;
      windows += p.request.windows;
      level_windows_[static_cast<std::size_t>(&q - levels_.data())] -= p.request.windows;
      batch.push_back(std::move(p));
      q.pop_front();
      --queued_;
    }
    if (top) carries_top = windows > 0;
    if (windows >= options_.max_batch_size) break;
  }
  return true;
}

void ModelInstance::FinishExpired(std::vector<Pending>& expired) {
  for (Pending& p : expired) {
    ForecastResult r;
    r.status = Status::DeadlineExceeded("request waited " + std::to_string(MicrosBetween(p.enqueued, Clock::now())) +
                                        " us in the queue and passed its deadline; not computed");
    r.model = name_;
    r.version = version_;
    r.series_id = p.request.series_id;
    counters_.Fail("deadline");
    engine_->Fail("deadline");
    p.Finish(std::move(r));
  }
}

// The lane serves level 1 while lower levels compete for the regular workers: level-1 work is
// waiting, the lane is idle, and lower-level work is running or queued. With level 1 alone (the
// default priority) it stays idle, so it never competes with the regular workers for plain load.
bool ModelInstance::LaneHasWork() const {
  if (stopping_ || lane_busy_ || workers_.empty() || !workers_.back()->lane || levels_.front().empty()) return false;
  if (low_running_ > 0) return true;
  for (std::size_t l = 1; l < levels_.size(); ++l)
    if (!levels_[l].empty()) return true;
  return false;
}

// Requests the regular workers may take: level 1 is left to an idle lane that has work, so it
// never lands in a batch of a worker that yields its CPU (worker_nice).
std::size_t ModelInstance::RegularQueued() const {
  return queued_ - (LaneHasWork() ? levels_.front().size() : 0);
}

// The lane's batch: level-1 requests only, at once (no waiting for company), FIFO.
void ModelInstance::TakeLaneBatch(std::vector<Pending>& batch, std::vector<Pending>& expired) {
  const auto now = Clock::now();
  auto& q = levels_.front();
  int windows = 0;
  while (!q.empty()) {
    Pending& p = q.front();
    const bool late = p.request.deadline && now >= *p.request.deadline;
    if (!late && windows + p.request.windows > options_.max_batch_size) break;
    level_windows_.front() -= p.request.windows;
    if (late) {
      expired.push_back(std::move(p));
    } else {
      windows += p.request.windows;
      batch.push_back(std::move(p));
    }
    q.pop_front();
    --queued_;
  }
}

void ModelInstance::WorkerLoop(Worker& w) {
  // Batching delays are tens of microseconds: without this, Linux's default 50 us timer slack
  // would add up to 50 us to every timed wait.
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  // Regular workers yield the CPU to the I/O threads and the priority lane (nice only lowers a
  // thread's own priority, which needs no privilege).
  if (!w.lane && options_.worker_nice > 0) setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), options_.worker_nice);
  std::vector<Pending> batch, expired;
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    if (w.lane) {
      w.cv.wait(lock, [&] { return stopping_ || LaneHasWork(); });
      if (stopping_ && levels_.front().empty()) break;
      batch.clear();
      expired.clear();
      TakeLaneBatch(batch, expired);
      ++busy_;
      lane_busy_ = true;
      // Level-1 requests that arrive while the lane runs go to the regular workers again.
      const int busy = busy_;
      Worker* filling = filling_;
      const bool more_top = !levels_.front().empty();
      lock.unlock();
      if (more_top) NotifyWorkers(busy, filling, false);
      FinishExpired(expired);
      // Batches past the small-batch regime would start an OpenMP team, whose waiting threads
      // spin: never at real-time priority.
      int windows = 0;
      for (const Pending& p : batch) windows += p.request.windows;
      if (!batch.empty()) RunBatch(w, batch, windows <= options_.priority_batch_size ? lane_threads_ : 1);
      lock.lock();
      --busy_;
      lane_busy_ = false;
      if (stopping_ && queued_ == 0 && busy_ == 0) idle_cv_.notify_all();
      continue;
    }
    if (queued_ == 0 && !stopping_) {
      // Spin briefly before sleeping: a request that arrives meanwhile starts without a futex
      // wake-up (~20 us on this VM), which is most of the engine's overhead at batch 1.
      lock.unlock();
      const auto until = Clock::now() + std::chrono::microseconds(50);
      while (queued_.load(std::memory_order_acquire) == 0 && !draining_.load(std::memory_order_relaxed) &&
             Clock::now() < until) {
        __builtin_ia32_pause();
      }
      lock.lock();
    }
    // Worker k joins only while k others are busy: a light load stays on worker 0, whose
    // weights and helper threads are warm, instead of rotating through every worker.
    w.cv.wait(lock, [&] { return stopping_ || (RegularQueued() > 0 && busy_ >= w.rank); });
    if (queued_ == 0 && stopping_) break;
    batch.clear();
    expired.clear();
    if (!TakeBatch(w, lock, batch, expired)) continue;
    ++busy_;
    const bool low = !batch.empty() && batch.front().request.priority > 1;
    low_running_ += low ? 1 : 0;
    const int threads = lend_ && busy_ == 1 && queued_ == 0 ? 0 : threads_;  // 0: all of the session's
    const bool more = queued_ > 0, lane = LaneHasWork();
    const int busy = busy_;
    Worker* filling = filling_;
    lock.unlock();
    if (more) NotifyWorkers(busy, filling, lane);  // more work for another worker
    FinishExpired(expired);
    if (!batch.empty()) RunBatch(w, batch, threads);
    lock.lock();
    --busy_;
    low_running_ -= low ? 1 : 0;
    if (stopping_ && queued_ == 0 && busy_ == 0) idle_cv_.notify_all();
  }
}

void ModelInstance::RunBatch(Worker& w, std::vector<Pending>& batch, int threads) {
  if (options_.on_batch && !batch.front().internal) {
    std::vector<std::string> ids;
    for (const Pending& p : batch) ids.push_back(p.request.series_id);
    options_.on_batch(ids);
  }
  const NhitsConfig& c = model_->config();
  const std::size_t L = static_cast<std::size_t>(c.input_size), HQ = static_cast<std::size_t>(c.h) * c.outputs_per_step();
  int windows = 0;
  for (Pending& p : batch) {
    const std::size_t n = static_cast<std::size_t>(p.request.windows) * L;
    std::copy_n(p.request.insample.data(), n, w.insample.data() + windows * L);
    if (p.request.mask.empty()) {
      std::fill_n(w.mask.data() + windows * L, n, 1.0f);
    } else {
      std::copy_n(p.request.mask.data(), n, w.mask.data() + windows * L);
    }
    // Exogenous rows follow their windows (sizes checked at submission).
    std::copy(p.request.hist_exog.begin(), p.request.hist_exog.end(), w.hist.begin() + windows * L * c.hist_exog_list.size());
    std::copy(p.request.futr_exog.begin(), p.request.futr_exog.end(),
              w.futr.begin() + windows * (L + c.h) * c.futr_exog_list.size());
    std::copy(p.request.stat_exog.begin(), p.request.stat_exog.end(), w.stat.begin() + windows * c.stat_exog_list.size());
    windows += p.request.windows;
  }
  const auto start = Clock::now();
  const Status s = c.has_exog() ? w.session->Predict(windows, w.insample.data(), w.mask.data(),
                                                     {w.hist.data(), w.futr.data(), w.stat.data()}, w.out.data(), threads)
                                : w.session->Predict(windows, w.insample.data(), w.mask.data(), w.out.data(), threads);
  const auto end = Clock::now();
  const double compute_us = MicrosBetween(start, end);
  engine_->busy_us.fetch_add(compute_us, std::memory_order_relaxed);
  if (!(batch.size() == 1 && batch.front().internal)) {
    engine_->compute.Record(compute_us);
    engine_->Batch(windows);
    counters_.batches.fetch_add(1, std::memory_order_relaxed);
    counters_.windows.fetch_add(static_cast<std::uint64_t>(windows), std::memory_order_relaxed);
    counters_.compute_us.fetch_add(compute_us, std::memory_order_relaxed);
    // Exponentially weighted cost per window (batches amortise; this tracks the current mix).
    const double per = compute_us / std::max(1, windows), old = us_per_window_.load(std::memory_order_relaxed);
    us_per_window_.store(old == 0 ? per : 0.9 * old + 0.1 * per, std::memory_order_relaxed);
  }
  int at = 0;
  for (Pending& p : batch) {
    ForecastResult r;
    r.status = s;
    r.series_id = p.request.series_id;
    r.model = name_;
    r.version = version_;
    r.h = c.h;
    r.outputs = c.outputs_per_step();
    r.output_names = c.output_names();
    r.point_column = c.point_column();
    r.queue_us = MicrosBetween(p.enqueued, start);
    r.compute_us = compute_us;
    r.batch_size = windows;
    if (s.ok() && !p.request.quantiles.empty()) {  // the mean and any quantiles, from the parameters
      const NhitsConfig as = QuantileDecodeConfig(c);
      const std::vector<std::string> suffixes = QuantileColumnSuffixes(c, p.request.quantiles);
      const std::size_t HA = static_cast<std::size_t>(c.h) * as.outputs_per_step(),
                        HS = static_cast<std::size_t>(c.h) * suffixes.size();
      const std::size_t windows_here = static_cast<std::size_t>(p.request.windows);
      std::vector<float> decoded(windows_here * HA);
      for (std::size_t k = 0; k < windows_here && r.status.ok(); ++k)
        r.status = w.session->DecodeLast(at + static_cast<int>(k), as, decoded.data() + k * HA);
      if (r.status.ok()) {  // every window's rows at once: the per-quantile set-up once per request
        r.forecast.resize(windows_here * HS);
        QuantileColumns(c, p.request.quantiles, decoded.data(), windows_here * static_cast<std::size_t>(c.h),
                        r.forecast.data());
      }
      r.outputs = static_cast<int>(suffixes.size());
      r.output_names = suffixes;
      r.point_column = 0;
    } else if (s.ok() && p.request.levels.empty()) {
      r.forecast.assign(w.out.begin() + static_cast<std::ptrdiff_t>(at * HQ),
                        w.out.begin() + static_cast<std::ptrdiff_t>((at + p.request.windows) * HQ));
    } else if (s.ok()) {  // the same parameters decoded at the request's levels (checked at submission)
      NhitsConfig as = c;
      as.level = SortedLevels(p.request.levels);
      const std::size_t HA = static_cast<std::size_t>(c.h) * as.outputs_per_step();
      r.forecast.resize(static_cast<std::size_t>(p.request.windows) * HA);
      for (int k = 0; k < p.request.windows && r.status.ok(); ++k)
        r.status = w.session->DecodeLast(at + k, as, r.forecast.data() + static_cast<std::size_t>(k) * HA);
      if (!r.status.ok()) r.forecast.clear();
      r.outputs = as.outputs_per_step();
      r.output_names = as.output_names();
      r.point_column = as.point_column();
    }
    at += p.request.windows;
    if (!p.internal) {
      if (r.status.ok()) {
        if (cache_ != nullptr && p.request.levels.empty() && p.request.quantiles.empty())
          cache_->Insert(name_, version_, p.request.insample, p.request.mask, r.forecast, CacheKeyExtra(p.request),
                         generation_);
        counters_.success.fetch_add(1, std::memory_order_relaxed);
        counters_.last_success_ms.store(WallClockMs(), std::memory_order_relaxed);
        engine_->success.fetch_add(1, std::memory_order_relaxed);
      } else {
        counters_.Fail("compute");
        engine_->Fail("compute");
      }
      engine_->queue.Record(r.queue_us);
      counters_.queue_us.fetch_add(r.queue_us, std::memory_order_relaxed);
      const double us = MicrosBetween(p.enqueued, end);
      engine_->RecordEndToEnd(us, p.request.priority);
      if (r.status.ok()) counters_.success_us.fetch_add(us, std::memory_order_relaxed);
    }
    p.Finish(std::move(r));
  }
}

void ModelInstance::Drain() {
  std::unique_lock<std::mutex> lock(mu_);
  draining_ = true;
  stopping_ = true;
  for (auto& w : workers_) w->cv.notify_all();
  idle_cv_.wait(lock, [&] { return queued_ == 0 && busy_ == 0; });
  lock.unlock();
  for (auto& w : workers_) w->cv.notify_all();
  std::lock_guard<std::mutex> joining(join_mu_);
  for (auto& w : workers_)
    if (w->thread.joinable()) w->thread.join();
}

std::size_t ModelInstance::QueueDepth() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queued_;
}

std::vector<std::size_t> ModelInstance::QueueDepthByLevel() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::size_t> out;
  for (const auto& q : levels_) out.push_back(q.size());
  return out;
}

std::size_t ModelInstance::MemoryBytes() const {
  std::size_t bytes = model_->network().params().size() * sizeof(float);
  for (const auto& w : workers_) {
    bytes += w->session->MemoryBytes() +
             (w->insample.size() + w->mask.size() + w->out.size() + w->hist.size() + w->futr.size() + w->stat.size()) *
                 sizeof(float);
  }
  return bytes;
}

}  // namespace nhits::serve
