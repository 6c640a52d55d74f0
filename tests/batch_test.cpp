// The multi-asset batch processor: universe files, routing, correlation grouping (a synthetic
// set with known clusters), retries, graceful degradation, and that the analytics add up.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <limits>
#include <random>
#include <set>
#include <thread>

#include "nhits/batch.h"
#include "nhits/forecast.h"
#include "nhits/local_scaler.h"
#include "nhits/model.h"

namespace nhits {
namespace {

std::string WriteTemp(const std::string& name, const std::string& text) {
  const std::string path = testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

// As pandas writes it with quoting=QUOTE_ALL on Windows: quoted fields and CRLF line ends.
TEST(Universe, ReadsQuotedCrlfCsv) {
  auto u = ReadUniverse(WriteTemp("uq.csv", "\"unique_id\",\"asset_class\"\r\n\"AAPL\",\"equity\"\r\n\"Acme, Inc.\",\"equity\"\r\n"));
  ASSERT_TRUE(u.ok()) << u.status().message();
  ASSERT_EQ(u->assets.size(), 2u);
  EXPECT_EQ(u->assets[1].unique_id, "Acme, Inc.");
  EXPECT_EQ(u->assets[1].asset_class, "equity");
}

TEST(Universe, ReadsCsvAndJsonAndRejectsBadFiles) {
  auto csv = ReadUniverse(WriteTemp("u.csv", "unique_id,asset_class,sector\nAAPL,equity,tech\nEURUSD,fx,\n"));
  ASSERT_TRUE(csv.ok()) << csv.status().message();
  ASSERT_EQ(csv->assets.size(), 2u);
  EXPECT_EQ(csv->assets[0].attributes.at("sector"), "tech");
  EXPECT_EQ(csv->assets[1].asset_class, "fx");
  auto js = ReadUniverse(WriteTemp("u.json", R"([{"unique_id": "BTC", "asset_class": "crypto", "venue": "x"}])"));
  ASSERT_TRUE(js.ok()) << js.status().message();
  EXPECT_EQ(js->assets[0].attributes.at("venue"), "x");
  auto no_class = ReadUniverse(WriteTemp("bad1.csv", "unique_id,kind\nA,b\n"));
  ASSERT_FALSE(no_class.ok());
  EXPECT_NE(no_class.status().message().find("bad1.csv:1"), std::string::npos) << no_class.status().message();
  auto dup = ReadUniverse(WriteTemp("bad2.csv", "unique_id,asset_class\nA,x\nA,y\n"));
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.status().message().find("listed twice"), std::string::npos);
  auto empty_class = ReadUniverse(WriteTemp("bad3.csv", "unique_id,asset_class\nA,\n"));
  ASSERT_FALSE(empty_class.ok());
  EXPECT_NE(empty_class.status().message().find("bad3.csv:2: field 'asset_class'"), std::string::npos)
      << empty_class.status().message();
  EXPECT_FALSE(ReadUniverse(WriteTemp("bad4.json", R"([{"unique_id": "A"}])")).ok());
}

TEST(Router, IdGlobsBeforeClassesThenTheDefault) {
  Router r({{"equity", true, "eq", 0}, {"BRK.*", false, "special", 2}}, "fallback");
  EXPECT_EQ(r.Route({"AAPL", "equity", {}})->first, "eq");
  const auto brk = r.Route({"BRK.B", "equity", {}});
  EXPECT_EQ(brk->first, "special");
  EXPECT_EQ(brk->second, 2);
  EXPECT_EQ(r.Route({"EURUSD", "fx", {}})->first, "fallback");
  Router strict({{"equity", true, "eq", 0}});
  const auto none = strict.Route({"EURUSD", "fx", {}});
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("EURUSD"), std::string::npos);
}

TEST(Clustering, RecoversKnownCorrelationClusters) {
  // Three factors, eight assets each (interleaved), returns = factor + 30% idiosyncratic noise.
  std::mt19937 rng(4);
  std::normal_distribution<double> nd(0, 1);
  const int T = 250, K = 3, per = 8;
  std::vector<std::vector<double>> factor(K, std::vector<double>(T));
  for (auto& f : factor)
    for (double& v : f) v = nd(rng);
  std::vector<std::vector<double>> returns;
  std::vector<int> truth;
  for (int i = 0; i < K * per; ++i) {
    std::vector<double> r(T);
    for (int t = 0; t < T; ++t) r[t] = factor[i % K][t] + 0.3 * nd(rng);
    returns.push_back(r);
    truth.push_back(i % K);
  }
  for (Linkage l : {Linkage::kAverage, Linkage::kComplete, Linkage::kSingle}) {
    const std::vector<int> by_threshold = ClusterByCorrelation(returns, l, 0.5);
    const std::vector<int> by_count = ClusterByCorrelation(returns, l, 0, 3);
    for (const auto* labels : {&by_threshold, &by_count}) {
      // Same partition as the truth: pairs agree on "same cluster or not".
      for (int i = 0; i < K * per; ++i)
        for (int j = 0; j < K * per; ++j)
          ASSERT_EQ((*labels)[i] == (*labels)[j], truth[i] == truth[j]) << "assets " << i << ", " << j;
    }
    EXPECT_EQ(by_threshold, ClusterByCorrelation(returns, l, 0.5)) << "deterministic";
    EXPECT_EQ(by_threshold[0], 0) << "labels in order of first member";
  }
  // A threshold below every distance leaves each asset alone.
  const auto alone = ClusterByCorrelation(returns, Linkage::kAverage, 0.0);
  EXPECT_EQ(std::set<int>(alone.begin(), alone.end()).size(), returns.size());
}

// A gap in one asset's history (a NaN return) must not turn every distance into NaN: the
// clusters by count stay the true ones, and no cluster is merged with itself.
TEST(Clustering, AGapInTheReturnsKeepsTheClusters) {
  std::mt19937 rng(5);
  std::normal_distribution<double> nd(0, 1);
  const int T = 200;
  std::vector<std::vector<double>> factor(2, std::vector<double>(T));
  for (auto& f : factor)
    for (double& v : f) v = nd(rng);
  std::vector<std::vector<double>> returns;
  for (int i = 0; i < 8; ++i) {
    std::vector<double> r(T);
    for (int t = 0; t < T; ++t) r[t] = factor[i % 2][t] + 0.3 * nd(rng);
    returns.push_back(r);
  }
  returns[3][17] = std::nan("");
  returns[6][0] = std::numeric_limits<double>::infinity();
  for (Linkage l : {Linkage::kAverage, Linkage::kComplete, Linkage::kSingle}) {
    const std::vector<int> labels = ClusterByCorrelation(returns, l, 0, 2);
    for (int i = 0; i < 8; ++i)
      for (int j = 0; j < 8; ++j) ASSERT_EQ(labels[i] == labels[j], i % 2 == j % 2) << "assets " << i << ", " << j;
  }
  // Every return missing: nothing to compare, each asset alone, and no endless loop.
  const std::vector<std::vector<double>> blank(3, std::vector<double>(5, std::nan("")));
  EXPECT_EQ(ClusterByCorrelation(blank, Linkage::kAverage, 0.5).size(), 3u);
}

TEST(Retry, RetriesOnlyWhatWaitingCanFix) {
  int calls = 0, attempts = 0;
  auto flaky = [&] {
    ForecastResult r;
    if (++calls < 3) r.status = Status::Unavailable("queue full");
    return r;
  };
  EXPECT_TRUE(SubmitWithRetry(flaky, 5, std::chrono::microseconds(10), &attempts).status.ok());
  EXPECT_EQ(attempts, 3);
  calls = 0;
  auto invalid = [&] {
    ++calls;
    ForecastResult r;
    r.status = Status::InvalidArgument("bad window");
    return r;
  };
  EXPECT_FALSE(SubmitWithRetry(invalid, 5, std::chrono::microseconds(10), &attempts).status.ok());
  EXPECT_EQ(attempts, 1);
  auto never = [] {
    ForecastResult r;
    r.status = Status::DeadlineExceeded("late");
    return r;
  };
  EXPECT_FALSE(SubmitWithRetry(never, 3, std::chrono::microseconds(10), &attempts).status.ok());
  EXPECT_EQ(attempts, 3);
}

TEST(LenientCsv, BadValuesBecomeNaNStructureStillFails) {
  auto p = ReadLongCsvLenient(WriteTemp("l.csv", "unique_id,ds,y\nA,1,1.5\nA,2,NaN\nA,3,\nA,4,abc\nA,5,inf\nB,1,2\n"));
  ASSERT_TRUE(p.ok()) << p.status().message();
  ASSERT_EQ(p->series[0].y.size(), 5u);
  EXPECT_EQ(p->series[0].y[0], 1.5);
  for (int i = 1; i < 5; ++i) EXPECT_TRUE(std::isnan(p->series[0].y[i])) << i;
  EXPECT_FALSE(ReadLongCsvLenient(WriteTemp("l2.csv", "unique_id,ds,y\nA,2,1\nA,1,1\nA,2,3\n")).ok()) << "duplicate ds";
  EXPECT_FALSE(ReadLongCsv(WriteTemp("l3.csv", "unique_id,ds,y\nA,1,NaN\n")).ok()) << "the strict reader still refuses";
}

std::shared_ptr<const Model> SmallModel(int h = 3) {
  NhitsConfig c;
  c.h = h;
  c.input_size = 10;
  c.mlp_units = {{16, 16}};
  c.scaler_type = ScalerType::kStandard;
  auto m = std::make_shared<Model>(c);
  m->mutable_network().InitParams(3);
  return m;
}

TEST(BatchProcessor, DegradesBadSeriesAndTheRestRunsAndAddsUp) {
  Engine engine;
  ModelOptions o;
  o.max_batch_size = 7;  // several batches per group
  o.cache = false;
  auto model = SmallModel();
  ASSERT_TRUE(engine.LoadModel("eq", 1, model, o).ok());
  ASSERT_TRUE(engine.LoadModel("fx", 1, model, o).ok());
  Panel data;
  data.time_kind = TimeKind::kInteger;
  Universe u;
  std::mt19937 rng(1);
  std::normal_distribution<double> nd(0, 1);
  for (int i = 0; i < 30; ++i) {
    Series s;
    s.unique_id = "S" + std::to_string(i);
    double level = 100 + i;
    for (int t = 0; t < 40; ++t) s.ds.push_back({t}), s.y.push_back(level += nd(rng));
    data.series.push_back(s);
    u.assets.push_back({s.unique_id, i % 3 == 0 ? "fx" : "equity", {}});
  }
  data.series[4].y[37] = std::nan("");          // NaN inside the input window
  data.series[5].y.resize(3), data.series[5].ds.resize(3);  // too short (< input_size / 2)
  data.series[5].ds = {{37}, {38}, {39}};
  data.series[7].y.resize(30), data.series[7].ds.resize(30);  // stale: 10 bars behind
  u.assets.push_back({"GHOST", "equity", {}});   // no data at all
  u.assets.push_back({"ODD", "crypto", {}});      // routed to a model that is not loaded
  Series odd;
  odd.unique_id = "ODD";
  for (int t = 0; t < 40; ++t) odd.ds.push_back({t}), odd.y.push_back(50);
  data.series.push_back(odd);

  Router router({{"equity", true, "eq", 0}, {"fx", true, "fx", 0}, {"crypto", true, "missing", 0}});
  BatchOptions bo;
  bo.season_length = 5;
  BatchProcessor p(engine, router, bo);
  auto run = p.Run(u, data);
  ASSERT_TRUE(run.ok()) << run.status().message();
  ASSERT_EQ(run->forecasts.size(), 32u);
  std::map<std::string, const AssetForecast*> by_id;
  for (const auto& f : run->forecasts) by_id[f.unique_id] = &f;
  EXPECT_EQ(by_id["S4"]->status, "degraded");
  EXPECT_NE(by_id["S4"]->reason.find("non-finite"), std::string::npos) << by_id["S4"]->reason;
  EXPECT_EQ(by_id["S5"]->status, "degraded");
  EXPECT_NE(by_id["S5"]->reason.find("too short"), std::string::npos);
  EXPECT_EQ(by_id["S5"]->source, "naive") << "3 points: not enough for a season of 5";
  EXPECT_EQ(by_id["S7"]->status, "degraded");
  EXPECT_NE(by_id["S7"]->reason.find("stale"), std::string::npos);
  EXPECT_EQ(by_id["S7"]->source, "seasonal_naive");
  EXPECT_EQ(by_id["GHOST"]->status, "failed");
  EXPECT_EQ(by_id["ODD"]->status, "degraded");
  EXPECT_NE(by_id["ODD"]->reason.find("missing"), std::string::npos);
  EXPECT_EQ(by_id["ODD"]->forecast, std::vector<float>(3, 50.0f));
  // Degraded baselines: Naive repeats the last finite value; SeasonalNaive the last season.
  const Series& s7 = data.series[7];
  for (int j = 0; j < 3; ++j)
    EXPECT_FLOAT_EQ(by_id["S7"]->forecast[j], static_cast<float>(s7.y[s7.y.size() - 5 + j]));
  // Everything else forecast by its model, equal to the model's own answer.
  int ok = 0;
  for (const auto& f : run->forecasts) {
    if (f.status != "ok") continue;
    ++ok;
    const Series* s = nullptr;
    for (const auto& x : data.series)
      if (x.unique_id == f.unique_id) s = &x;
    std::vector<float> x(s->y.end() - 10, s->y.end()), m(10, 1.0f), want(3);
    model->PredictWindows(1, x.data(), m.data(), want.data());
    for (int j = 0; j < 3; ++j) ASSERT_NEAR(f.forecast[j], want[j], 1e-3 * (1 + std::abs(want[j]))) << f.unique_id;
    EXPECT_EQ(f.source, f.model + "@1");
  }
  EXPECT_EQ(ok, 27);
  // The analytics add up: classes and groups to the total, statuses to the assets.
  const GroupStats& t = run->total;
  EXPECT_EQ(t.assets, 32);
  EXPECT_EQ(t.ok + t.degraded + t.failed, t.assets);
  EXPECT_EQ(t.ok, 27);
  EXPECT_EQ(t.degraded, 4);
  EXPECT_EQ(t.failed, 1);
  int class_assets = 0, class_ok = 0, group_ok = 0, batches = 0;
  for (const auto& c : run->classes) class_assets += c.assets, class_ok += c.ok;
  for (const auto& g : run->groups) group_ok += g.ok, batches += g.batches;
  EXPECT_EQ(class_assets, t.assets);
  EXPECT_EQ(class_ok, t.ok);
  EXPECT_EQ(group_ok, t.ok);
  EXPECT_EQ(batches, 3 + 2) << "equity: 17 good assets in batches of 7, fx: 10";
  // Actuals: the next 3 points equal to the last value give MAE = mean |forecast - last|.
  Panel actuals = data;
  for (auto& s : actuals.series)
    for (int j = 0; j < 3; ++j) s.ds.push_back({s.ds.back().value + 1}), s.y.push_back(s.y.back());
  BatchRun scored = *run;
  ScoreAgainstActuals(actuals, &scored);
  EXPECT_GT(scored.total.scored, 20);
  EXPECT_GT(scored.total.mae, 0);
}

// An asset of `points` integer-stamped values y(t), in the panel and the universe.
template <typename F>
void AddAsset(Panel& data, Universe& u, const std::string& id, const std::string& asset_class, int points, F y) {
  Series s;
  s.unique_id = id;
  for (int t = 0; t < points; ++t) s.ds.push_back({t}), s.y.push_back(y(t));
  data.series.push_back(s);
  u.assets.push_back({id, asset_class, {}});
}

// Missing points (an available_mask 0) are gaps the model masks, as `nhits predict` does, not
// bad data: the asset is forecast with them masked; a tail of missing points makes it stale by
// its last observed point; a missing truth is not scored.
TEST(BatchProcessor, MissingPointsAreMaskedNotDegraded) {
  Engine engine;
  ModelOptions o;
  o.cache = false;
  auto model = SmallModel();
  ASSERT_TRUE(engine.LoadModel("eq", 1, model, o).ok());
  Panel data;
  data.time_kind = TimeKind::kInteger;
  Universe u;
  for (const char* id : {"GAP", "TAIL", "FULL"}) AddAsset(data, u, id, "equity", 40, [](int t) { return 100 + std::sin(t); });
  data.series[0].available.assign(40, 1);
  data.series[0].available[35] = 0;  // inside the input window (the last 10)
  data.series[0].y[35] = data.series[0].y[34];  // the reader's fill
  data.series[1].available.assign(40, 1);
  for (int t = 36; t < 40; ++t) data.series[1].available[static_cast<std::size_t>(t)] = 0;  // 4 bars of no data
  BatchOptions bo;
  bo.season_length = 5;
  bo.max_staleness = 3;
  BatchProcessor p(engine, Router({}, "eq"), bo);
  auto run = p.Run(u, data);
  ASSERT_TRUE(run.ok()) << run.status().message();
  std::map<std::string, const AssetForecast*> by_id;
  for (const auto& f : run->forecasts) by_id[f.unique_id] = &f;
  ASSERT_EQ(by_id["GAP"]->status, "ok") << by_id["GAP"]->reason;
  const Series& gap = data.series[0];
  std::vector<float> x(gap.y.end() - 10, gap.y.end()), m(10, 1.0f), want(3);
  m[5] = 0.0f;  // point 35 of 40
  model->PredictWindows(1, x.data(), m.data(), want.data());
  for (int j = 0; j < 3; ++j) EXPECT_NEAR(by_id["GAP"]->forecast[static_cast<std::size_t>(j)], want[static_cast<std::size_t>(j)], 1e-4);
  std::vector<float> unmasked(3);
  m[5] = 1.0f;
  model->PredictWindows(1, x.data(), m.data(), unmasked.data());
  EXPECT_NE(want, unmasked) << "the mask reached the model";
  EXPECT_EQ(by_id["TAIL"]->status, "degraded");
  EXPECT_NE(by_id["TAIL"]->reason.find("stale: last observed point 35"), std::string::npos) << by_id["TAIL"]->reason;
  // Its SeasonalNaive(5) keeps each step's phase: step 40 reads 35, steps 41 and 42 (phases of the
  // missing 36 and 37) a season further back, 31 and 32.
  const Series& tail = data.series[1];
  EXPECT_EQ(by_id["TAIL"]->source, "seasonal_naive");
  EXPECT_EQ(by_id["TAIL"]->forecast, (std::vector<float>{static_cast<float>(tail.y[35]), static_cast<float>(tail.y[31]),
                                                          static_cast<float>(tail.y[32])}));
  EXPECT_EQ(by_id["FULL"]->status, "ok");
  // Actuals whose first step for FULL is missing, its placeholder absurd: it must not count.
  Panel actuals = data;
  for (auto& s : actuals.series) {
    if (s.available.empty()) s.available.assign(s.y.size(), 1);
    for (int j = 0; j < 3; ++j) {
      const bool hole = j == 0 && s.unique_id == "FULL";
      s.ds.push_back({40 + j}), s.y.push_back(hole ? 1e6 : 100), s.available.push_back(hole ? 0 : 1);
    }
  }
  BatchRun scored = *run;
  ScoreAgainstActuals(actuals, &scored);
  EXPECT_EQ(scored.total.scored, 3);
  EXPECT_LT(scored.total.mae, 100) << "the missing truth of 1e6 was scored";
}

// Two models with different horizons in one run: the report's h is the longest, and scoring
// reads each asset's own forecast length (the shorter one must not be read past its end).
TEST(BatchProcessor, ScoresAssetsOfModelsWithDifferentHorizons) {
  Engine engine;
  ASSERT_TRUE(engine.LoadModel("short", 1, SmallModel(3), {}).ok());
  ASSERT_TRUE(engine.LoadModel("long", 1, SmallModel(8), {}).ok());
  Panel data;
  data.time_kind = TimeKind::kInteger;
  Universe u;
  for (int i = 0; i < 4; ++i)
    AddAsset(data, u, "A" + std::to_string(i), i < 2 ? "fx" : "equity", 30, [i](int t) { return 10 + i + 0.1 * t; });
  BatchProcessor p(engine, Router({{"fx", true, "short", 0}, {"equity", true, "long", 0}}), {});
  auto run = p.Run(u, data);
  ASSERT_TRUE(run.ok()) << run.status().message();
  EXPECT_EQ(run->h, 8);
  EXPECT_EQ(run->forecasts[0].forecast.size(), 3u);
  EXPECT_EQ(run->forecasts[3].forecast.size(), 8u);
  Panel actuals = data;
  for (auto& s : actuals.series)
    for (int j = 0; j < 8; ++j) s.ds.push_back({s.ds.back().value + 1}), s.y.push_back(1000.0);
  BatchRun scored = *run;
  ScoreAgainstActuals(actuals, &scored);
  EXPECT_EQ(scored.total.scored, 4);
  // The MAE over the forecast points alone: each |forecast - 1000| counted once.
  double sum = 0;
  int n = 0;
  for (const auto& f : run->forecasts)
    for (float v : f.forecast) sum += std::abs(v - 1000.0), ++n;
  EXPECT_EQ(n, 2 * 3 + 2 * 8);
  EXPECT_NEAR(scored.total.mae, sum / n, 1e-9 * sum);
}

// An engine that cannot keep up (a queue of 1 request per level, one window per batch) and no
// retries allowed (max_attempts 1): refused chunks degrade to a baseline at once, without one
// more request per asset (that would only add load), and every forecast asset is counted in its
// group, degraded ones included.
TEST(BatchProcessor, AnOverloadedEngineDegradesWithoutPerAssetRetries) {
  Engine engine;
  ModelOptions o;
  o.max_batch_size = 1;
  o.max_queue_size = 1;
  o.cache = false;
  // Each batch holds the worker 5 ms: a burst of submissions (microseconds apart) outruns it
  // however the machine schedules the threads.
  o.on_batch = [](const std::vector<std::string>&) { std::this_thread::sleep_for(std::chrono::milliseconds(5)); };
  NhitsConfig c;
  c.h = 3;
  c.input_size = 10;
  c.mlp_units = {{16, 16}};
  auto slow = std::make_shared<Model>(c);
  slow->mutable_network().InitParams(3);
  ASSERT_TRUE(engine.LoadModel("eq", 1, slow, o).ok());
  Panel data;
  data.time_kind = TimeKind::kInteger;
  Universe u;
  for (int i = 0; i < 40; ++i)
    AddAsset(data, u, "A" + std::to_string(i), "equity", 30, [i](int t) { return 10 + i + std::sin(t); });
  BatchOptions bo;
  bo.max_attempts = 1;  // no retry: a refused chunk degrades at once
  bo.season_length = 5;
  BatchProcessor p(engine, Router({}, "eq"), bo);
  auto run = p.Run(u, data);
  ASSERT_TRUE(run.ok()) << run.status().message();
  int degraded = 0;
  for (const auto& f : run->forecasts) {
    EXPECT_TRUE(f.status == "ok" || f.status == "degraded") << f.unique_id << " " << f.status;
    EXPECT_GE(f.attempts, 1);
    EXPECT_LE(f.attempts, bo.max_attempts) << f.unique_id << ": " << f.reason;
    if (f.status == "degraded") {
      ++degraded;
      EXPECT_NE(f.reason.find("attempts"), std::string::npos) << f.reason;
      EXPECT_EQ(f.source, "seasonal_naive");
    }
  }
  EXPECT_GT(degraded, 0) << "a burst of 40 into a queue of 1 refuses most of them";
  int in_groups = 0, group_degraded = 0;
  for (const auto& g : run->groups) in_groups += g.assets, group_degraded += g.degraded;
  EXPECT_EQ(in_groups, 40);
  EXPECT_EQ(group_degraded, degraded);
  EXPECT_EQ(run->total.degraded, degraded);
}

// A checkpoint with NeuralForecast's local_scaler_type: the engine refuses it for serving, takes
// it when the caller scales the series; the batch processor then forecasts each asset as
// `nhits predict` does (whole-history statistics in, every column scaled back), and degrades an
// asset whose history has a gap (its statistics would be NaN).
TEST(BatchProcessor, LocalScalerModelsSeeEachSeriesScaledOverItsHistory) {
  NhitsConfig c;
  c.h = 3;
  c.input_size = 10;
  c.mlp_units = {{16, 16}};
  c.scaler_type = ScalerType::kStandard;
  c.loss = LossType::kMQLoss;
  c.level = {80};
  c.local_scaler_type = LocalScalerType::kRobustIqr;
  Model model(c);
  model.mutable_network().InitParams(7);
  const std::string path = testing::TempDir() + "/local_batch.safetensors";
  ASSERT_TRUE(SaveCheckpoint(path, model).ok());
  Engine engine;
  ModelOptions o;
  o.cache = false;
  const Status refused = engine.LoadModel("serve", 1, path, o);
  EXPECT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("local_scaler_type=robust-iqr"), std::string::npos) << refused.message();
  o.caller_scales_series = true;
  ASSERT_TRUE(engine.LoadModel("eq", 1, path, o).ok());
  // A caller that scaled for another setting (a hot reload in between) is told to retry.
  ForecastRequest stale;
  stale.model = "eq";
  stale.insample.assign(10, 1.0f);
  stale.expect_local_scaler = LocalScalerType::kNone;
  const ForecastResult retry = engine.Predict(stale);
  EXPECT_EQ(retry.status.code(), Status::Code::kUnavailable) << retry.status.ToString();
  EXPECT_NE(retry.status.message().find("reloaded with local_scaler_type=robust-iqr"), std::string::npos);
  stale.expect_local_scaler = LocalScalerType::kRobustIqr;
  EXPECT_TRUE(engine.Predict(stale).status.ok());

  Panel data;
  Universe u;
  std::mt19937 rng(5);
  std::normal_distribution<double> nd(0, 1);
  for (int i = 0; i < 4; ++i) {
    Series s;
    s.unique_id = "L" + std::to_string(i);
    double level = 50 + 40 * i;
    for (int t = 0; t < 30 + 5 * i; ++t) s.ds.push_back({t + 20 - 5 * i}), s.y.push_back(level += (1 + i) * nd(rng));
    data.series.push_back(s);
    u.assets.push_back({s.unique_id, "equity", {}});
  }
  data.series[3].y[2] = std::nan("");  // outside the input window, inside the history
  BatchProcessor p(engine, Router({}, "eq"), BatchOptions{});
  auto run = p.Run(u, data);
  ASSERT_TRUE(run.ok()) << run.status().message();
  for (int i = 0; i < 3; ++i) {
    const AssetForecast& f = run->forecasts[static_cast<std::size_t>(i)];
    ASSERT_EQ(f.status, "ok") << f.reason;
    Panel one;
    one.series.push_back(data.series[static_cast<std::size_t>(i)]);
    const LocalScale scale = ApplyLocalScaler(c.local_scaler_type, &one).front();
    const std::vector<double>& y = one.series[0].y;
    std::vector<float> x(10), m(10), want(static_cast<std::size_t>(c.h * c.outputs_per_step()));
    FillInsampleWindow(y, static_cast<int>(y.size()), 10, x.data(), m.data());
    model.PredictWindows(1, x.data(), m.data(), want.data());
    ASSERT_EQ(f.forecast.size(), want.size());
    for (std::size_t k = 0; k < want.size(); ++k)
      EXPECT_NEAR(f.forecast[k], scale.Invert(want[k]), 1e-4 * std::abs(scale.Invert(want[k]))) << f.unique_id << " " << k;
  }
  EXPECT_EQ(run->forecasts[3].status, "degraded");
  EXPECT_NE(run->forecasts[3].reason.find("local_scaler_type=robust-iqr"), std::string::npos) << run->forecasts[3].reason;
}

TEST(BatchProcessor, CorrelationGroupsAreWrittenIntoTheGroupName) {
  Engine engine;
  ASSERT_TRUE(engine.LoadModel("eq", 1, SmallModel(), {}).ok());
  Panel data;
  Universe u;
  std::mt19937 rng(2);
  std::normal_distribution<double> nd(0, 1);
  std::vector<std::vector<double>> f(2, std::vector<double>(60));
  for (auto& x : f)
    for (double& v : x) v = nd(rng);
  for (int i = 0; i < 10; ++i) {
    Series s;
    s.unique_id = "A" + std::to_string(i);
    double price = 100;
    for (int t = 0; t < 60; ++t) s.ds.push_back({t}), s.y.push_back(price *= std::exp(0.01 * (f[i % 2][t] + 0.2 * nd(rng))));
    data.series.push_back(s);
    u.assets.push_back({s.unique_id, "equity", {}});
  }
  BatchOptions bo;
  bo.correlation_window = 50;
  bo.cluster_threshold = 0.5;
  BatchProcessor p(engine, Router({}, "eq"), bo);
  auto run = p.Run(u, data);
  ASSERT_TRUE(run.ok());
  for (int i = 0; i < 10; ++i)
    for (int j = 0; j < 10; ++j)
      EXPECT_EQ(run->forecasts[i].group == run->forecasts[j].group, i % 2 == j % 2) << i << " " << j;
  EXPECT_EQ(run->forecasts[0].group, "equity/c0");
  EXPECT_EQ(run->groups.size(), 2u);
}

}  // namespace
}  // namespace nhits
