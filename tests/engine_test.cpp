// The in-process engine: results equal the model's, queue policies (strict priority, FIFO,
// bounded levels, deadlines), dynamic batching, the forecast cache (TTL, eviction, forced hash
// collisions), hot reload under load, bad input, statistics and the Prometheus text.
#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <cmath>
#include <future>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "nhits/engine.h"
#include "serve/forecast_cache.h"
#include "serve/latency_histogram.h"

namespace nhits {
namespace {

using namespace std::chrono_literals;

std::shared_ptr<const Model> SmallModel(std::uint64_t seed = 1) {
  NhitsConfig c;
  c.h = 4;
  c.input_size = 12;
  c.mlp_units = {{16, 16}};
  c.scaler_type = ScalerType::kStandard;
  auto m = std::make_shared<Model>(c);
  m->mutable_network().InitParams(seed);
  return m;
}

ForecastRequest Request(const std::string& id, float level = 10, int priority = 1) {
  ForecastRequest r;
  r.model = "m";
  r.series_id = id;
  r.priority = priority;
  for (int t = 0; t < 12; ++t) r.insample.push_back(level + std::sin(0.5f * t) + 0.01f * static_cast<float>(id.size()));
  return r;
}

// Holds the worker inside on_batch until Release(), recording the order batches ran in.
struct Gate {
  std::mutex mu;
  std::vector<std::string> order;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> held{false};
  std::promise<void> entered;
  void OnBatch(const std::vector<std::string>& ids) {
    {
      std::lock_guard<std::mutex> lock(mu);
      order.insert(order.end(), ids.begin(), ids.end());
    }
    if (!held.exchange(true)) {
      entered.set_value();
      released.wait();
    }
  }
};

ModelOptions GatedOptions(Gate& gate, int max_batch = 1) {
  ModelOptions o;
  o.max_batch_size = max_batch;
  o.max_queue_delay_us = 0;
  o.workers = 1;
  o.threads_per_worker = 1;
  o.cache = false;
  o.priority_lane = false;  // these tests hold the only worker and watch the queue
  o.on_batch = [&gate](const std::vector<std::string>& ids) { gate.OnBatch(ids); };
  return o;
}

// A model with exogenous inputs is served on the CPU: each request brings its windows' hist,
// futr and stat values, batched with other requests, checked for size, and part of the cache key.
TEST(Engine, ServesModelsWithExogenousInputs) {
  NhitsConfig c = SmallModel()->config();
  c.hist_exog_list = {"volume"};
  c.futr_exog_list = {"promo", "holiday"};
  c.stat_exog_list = {"size"};
  auto model = std::make_shared<Model>(c);
  model->mutable_network().InitParams(4);
  Engine engine;
  ModelOptions o;
  o.max_batch_size = 8;
  ASSERT_TRUE(engine.LoadModel("m", 1, model, o).ok());
  const int L = c.input_size, H = c.h;
  auto request = [&](const std::string& id, float promo) {
    ForecastRequest r = Request(id);
    for (int t = 0; t < L; ++t) r.hist_exog.push_back(100 + t % 3);
    for (int t = 0; t < L + H; ++t) {
      r.futr_exog.push_back(t >= L ? promo : 0.0f);
      r.futr_exog.push_back(t % 7 == 0 ? 1.0f : 0.0f);
    }
    r.stat_exog = {2.5f};
    return r;
  };
  std::vector<std::future<ForecastResult>> pending;
  for (int i = 0; i < 6; ++i) pending.push_back(engine.Submit(request("s" + std::to_string(i), static_cast<float>(i))));
  for (int i = 0; i < 6; ++i) {
    const ForecastResult got = pending[static_cast<std::size_t>(i)].get();
    ASSERT_TRUE(got.status.ok()) << got.status.ToString();
    const ForecastRequest r = request("s" + std::to_string(i), static_cast<float>(i));
    std::vector<float> mask(L, 1.0f), want(H);
    model->PredictWindows(1, r.insample.data(), mask.data(), {r.hist_exog.data(), r.futr_exog.data(), r.stat_exog.data()},
                          want.data());
    for (int j = 0; j < H; ++j) EXPECT_NEAR(got.forecast[j], want[j], 1e-4 * (1 + std::abs(want[j]))) << i;
  }
  // Same y, other future promotions: not a cache hit, another forecast.
  const ForecastResult a = engine.Predict(request("x", 0)), a2 = engine.Predict(request("x", 0)),
                       b = engine.Predict(request("x", 5));
  EXPECT_TRUE(a2.cache_hit);
  EXPECT_FALSE(b.cache_hit);
  EXPECT_NE(a.forecast, b.forecast);
  ForecastRequest missing = Request("y");
  const ForecastResult bad = engine.Predict(missing);
  EXPECT_EQ(bad.status.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(bad.status.message().find("hist_exog has 0 values; the model needs [windows, input_size, X] = 12 (columns volume)"),
            std::string::npos)
      << bad.status.message();
  NhitsConfig plain = SmallModel()->config();
  ASSERT_TRUE(engine.LoadModel("p", 1, std::make_shared<const Model>(plain), {}).ok());
  ForecastRequest extra = request("z", 1);
  extra.model = "p";
  EXPECT_NE(engine.Predict(extra).status.message().find("(it takes none)"), std::string::npos);
}

// A DistributionLoss model answers its mean, quantile and parameter columns, as Model::PredictWindows
// decodes them.
TEST(Engine, ServesDistributionLossModels) {
  NhitsConfig c = SmallModel()->config();
  c.loss = LossType::kDistributionLoss;
  c.distribution = DistributionType::kStudentT;
  c.level = {80};
  c.return_params = true;
  auto model = std::make_shared<Model>(c);
  model->mutable_network().InitParams(5);
  Engine engine;
  ASSERT_TRUE(engine.LoadModel("d", 1, model, {}).ok());
  ForecastRequest r = Request("s");
  r.model = "d";
  const ForecastResult got = engine.Predict(r);
  ASSERT_TRUE(got.status.ok()) << got.status.ToString();
  EXPECT_EQ(got.outputs, 7);  // mean, median, lo-80, hi-80, df, loc, scale
  EXPECT_EQ(got.output_names, c.output_names());
  std::vector<float> mask(c.input_size, 1.0f), want(c.h * 7);
  model->PredictWindows(1, r.insample.data(), mask.data(), want.data());
  ASSERT_EQ(got.forecast.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got.forecast[i], want[i], 1e-4 * (1 + std::abs(want[i])));
}

// A masked 1-window request and an unmasked 2-window one can hold the same bytes: the window
// count is part of the cache key, so the second is not answered with the first's forecast.
TEST(Engine, CacheKeyHoldsTheWindowCount) {
  Engine engine;
  ASSERT_TRUE(engine.LoadModel("m", 1, SmallModel(), {}).ok());
  ForecastRequest one = Request("a");
  one.mask.assign(12, 1.0f);
  one.mask.back() = 0.0f;
  ForecastRequest two = Request("a");
  two.windows = 2;
  two.insample.insert(two.insample.end(), 12, 1.0f);
  const ForecastResult first = engine.Predict(one), second = engine.Predict(two);
  ASSERT_TRUE(first.status.ok() && second.status.ok()) << second.status.ToString();
  EXPECT_FALSE(second.cache_hit);
  EXPECT_EQ(second.forecast.size(), 8u);  // 2 windows x h=4
}

// Conformity scores for another horizon would have intervals read past the forecast: refused at
// load, from memory and from a checkpoint's metadata alike (h = 0 is malformed metadata).
TEST(Engine, ConformalScoresForAnotherHorizonAreRefused) {
  Engine engine;
  auto scores = std::make_shared<ConformalScores>();
  scores->h = 8;
  scores->by_series["a"] = std::vector<float>(16, 1.0f);
  ModelOptions o;
  o.conformal = scores;
  const Status refused = engine.LoadModel("m", 1, SmallModel(), o);
  EXPECT_EQ(refused.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(refused.message().find("conformity scores are for h=8, the model forecasts h=4"), std::string::npos)
      << refused.message();
  scores->h = 4;
  scores->by_series["a"].resize(8);
  EXPECT_TRUE(engine.LoadModel("m", 1, SmallModel(), o).ok());
  const Result<ConformalScores> zero =
      ConformalFromJson(R"({"method":"conformal_error","n_windows":2,"step_size":1,"h":0,"scores":{}})", "x");
  ASSERT_FALSE(zero.ok());
  EXPECT_NE(zero.status().message().find("h must be >= 1"), std::string::npos) << zero.status().message();
  engine.Shutdown();
}

TEST(Engine, ForecastEqualsTheModelsOwn) {
  Engine engine;
  auto model = SmallModel();
  ASSERT_TRUE(engine.LoadModel("m", 1, model, {}).ok());
  EXPECT_TRUE(engine.Ready());
  ForecastRequest r = Request("a");
  std::vector<float> mask(12, 1.0f), want(4);
  model->PredictWindows(1, r.insample.data(), mask.data(), want.data());
  const ForecastResult got = engine.Predict(r);
  ASSERT_TRUE(got.status.ok()) << got.status.ToString();
  ASSERT_EQ(got.forecast.size(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(got.forecast[i], want[i], 1e-4 * (1 + std::abs(want[i])));
  EXPECT_EQ(got.series_id, "a");
  EXPECT_EQ(got.version, 1);
  EXPECT_FALSE(got.cache_hit);
}

TEST(Engine, StrictPriorityThenFifoWithinALevel) {
  Engine engine;
  Gate gate;
  ASSERT_TRUE(engine.LoadModel("m", 1, SmallModel(), GatedOptions(gate)).ok());
  auto first = engine.Submit(Request("hold"));
  gate.entered.get_future().wait();  // the worker is busy: everything below queues
  std::vector<std::future<ForecastResult>> f;
  f.push_back(engine.Submit(Request("p3-a", 1, 3)));
  f.push_back(engine.Submit(Request("p1-a", 2, 1)));
  f.push_back(engine.Submit(Request("p2-a", 3, 2)));
  f.push_back(engine.Submit(Request("p1-b", 4, 1)));
  f.push_back(engine.Submit(Request("p3-b", 5, 3)));
  gate.release.set_value();
  ASSERT_TRUE(first.get().status.ok());
  for (auto& x : f) ASSERT_TRUE(x.get().status.ok());
  const std::vector<std::string> want{"hold", "p1-a", "p1-b", "p2-a", "p3-a", "p3-b"};
  EXPECT_EQ(gate.order, want);
}

TEST(Engine, FullLevelRejectsAtOnceOtherLevelsStillAccept) {
  Engine engine;
  Gate gate;
  ModelOptions o = GatedOptions(gate);
  o.max_queue_size = 2;
  ASSERT_TRUE(engine.LoadModel("m", 1, SmallModel(), o).ok());
  auto first = engine.Submit(Request("hold"));
  gate.entered.get_future().wait();
  auto a = engine.Submit(Request("a")), b = engine.Submit(Request("b"));
  const ForecastResult c = engine.Submit(Request("c")).get();  // answered without waiting
  EXPECT_EQ(c.status.code(), Status::Code::kUnavailable);
  EXPECT_NE(c.status.message().find("queue full"), std::string::npos) << c.status.message();
  auto low = engine.Submit(Request("low", 1, 2));
  gate.release.set_value();
  EXPECT_TRUE(a.get().status.ok());
  EXPECT_TRUE(b.get().status.ok());
  EXPECT_TRUE(low.get().status.ok());
  first.get();
  EXPECT_EQ(engine.GetPerformanceStats().failures["queue_full"], 1u);
}

TEST(Engine, OverloadShedsLowerPrioritiesFirst) {
  Engine engine;
  std::atomic<int> batches{0};
  std::promise<void> entered, release;
  std::shared_future<void> released = release.get_future().share();
  ModelOptions o;
  o.max_batch_size = 1;
  o.max_queue_delay_us = 0;
  o.cache = false;
  o.shed_after_us = 1;  // any queued work is too much for priorities below 1
  o.on_batch = [&](const std::vector<std::string>&) {
    if (++batches == 2) {
      entered.set_value();
      released.wait();
    }
  };
  ASSERT_TRUE(engine.LoadModel("m", 1, SmallModel(), o).ok());
  ASSERT_TRUE(engine.Predict(Request("warm")).status.ok());  // the cost per window is now known
  auto hold = engine.Submit(Request("hold"));
  entered.get_future().wait();
  std::vector<std::future<ForecastResult>> high;
  for (int i = 0; i < 3; ++i) high.push_back(engine.Submit(Request("p1-" + std::to_string(i), 1, 1)));
  const ForecastResult low = engine.Submit(Request("p2", 2, 2)).get();
  EXPECT_EQ(low.status.code(), Status::Code::kUnavailable);
  EXPECT_NE(low.status.message().find("shed"), std::string::npos) << low.status.message();
  release.set_value();
  for (auto& f : high) EXPECT_TRUE(f.get().status.ok()) << "priority 1 is never shed";
  hold.get();
  EXPECT_EQ(engine.GetPerformanceStats().failures["shed"], 1u);
  EXPECT_TRUE(engine.Predict(Request("p2-later", 3, 2)).status.ok()) << "an empty queue sheds nothing";
}

TEST(Engine, RequestsPastTheirDeadlineAreNeverComputed) {
  Engine engine;
  Gate gate;
  ASSERT_TRUE(engine.LoadModel("m", 1, SmallModel(), GatedOptions(gate)).ok());
  ForecastRequest late = Request("late");
  late.deadline = std::chrono::steady_clock::now() - 1ms;
  EXPECT_EQ(engine.Predict(late).status.code(), Status::Code::kDeadlineExceeded);

  auto first = engine.Submit(Request("hold"));
  gate.entered.get_future().wait();
  ForecastRequest soon = Request("soon");
  soon.deadline = std::chrono::steady_clock::now() + 2ms;
  auto expiring = engine.Submit(soon);
  auto patient = engine.Submit(Request("patient"));
  std::this_thread::sleep_for(10ms);
  gate.release.set_value();
  EXPECT_EQ(expiring.get().status.code(), Status::Code::kDeadlineExceeded);
  EXPECT_TRUE(patient.get().status.ok());
  first.get();
  EXPECT_EQ(gate.order, (std::vector<std::string>{"hold", "patient"}));  // "soon" never ran
}

TEST(Engine, DynamicBatchingShipsFullAndPreferredBatches) {
  Engine engine;
  Gate gate;
  ModelOptions o = GatedOptions(gate, 8);
  ASSERT_TRUE(engine.LoadModel("m", 1, SmallModel(), o).ok());
  auto first = engine.Submit(Request("hold"));
  gate.entered.get_future().wait();
  std::vector<std::future<ForecastResult>> f;
  for (int i = 0; i < 11; ++i) f.push_back(engine.Submit(Request("r" + std::to_string(i), static_cast<float>(i))));
  gate.release.set_value();  // 11 waiting: a batch of 8 (the maximum), then 3
  first.get();
  std::vector<int> sizes;
  for (auto& x : f) {
    const ForecastResult r = x.get();
    ASSERT_TRUE(r.status.ok());
    sizes.push_back(r.batch_size);
  }
  EXPECT_EQ(std::count(sizes.begin(), sizes.end(), 8), 8);
  EXPECT_EQ(std::count(sizes.begin(), sizes.end(), 3), 3);

  // A preferred size ships at once instead of waiting out a long delay.
  Engine engine2;
  ModelOptions p;
  p.max_batch_size = 16;
  p.preferred_batch_sizes = {4};
  p.max_queue_delay_us = 5'000'000;
  p.cache = false;
  ASSERT_TRUE(engine2.LoadModel("m", 1, SmallModel(), p).ok());
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::future<ForecastResult>> g;
  for (int i = 0; i < 4; ++i) g.push_back(engine2.Submit(Request("q" + std::to_string(i), static_cast<float>(i))));
  for (auto& x : g) EXPECT_EQ(x.get().batch_size, 4);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
}

TEST(Engine, PriorityOneBatchesAreToppedUpOnlyToTheSmallBatchSize) {
  Engine engine;
  Gate gate;
  ModelOptions o = GatedOptions(gate, 16);
  o.priority_batch_size = 4;
  ASSERT_TRUE(engine.LoadModel("m", 1, SmallModel(), o).ok());
  auto first = engine.Submit(Request("hold"));
  gate.entered.get_future().wait();
  std::vector<std::future<ForecastResult>> low, top;
  for (int i = 0; i < 12; ++i) low.push_back(engine.Submit(Request("p3-" + std::to_string(i), static_cast<float>(i), 3)));
  top.push_back(engine.Submit(Request("p1-a", 50, 1)));
  top.push_back(engine.Submit(Request("p1-b", 51, 1)));
  gate.release.set_value();
  first.get();
  // The batch with the two level-1 requests takes only two level-3 ones (4 in all); the rest of
  // level 3 then fills a normal batch.
  for (auto& x : top) EXPECT_EQ(x.get().batch_size, 4);
  std::vector<int> sizes;
  for (auto& x : low) sizes.push_back(x.get().batch_size);
  EXPECT_EQ(std::count(sizes.begin(), sizes.end(), 4), 2);
  EXPECT_EQ(std::count(sizes.begin(), sizes.end(), 10), 10);
  const std::vector<std::string> want_head{"hold", "p1-a", "p1-b", "p3-0", "p3-1"};
  EXPECT_EQ(std::vector<std::string>(gate.order.begin(), gate.order.begin() + 5), want_head);
}

TEST(Engine, PriorityLaneAnswersLevelOneWhileEveryWorkerIsBusy) {
  Engine engine;
  Gate gate;
  ModelOptions o = GatedOptions(gate, 8);
  o.priority_lane = true;
  ASSERT_TRUE(engine.LoadModel("m", 1, SmallModel(), o).ok());
  auto first = engine.Submit(Request("hold", 10, 2));
  gate.entered.get_future().wait();  // the only regular worker is held
  auto low = engine.Submit(Request("low", 11, 3));
  auto top = engine.Submit(Request("top", 12, 1));
  // The lane answers level 1 while the worker is still held; level 3 waits for the worker.
  ASSERT_EQ(top.wait_for(5s), std::future_status::ready);
  const ForecastResult t = top.get();
  EXPECT_TRUE(t.status.ok());
  EXPECT_EQ(t.batch_size, 1);
  EXPECT_EQ(low.wait_for(50ms), std::future_status::timeout);
  gate.release.set_value();
  EXPECT_TRUE(low.get().status.ok());
  EXPECT_TRUE(first.get().status.ok());
  // The lane's forecast is the same as the regular worker's for the same window.
  const ForecastResult again = engine.Predict(Request("top", 12, 3));
  ASSERT_EQ(again.forecast.size(), t.forecast.size());
  for (std::size_t i = 0; i < t.forecast.size(); ++i) EXPECT_NEAR(again.forecast[i], t.forecast[i], 1e-5f);
}

// Whether this process may use SCHED_FIFO (root or CAP_SYS_NICE), tried on a scratch thread.
bool CanUseRealtimeScheduling() {
  bool ok = false;
  std::thread t([&] {
    sched_param sp{};
    sp.sched_priority = 1;
    ok = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) == 0;
  });
  t.join();
  return ok;
}

TEST(Engine, PriorityLaneRunsRealTimeWhenAllowedAndSaysSo) {
  std::mutex mu;
  std::map<std::string, int> policy_of;  // series id -> scheduling policy of the thread that ran it
  Gate gate;
  ModelOptions o = GatedOptions(gate, 8);
  o.on_batch = [&](const std::vector<std::string>& ids) {
    int policy = -1;
    sched_param sp{};
    pthread_getschedparam(pthread_self(), &policy, &sp);
    {
      std::lock_guard<std::mutex> lock(mu);
      for (const auto& id : ids) policy_of[id] = policy;
    }
    gate.OnBatch(ids);
  };
  o.priority_lane = true;
  o.lane_realtime_priority = 1;
  Engine engine;
  ASSERT_TRUE(engine.LoadModel("m", 1, SmallModel(), o).ok());
  const bool rt = CanUseRealtimeScheduling();
  const std::string lane = engine.Models().front().lane;
  if (rt) {
    EXPECT_EQ(lane.rfind("real-time (SCHED_FIFO 1, ", 0), 0u) << lane;
  } else {
    EXPECT_EQ(lane.rfind("normal (real-time scheduling refused", 0), 0u) << lane;
  }
  auto hold = engine.Submit(Request("hold", 10, 2));
  gate.entered.get_future().wait();  // the regular worker is held: level 1 goes to the lane
  auto low = engine.Submit(Request("low", 11, 3));
  ForecastResult top = engine.Submit(Request("top", 12, 1)).get();
  EXPECT_TRUE(top.status.ok());
  gate.release.set_value();
  EXPECT_TRUE(hold.get().status.ok());
  EXPECT_TRUE(low.get().status.ok());
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(policy_of.at("top"), rt ? SCHED_FIFO : SCHED_OTHER);
  EXPECT_EQ(policy_of.at("hold"), SCHED_OTHER);  // regular workers keep normal scheduling

  // Without the option the lane is scheduled normally; without a lane there is none to report.
  ModelOptions normal, none;
  none.priority_lane = false;
  Engine a, b;
  ASSERT_TRUE(a.LoadModel("m", 1, SmallModel(), normal).ok());
  ASSERT_TRUE(b.LoadModel("m", 1, SmallModel(), none).ok());
  EXPECT_EQ(a.Models().front().lane, "normal");
  EXPECT_EQ(b.Models().front().lane, "off");
}

TEST(Engine, SeveralWorkersGiveTheSameForecastsAsOne) {
  ModelOptions one, two;
  one.cache = two.cache = false;
  one.workers = 1;
  two.workers = 2;
  two.threads_per_worker = 1;  // lend_idle_cores: a lone worker uses every core
  Engine a, b;
  ASSERT_TRUE(a.LoadModel("m", 1, SmallModel(), one).ok());
  ASSERT_TRUE(b.LoadModel("m", 1, SmallModel(), two).ok());
  std::vector<std::future<ForecastResult>> fa, fb;
  for (int i = 0; i < 200; ++i) {
    fa.push_back(a.Submit(Request("s" + std::to_string(i), static_cast<float>(i))));
    fb.push_back(b.Submit(Request("s" + std::to_string(i), static_cast<float>(i))));
  }
  for (int i = 0; i < 200; ++i) {
    const ForecastResult x = fa[static_cast<std::size_t>(i)].get(), y = fb[static_cast<std::size_t>(i)].get();
    ASSERT_TRUE(x.status.ok() && y.status.ok());
    ASSERT_EQ(x.forecast.size(), y.forecast.size());
    for (std::size_t k = 0; k < x.forecast.size(); ++k) EXPECT_NEAR(x.forecast[k], y.forecast[k], 1e-4f * (1 + std::abs(x.forecast[k])));
  }
}

TEST(Engine, CacheAnswersRepeatsAndExpires) {
  EngineOptions eo;
  eo.cache.ttl = 400ms;  // long enough that a loaded machine cannot expire it between two calls
  Engine engine(eo);
  ASSERT_TRUE(engine.LoadModel("m", 1, SmallModel(), {}).ok());
  const ForecastResult a = engine.Predict(Request("x"));
  const ForecastResult b = engine.Predict(Request("x"));
  ASSERT_TRUE(a.status.ok() && b.status.ok());
  EXPECT_FALSE(a.cache_hit);
  EXPECT_TRUE(b.cache_hit);
  EXPECT_EQ(a.forecast, b.forecast);
  EXPECT_FALSE(engine.Predict(Request("x", 11)).cache_hit);  // different bytes
  std::this_thread::sleep_for(450ms);
  EXPECT_FALSE(engine.Predict(Request("x")).cache_hit);      // expired
  const PerformanceStats st = engine.GetPerformanceStats();
  EXPECT_EQ(st.cache_hits, 1u);
  EXPECT_GE(st.cache_expired, 1u);
}

serve::Hash128 ConstantHash(const void*, std::size_t) { return {42, 42}; }

TEST(ForecastCache, ForcedHashCollisionNeverReturnsAWrongForecast) {
  serve::ForecastCache cache(CacheOptions{}, ConstantHash);
  const std::vector<float> a{1, 2, 3}, b{1, 2, 4}, none;
  cache.Insert("m", 1, a, none, {10});
  std::vector<float> out;
  EXPECT_FALSE(cache.Lookup("m", 1, b, none, &out)) << "same hash, different bytes";
  cache.Insert("m", 1, b, none, {20});
  ASSERT_TRUE(cache.Lookup("m", 1, a, none, &out));
  EXPECT_EQ(out, std::vector<float>{10});
  ASSERT_TRUE(cache.Lookup("m", 1, b, none, &out));
  EXPECT_EQ(out, std::vector<float>{20});
  EXPECT_FALSE(cache.Lookup("m", 2, a, none, &out)) << "other version";
  EXPECT_FALSE(cache.Lookup("m", 1, a, std::vector<float>{1, 1, 1}, &out)) << "explicit mask is another input";
}

// A same-version reload gets a new instance generation: the old weights' answers must not hit,
// and erasing the old generation after its drain keeps the new one's.
TEST(ForecastCache, AnotherGenerationOfTheSameVersionNeverHits) {
  serve::ForecastCache cache(CacheOptions{}, serve::HashBytes);
  const std::vector<float> a{1, 2, 3}, none;
  std::vector<float> out;
  cache.Insert("m", 1, a, none, {10}, {}, /*generation=*/7);
  EXPECT_FALSE(cache.Lookup("m", 1, a, none, &out, {}, 8)) << "the replacing instance";
  cache.Insert("m", 1, a, none, {20}, {}, 8);
  ASSERT_TRUE(cache.Lookup("m", 1, a, none, &out, {}, 8));
  EXPECT_EQ(out, std::vector<float>{20});
  ASSERT_TRUE(cache.Lookup("m", 1, a, none, &out, {}, 7));
  EXPECT_EQ(out, std::vector<float>{10}) << "each generation keeps its own answer";
  cache.EraseModel("m", 1, 7);
  EXPECT_FALSE(cache.Lookup("m", 1, a, none, &out, {}, 7));
  EXPECT_TRUE(cache.Lookup("m", 1, a, none, &out, {}, 8)) << "only the old generation was erased";
  cache.EraseModel("m", 1);
  EXPECT_EQ(cache.stats().entries, 0u);
}

TEST(ForecastCache, EvictionKeepsTheBudgetAndPopularEntries) {
  const std::vector<float> none;
  auto key = [](int i) { return std::vector<float>(100, static_cast<float>(i)); };
  serve::ForecastCache probe(CacheOptions{}, serve::HashBytes);
  probe.Insert("m", 1, key(0), none, std::vector<float>(10));
  const std::size_t entry = probe.stats().bytes;
  CacheOptions o;
  o.max_bytes = entry * 4 + entry / 2;  // room for four
  serve::ForecastCache cache(o, serve::HashBytes);
  cache.Insert("m", 1, key(0), none, std::vector<float>(10, 7));
  std::vector<float> out;
  for (int i = 1; i <= 20; ++i) {
    for (int h = 0; h < 5; ++h) ASSERT_TRUE(cache.Lookup("m", 1, key(0), none, &out));  // stays popular
    cache.Insert("m", 1, key(i), none, std::vector<float>(10, static_cast<float>(i)));
    EXPECT_LE(cache.stats().bytes, o.max_bytes);
  }
  EXPECT_TRUE(cache.Lookup("m", 1, key(0), none, &out));
  EXPECT_EQ(out, std::vector<float>(10, 7));
  EXPECT_GE(cache.stats().evictions, 16u);
  EXPECT_TRUE(cache.Lookup("m", 1, key(20), none, &out)) << "the newest entry was just inserted";
}

TEST(Engine, HotReloadUnderLoadDropsNothing) {
  Engine engine;
  ModelOptions o;
  o.cache = false;
  o.max_batch_size = 16;
  ASSERT_TRUE(engine.LoadModel("m", 1, SmallModel(1), o).ok());
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::mutex mu;
  std::set<int> versions;
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t)
    clients.emplace_back([&, t] {
      for (int i = 0; !stop; ++i) {
        const ForecastResult r = engine.Predict(Request("c" + std::to_string(t), static_cast<float>(i % 50)));
        if (r.status.ok()) {
          ++ok;
          std::lock_guard<std::mutex> lock(mu);
          versions.insert(r.version);
        } else {
          ++failed;
          ADD_FAILURE() << r.status.ToString();
        }
      }
    });
  // Each change lands under load: it waits for 25 more answers (not a fixed time, which a loaded
  // machine can fill with none), up to 20 s.
  auto after_answers = [&](int n) {
    const auto give_up = std::chrono::steady_clock::now() + 20s;
    while (ok.load() < n && std::chrono::steady_clock::now() < give_up) std::this_thread::sleep_for(1ms);
  };
  after_answers(25);
  ASSERT_TRUE(engine.LoadModel("m", 2, SmallModel(2), o).ok());  // new version: new requests go there
  after_answers(50);
  ASSERT_TRUE(engine.LoadModel("m", 2, SmallModel(3), o).ok());  // same version reloaded in place
  after_answers(75);
  ASSERT_TRUE(engine.UnloadModel("m", 1).ok());
  after_answers(100);
  stop = true;
  for (auto& c : clients) c.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GE(ok.load(), 100) << "the clients stalled";
  EXPECT_TRUE(versions.count(1) && versions.count(2));
  EXPECT_EQ(engine.Models().size(), 1u);
}

// Shutdown and an unload drain the same instance at once (as `nhits serve` can when a stop
// arrives during a repository unload); both must return, and a load racing the shutdown must
// not leave an instance running on a shut-down engine.
TEST(Engine, ShutdownBesideAnUnloadOrALoadIsSafe) {
  for (int round = 0; round < 20; ++round) {
    Engine engine;
    ModelOptions o;
    o.workers = 2;
    ASSERT_TRUE(engine.LoadModel("m", 1, SmallModel(1), o).ok());
    std::thread unload([&] { (void)engine.UnloadModel("m", 1); });
    std::thread load([&] { (void)engine.LoadModel("n", 1, SmallModel(2), o); });
    engine.Shutdown();
    unload.join();
    load.join();
    EXPECT_EQ(engine.Predict(Request("a")).status.code(), Status::Code::kUnavailable);
    for (const ModelStatus& m : engine.Models())
      EXPECT_NE(m.state, "ready") << m.name << " still serving after Shutdown";
  }
}

// The same (model, version) reloaded keeps its totals: /metrics counters do not go back to 0
// under unchanged labels, and the statistics count what the version answered before the reload.
TEST(Engine, SameVersionReloadKeepsTheVersionsTotals) {
  Engine engine;
  ModelOptions o;
  o.cache = false;
  ASSERT_TRUE(engine.LoadModel("m", 1, SmallModel(1), o).ok());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(engine.Predict(Request("a", static_cast<float>(i))).status.ok());
  ForecastRequest bad = Request("a");
  bad.insample.pop_back();
  EXPECT_FALSE(engine.Predict(bad).status.ok());
  const ModelStatus before = *engine.FindModel("m", 1);
  ASSERT_TRUE(engine.LoadModel("m", 1, SmallModel(2), o).ok());
  ASSERT_TRUE(engine.Predict(Request("a", 9)).status.ok());
  const ModelStatus after = *engine.FindModel("m", 1);
  EXPECT_EQ(after.success, before.success + 1);
  EXPECT_GE(after.windows, before.windows + 1);
  EXPECT_EQ(after.failures, before.failures);
  EXPECT_GE(after.last_success_ms, before.last_success_ms);
}

TEST(Engine, BadRequestsGetClearErrors) {
  Engine engine;
  EXPECT_FALSE(engine.Ready());
  EXPECT_EQ(engine.Predict(Request("a")).status.code(), Status::Code::kNotFound);
  ASSERT_TRUE(engine.LoadModel("m", 1, SmallModel(), {}).ok());
  ForecastRequest r = Request("a");
  r.model = "nope";
  EXPECT_EQ(engine.Predict(r).status.code(), Status::Code::kNotFound);
  r = Request("a");
  r.version = 7;
  EXPECT_EQ(engine.Predict(r).status.code(), Status::Code::kNotFound);
  r = Request("a");
  r.insample.pop_back();
  const ForecastResult short_window = engine.Predict(r);
  EXPECT_EQ(short_window.status.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(short_window.status.message().find("input_size"), std::string::npos);
  r = Request("a");
  r.insample[3] = std::nanf("");
  EXPECT_NE(engine.Predict(r).status.message().find("not finite"), std::string::npos);
  r = Request("a");
  r.priority = 9;
  EXPECT_EQ(engine.Predict(r).status.code(), Status::Code::kInvalidArgument);
  r = Request("a");
  r.windows = 65;
  EXPECT_EQ(engine.Predict(r).status.code(), Status::Code::kInvalidArgument);
  r = Request("a");
  r.model = "";
  EXPECT_TRUE(engine.Predict(r).status.ok()) << "the only model is the default";
  EXPECT_FALSE(engine.LoadModel("m", 0, SmallModel(), {}).ok());
  EXPECT_FALSE(engine.LoadModel("m", 1, "/nonexistent.safetensors", {}).ok());
  EXPECT_TRUE(engine.ModelReady("m")) << "a failed load leaves the serving version alone";
  ModelOptions tpu;
  tpu.device = "tpu:0";
  const Status no_backend = engine.LoadModel("t", 1, SmallModel(), tpu);
  EXPECT_EQ(no_backend.code(), Status::Code::kUnavailable);
  EXPECT_NE(no_backend.message().find("no 'tpu' backend"), std::string::npos) << no_backend.message();
}

TEST(Engine, StatisticsAndPrometheusText) {
  EngineOptions eo;
  eo.alerts.cache_hit_rate_warning = 0.5;  // on: an unknown rate must not read as below it
  Engine engine(eo);
  ModelOptions o;
  o.cache = true;
  ASSERT_TRUE(engine.LoadModel("m", 1, SmallModel(), o).ok());
  // Before any lookup the hit rate is unknown (NaN, null in JSON), not a perfect 1.0, and no alert.
  const PerformanceStats fresh = engine.GetPerformanceStats();
  ASSERT_EQ(fresh.alerts.size(), 4u);
  EXPECT_EQ(fresh.alerts[3].name, "cache_hit_rate");
  EXPECT_TRUE(std::isnan(fresh.alerts[3].value));
  EXPECT_EQ(fresh.alerts[3].level, 0);
  EXPECT_NE(engine.PrometheusMetrics().find("nhits_alert_value{alert=\"cache_hit_rate\"} NaN\n"), std::string::npos);
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(engine.Predict(Request("s", static_cast<float>(i % 10))).status.ok());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(engine.Predict(Request("low", static_cast<float>(100 + i), 3)).status.ok());
  ForecastRequest bad = Request("bad");
  bad.priority = 0;
  engine.Predict(bad);
  const PerformanceStats st = engine.GetPerformanceStats();
  EXPECT_EQ(st.success, 35u);
  EXPECT_EQ(st.cache_hits, 20u);
  EXPECT_EQ(st.failures.at("invalid"), 1u);
  EXPECT_EQ(st.end_to_end_us.count, 35u);
  ASSERT_EQ(st.end_to_end_us_by_priority.size(), 2u);  // levels 1 and 3 answered
  EXPECT_EQ(st.end_to_end_us_by_priority.at(1).count, 30u);
  EXPECT_EQ(st.end_to_end_us_by_priority.at(3).count, 5u);
  EXPECT_LE(st.end_to_end_us.p50, st.end_to_end_us.p99);
  EXPECT_GT(st.memory_bytes, 0u);
  ASSERT_EQ(st.alerts.size(), 4u);
  EXPECT_EQ(st.alerts[1].name, "error_rate");
  EXPECT_EQ(st.alerts[1].value, 0.0) << "a client's invalid request is not a server error";
  // Triton's per-model statistics: the same cache lookups, and when it last answered.
  const ModelStatus m = *engine.FindModel("m", 0);
  EXPECT_EQ(m.cache_hits, 20u);
  EXPECT_EQ(m.cache_misses, 15u);
  EXPECT_GT(m.cache_hit_us, 0.0);
  EXPECT_GT(m.last_success_ms, 1'700'000'000'000);  // after 2023, in ms
  const std::string text = engine.PrometheusMetrics();
  for (const char* name : {"nhits_inference_request_success{model=\"m\",version=\"1\"} 35",
                           "nhits_request_duration_us_bucket{le=\"+Inf\"} 35",
                           "nhits_request_duration_by_priority_us_bucket{priority=\"3\",le=\"+Inf\"} 5",
                           "nhits_request_duration_by_priority_us_count{priority=\"1\"} 30", "nhits_cache_hits 20",
                           "nhits_alert_level{alert=\"error_rate\"}", "nhits_scaling_recommendation",
                           "nhits_inference_pending_request_count{model=\"m\",version=\"1\",priority=\"1\"} 0"})
    EXPECT_NE(text.find(name), std::string::npos) << name << "\n" << text;
  // A model name with a quote, a backslash and a newline is escaped, not left to break the scrape.
  ASSERT_TRUE(engine.LoadModel("we\"ird\\na\nme", 1, SmallModel(), o).ok());
  const std::string escaped = engine.PrometheusMetrics();
  EXPECT_NE(escaped.find(R"(nhits_inference_request_success{model="we\"ird\\na\nme",version="1"} 0)"), std::string::npos)
      << escaped;
  // Every sample line is `name{labels} value` (the exposition format Prometheus parses; label
  // values hold any character but backslash, quote and newline, which come escaped).
  const std::regex sample(
      R"(^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*"(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")*\})? (-?[0-9.e+-]+(Inf)?|NaN)$)");
  std::istringstream lines(escaped);
  std::string line;
  while (std::getline(lines, line))
    if (line.rfind("# ", 0) != 0) EXPECT_TRUE(std::regex_match(line, sample)) << line;
}

// The small model as a StudentT DistributionLoss model at levels 80 and 90.
std::shared_ptr<Model> StudentTModel(int seed) {
  NhitsConfig c = SmallModel()->config();
  c.loss = LossType::kDistributionLoss;
  c.distribution = DistributionType::kStudentT;
  c.level = {80, 90};
  auto model = std::make_shared<Model>(c);
  model->mutable_network().InitParams(seed);
  return model;
}

// A point-loss model refuses other levels and quantiles, naming DistributionLoss.
void ExpectAPointModelRefuses(const ForecastRequest& request, const ModelOptions& o) {
  Engine point_engine;
  ASSERT_TRUE(point_engine.LoadModel("m", 1, SmallModel(), o).ok());
  const ForecastResult refused = point_engine.Predict(request);
  EXPECT_EQ(refused.status.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(refused.status.message().find("DistributionLoss"), std::string::npos) << refused.status.message();
}

// A DistributionLoss model answers other levels from the same parameters: the columns of the
// model trained at those levels (its forward is the same), with the cache left out of it.
TEST(Engine, DistributionLevelsPerRequestEqualTheModelAtThoseLevels) {
  const std::shared_ptr<Model> model = StudentTModel(4);
  const NhitsConfig& c = model->config();
  NhitsConfig at = c;
  at.level = {50, 97.5};
  Model relevelled(at);
  relevelled.mutable_network().params() = model->network().params();

  Engine engine;
  ModelOptions o;
  o.cache = true;
  ASSERT_TRUE(engine.LoadModel("m", 1, model, o).ok());
  for (int pass = 0; pass < 2; ++pass) {  // the second pass would hit the cache if levels were cached
    ForecastRequest r = Request("s");
    r.levels = {97.5, 50, 97.5};  // sorted and de-duplicated, as neuralforecast's predict(level=...)
    const ForecastResult got = engine.Predict(r);
    ASSERT_TRUE(got.status.ok()) << got.status.ToString();
    EXPECT_FALSE(got.cache_hit);
    EXPECT_EQ(got.output_names, at.output_names());
    std::vector<float> mask(12, 1.0f), want(static_cast<std::size_t>(at.h) * at.outputs_per_step());
    relevelled.PredictWindows(1, r.insample.data(), mask.data(), want.data());
    ASSERT_EQ(got.forecast.size(), want.size());
    for (std::size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got.forecast[i], want[i], 1e-5f * (1 + std::abs(want[i])));
  }
  const ForecastResult own = engine.Predict(Request("s"));  // no levels: the trained columns
  EXPECT_EQ(own.output_names, c.output_names());
  {  // One batch of two requests of two windows: the levels request decodes windows 2 and 3.
    Engine batched;
    ModelOptions wait = o;
    wait.cache = false;
    wait.max_queue_delay_us = 200'000;  // both arrive well within it
    wait.max_batch_size = 4;
    ASSERT_TRUE(batched.LoadModel("m", 1, model, wait).ok());
    ForecastRequest plain = Request("p"), at_levels = Request("q", 20);
    for (ForecastRequest* r : {&plain, &at_levels}) {
      const std::vector<float> one = r->insample;
      for (float v : one) r->insample.push_back(v + 3);
      r->windows = 2;
    }
    at_levels.levels = {50, 97.5};
    std::future<ForecastResult> fp = batched.Submit(plain), fq = batched.Submit(at_levels);
    const ForecastResult rp = fp.get(), rq = fq.get();
    ASSERT_TRUE(rp.status.ok() && rq.status.ok()) << rp.status.ToString() << rq.status.ToString();
    EXPECT_EQ(rq.batch_size, 4) << "the two requests ran in one batch";
    std::vector<float> mask(24, 1.0f), want_p(2 * static_cast<std::size_t>(c.h) * c.outputs_per_step()),
        want_q(2 * static_cast<std::size_t>(at.h) * at.outputs_per_step());
    model->PredictWindows(2, plain.insample.data(), mask.data(), want_p.data());
    relevelled.PredictWindows(2, at_levels.insample.data(), mask.data(), want_q.data());
    ASSERT_EQ(rp.forecast.size(), want_p.size());
    ASSERT_EQ(rq.forecast.size(), want_q.size());
    for (std::size_t i = 0; i < want_p.size(); ++i) EXPECT_NEAR(rp.forecast[i], want_p[i], 1e-5f * (1 + std::abs(want_p[i])));
    for (std::size_t i = 0; i < want_q.size(); ++i) EXPECT_NEAR(rq.forecast[i], want_q[i], 1e-5f * (1 + std::abs(want_q[i])));
  }
  ForecastRequest bad = Request("s");
  bad.levels = {100};
  EXPECT_EQ(engine.Predict(bad).status.code(), Status::Code::kInvalidArgument);

  ForecastRequest point = Request("s");
  point.levels = {80};
  ExpectAPointModelRefuses(point, o);
}

// Any quantiles from the same parameters, as neuralforecast's predict(quantiles=...): the mean,
// then the quantiles sorted. The 0.05/0.1/0.5/0.9/0.95 ones must equal the trained -lo-90/-lo-80/
// -median/-hi-80/-hi-90 columns, which come through another route (the level's fitted Student-t
// quantile series, not StudentTQuantile).
TEST(Engine, DistributionQuantilesPerRequestMatchTheLevelColumns) {
  const std::shared_ptr<Model> model = StudentTModel(5);
  const NhitsConfig& c = model->config();
  Engine engine;
  ModelOptions o;
  o.cache = true;
  ASSERT_TRUE(engine.LoadModel("m", 1, model, o).ok());
  const std::vector<std::string> trained = c.output_names();  // "", -median, -lo-90, -lo-80, -hi-80, -hi-90
  ASSERT_EQ(trained, (std::vector<std::string>{"", "-median", "-lo-90", "-lo-80", "-hi-80", "-hi-90"}));
  const ForecastResult own = engine.Predict(Request("s"));
  ASSERT_TRUE(own.status.ok()) << own.status.ToString();
  for (int pass = 0; pass < 2; ++pass) {  // the second pass would hit the cache if quantiles were cached
    ForecastRequest r = Request("s");
    r.quantiles = {0.95, 0.05, 0.5, 0.1, 0.9, 0.05};
    const ForecastResult got = engine.Predict(r);
    ASSERT_TRUE(got.status.ok()) << got.status.ToString();
    EXPECT_FALSE(got.cache_hit);
    ASSERT_EQ(got.output_names, (std::vector<std::string>{"", "_ql0.05", "_ql0.1", "_ql0.5", "_ql0.9", "_ql0.95"}));
    const int want_column[] = {0, 2, 3, 1, 4, 5};  // the trained column each answer column equals
    ASSERT_EQ(got.forecast.size(), static_cast<std::size_t>(c.h) * 6);
    for (int t = 0; t < c.h; ++t)
      for (int k = 0; k < 6; ++k) {
        const float want = own.forecast[static_cast<std::size_t>(t) * 6 + want_column[k]];
        EXPECT_NEAR(got.forecast[static_cast<std::size_t>(t) * 6 + k], want, 1e-4f * (1 + std::abs(want)))
            << "step " << t << " column " << got.output_names[k];
      }
  }
  ForecastRequest both = Request("s");
  both.quantiles = {0.5};
  both.levels = {80};
  EXPECT_EQ(engine.Predict(both).status.code(), Status::Code::kInvalidArgument);
  ForecastRequest outside = Request("s");
  outside.quantiles = {1.0};
  EXPECT_EQ(engine.Predict(outside).status.code(), Status::Code::kInvalidArgument);
  ForecastRequest point = Request("s");
  point.quantiles = {0.9};
  ExpectAPointModelRefuses(point, o);
}

// The p95 is cumulative: after a slow spell an idle server still shows it above the threshold,
// and more workers would change nothing, so the scaling signal must not say "up".
TEST(Engine, NoScaleUpWhileIdleOnAnOldLatencyAlert) {
  EngineOptions eo;
  eo.alerts.p95_latency_us_warning = 1e-3;  // every request is "slow"
  eo.alerts.p95_latency_us_critical = 1e-3;
  Engine engine(eo);
  ModelOptions o;
  o.cache = false;
  ASSERT_TRUE(engine.LoadModel("m", 1, SmallModel(), o).ok());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(engine.Predict(Request("s", static_cast<float>(i))).status.ok());
  (void)engine.GetPerformanceStats();  // the busy interval
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const PerformanceStats idle = engine.GetPerformanceStats();
  EXPECT_GT(idle.alerts[0].level, 0);
  EXPECT_LT(idle.utilisation, 0.5);
  EXPECT_NE(idle.scaling, 1) << idle.scaling_reason;
}

TEST(Engine, ShutdownAnswersEverythingItAccepted) {
  Engine engine;
  ModelOptions o;
  o.cache = false;
  o.max_batch_size = 4;
  ASSERT_TRUE(engine.LoadModel("m", 1, SmallModel(), o).ok());
  std::vector<std::future<ForecastResult>> f;
  for (int i = 0; i < 200; ++i) f.push_back(engine.Submit(Request("s", static_cast<float>(i))));
  engine.Shutdown();
  for (auto& x : f) EXPECT_TRUE(x.get().status.ok());
  EXPECT_EQ(engine.Predict(Request("after")).status.code(), Status::Code::kUnavailable);
  EXPECT_FALSE(engine.Live());
}

TEST(LatencyHistogram, PercentilesWithinBucketResolution) {
  serve::LatencyHistogram h;
  for (int i = 1; i <= 10000; ++i) h.Record(static_cast<double>(i));  // uniform 1..10000 us
  const Percentiles p = h.Snapshot();
  EXPECT_EQ(p.count, 10000u);
  EXPECT_NEAR(p.p50, 5000, 5000 * 0.06);
  EXPECT_NEAR(p.p99, 9900, 9900 * 0.06);
  EXPECT_NEAR(p.p999, 9990, 9990 * 0.06);
  EXPECT_EQ(p.max, 10000);
  EXPECT_NEAR(p.mean, 5000.5, 1e-6);
}

}  // namespace
}  // namespace nhits
