// BatchProcessor::Run: validate -> route -> group -> forecast per group -> degrade what failed.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <thread>
#include <unordered_map>

#include "nhits/batch.h"
#include "nhits/forecast.h"
#include "nhits/inference.h"
#include "nhits/local_scaler.h"

namespace nhits {
namespace {

using Clock = std::chrono::steady_clock;

bool Retryable(const Status& s) {
  return s.code() == Status::Code::kUnavailable || s.code() == Status::Code::kDeadlineExceeded;
}

Percentiles Summarise(std::vector<double> v) {
  Percentiles p;
  if (v.empty()) return p;
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return v[std::min(v.size() - 1, static_cast<std::size_t>(std::ceil(q * v.size())) - 1)]; };
  p.count = v.size();
  p.p50 = at(0.5);
  p.p95 = at(0.95);
  p.p99 = at(0.99);
  p.p999 = at(0.999);
  p.max = v.back();
  for (double x : v) p.mean += x / static_cast<double>(v.size());
  return p;
}

// An observed, finite value: a placeholder (available_mask 0) or an unreadable y is no history.
bool Usable(const Series& s, long t) { return s.observed(static_cast<std::size_t>(t)) && std::isfinite(s.y[static_cast<std::size_t>(t)]); }

// Naive (the last usable value) or, with a season of history, SeasonalNaive: the degraded
// forecast. Each seasonal step reads its own phase, a whole season further back where that point
// is not usable; a phase with none left falls back to Naive.
bool BaselineForecast(const Series& s, int h, int season, AssetForecast* f) {
  const long n = static_cast<long>(s.y.size());
  long last = n - 1;
  while (last >= 0 && !Usable(s, last)) --last;
  if (last < 0) return false;
  f->forecast.assign(static_cast<std::size_t>(h), static_cast<float>(s.y[static_cast<std::size_t>(last)]));
  f->output_names = {""};
  f->point_column = 0;
  f->source = "naive";
  if (season <= 1 || n < season) return true;
  std::vector<float> seasonal(static_cast<std::size_t>(h));
  for (int j = 0; j < h; ++j) {
    long p = n - season + j % season;
    while (p >= 0 && !Usable(s, p)) p -= season;
    if (p < 0) return true;
    seasonal[static_cast<std::size_t>(j)] = static_cast<float>(s.y[static_cast<std::size_t>(p)]);
  }
  f->forecast = std::move(seasonal);
  f->source = "seasonal_naive";
  return true;
}

struct Candidate {
  std::size_t index;  // into forecasts
  const Series* series;
  ModelStatus model;
  std::string group;
  int priority = 1;
  ExogColumns exog;  // where the model's exogenous columns sit in the data (empty without)
  // A model with local_scaler_type sees the series scaled over its whole history (as nhits
  // predict and neuralforecast's predict(df=...)); its forecasts are scaled back with `local`.
  std::shared_ptr<const Series> scaled;
  LocalScale local;
  const Series& input() const { return scaled ? *scaled : *series; }
};

// Every column back to the series' units, as neuralforecast scales back every output column.
void ScaleBack(const Candidate& c, std::vector<float>* forecast) {
  if (!c.scaled) return;
  for (float& v : *forecast) v = static_cast<float>(c.local.Invert(v));
}

}  // namespace

ForecastResult SubmitWithRetry(const std::function<ForecastResult()>& attempt, int max_attempts,
                               std::chrono::microseconds backoff, int* attempts) {
  ForecastResult r;
  int tries = 0;
  for (;;) {
    r = attempt();
    ++tries;
    if (r.status.ok() || !Retryable(r.status) || tries >= std::max(1, max_attempts)) break;
    std::this_thread::sleep_for(backoff * (1 << std::min(tries - 1, 10)));
  }
  if (attempts != nullptr) *attempts = tries;
  return r;
}

// The model's dynamic batch limit, bounded by the largest batch whose session fits the memory
// budget (solved from the model's shapes once per model; it builds the packed weights to know).
int BatchProcessor::BatchSizeFor(const ModelStatus& ms) const {
  const std::string key = ms.name + "@" + std::to_string(ms.version);
  auto it = batch_size_.find(key);
  if (it != batch_size_.end()) return it->second;
  int batch = std::max(1, ms.max_batch_size);
  if (ms.model) {
    const int fits = InferenceSession::MaxBatchForBudget(*ms.model, ms.precision_plan, options_.memory_budget_bytes);
    batch = std::max(1, std::min(batch, fits));
  }
  batch_size_[key] = batch;
  return batch;
}

Result<BatchRun> BatchProcessor::Run(const Universe& universe, const Panel& data) const {
  BatchRun run;
  auto t0 = Clock::now();
  auto lap = [&](const char* stage) {
    const auto now = Clock::now();
    run.stage_seconds[stage] = std::chrono::duration<double>(now - t0).count();
    t0 = now;
  };
  std::unordered_map<std::string, const Series*> by_id;
  const Series* longest = nullptr;
  for (const Series& s : data.series) {
    by_id[s.unique_id] = &s;
    if (longest == nullptr || s.ds.size() > longest->ds.size()) longest = &s;
  }
  std::map<std::pair<std::string, int>, Result<ModelStatus>> models;
  auto model_for = [&](const std::string& name, int version) -> const Result<ModelStatus>& {
    auto it = models.find({name, version});
    if (it == models.end()) it = models.emplace(std::make_pair(name, version), engine_.FindModel(name, version)).first;
    return it->second;
  };

  // ---- validate and route ----
  std::vector<Candidate> candidates;
  run.forecasts.resize(universe.assets.size());
  for (std::size_t i = 0; i < universe.assets.size(); ++i) {
    const Asset& a = universe.assets[i];
    AssetForecast& f = run.forecasts[i];
    f.unique_id = a.unique_id;
    f.asset_class = a.asset_class;
    f.group = a.asset_class;
    auto it = by_id.find(a.unique_id);
    if (it == by_id.end() || it->second->y.empty()) {
      f.status = "failed";
      f.source = "none";
      f.reason = "no data for this id";
      continue;
    }
    const Series& s = *it->second;
    f.last = s.ds.back();
    auto degrade = [&](std::string why) {
      f.reason = std::move(why);
      f.status = "degraded";
    };
    Result<std::pair<std::string, int>> route = router_.Route(a);
    if (!route.ok()) {
      degrade(route.status().message());
      continue;
    }
    const Result<ModelStatus>& ms = model_for(route->first, route->second);
    if (!ms.ok()) {
      degrade("model " + route->first + ": " + ms.status().message());
      continue;
    }
    f.model = ms->name;
    f.version = ms->version;
    const int L = ms->config.input_size;
    const std::size_t n = s.y.size(), from = n > static_cast<std::size_t>(L) ? n - static_cast<std::size_t>(L) : 0;
    int finite = 0;
    std::string nan_at;
    // An available_mask 0 is a known gap the model masks (as `nhits predict`); an unreadable y
    // at an observed point is bad data.
    for (std::size_t t = from; t < n; ++t) {
      if (!s.observed(t)) continue;
      if (std::isfinite(s.y[t])) {
        ++finite;
      } else if (nan_at.empty()) {
        nan_at = FormatTimestamp(s.ds[t], data.time_kind);
      }
    }
    const int min_points = options_.min_points > 0 ? options_.min_points : std::max(2, L / 2);
    if (!nan_at.empty()) {
      degrade("missing or non-finite value at " + nan_at + " inside the input window");
      continue;
    }
    if (finite < min_points) {
      degrade("too short: " + std::to_string(finite) + " observed points in the input window of " + std::to_string(L) +
              "; at least " + std::to_string(min_points) +
              (options_.min_points > 0 ? " wanted (--min-points)" : " wanted (half the input size)"));
      continue;
    }
    if (longest != nullptr && options_.max_staleness >= 0) {
      // The last observed point: a tail the available_mask marks missing is no fresher data.
      std::size_t seen = s.y.size() - 1;
      while (seen > 0 && !s.observed(seen)) --seen;
      const auto behind = longest->ds.end() - std::upper_bound(longest->ds.begin(), longest->ds.end(), s.ds[seen]);
      if (behind > options_.max_staleness) {
        degrade("stale: last observed point " + FormatTimestamp(s.ds[seen], data.time_kind) + " is " + std::to_string(behind) +
                " bars behind the newest data");
        continue;
      }
    }
    ExogColumns exog;
    if (ms->config.has_exog()) {  // the columns, and the future values of the futr ones
      Result<ExogColumns> found = FindExogColumns(ms->config, data);
      if (!found.ok()) {
        degrade(found.status().message());
        continue;
      }
      exog = *found;
      bool covered = true;
      for (int col : exog.futr)
        covered = covered && s.exog[static_cast<std::size_t>(col)].size() >= n + static_cast<std::size_t>(ms->config.h);
      if (!covered) {
        degrade("no futr values for the " + std::to_string(ms->config.h) + " steps after " +
                FormatTimestamp(s.ds.back(), data.time_kind) + " (--futr-data)");
        continue;
      }
    }
    Candidate c{i, &s, *ms, a.asset_class, 1, std::move(exog), nullptr, {}};
    if (const LocalScalerType local = ms->config.local_scaler_type; local != LocalScalerType::kNone) {
      auto bad = std::find_if(s.y.begin(), s.y.end(), [](double v) { return !std::isfinite(v); });
      if (const auto gap = std::find(s.available.begin(), s.available.end(), std::uint8_t{0}); gap != s.available.end())
        bad = std::min(bad, s.y.begin() + (gap - s.available.begin()));  // its statistics would count placeholders
      if (bad != s.y.end()) {
        degrade("local_scaler_type=" + ToString(local) + " scales by the whole history, which has a missing or "
                "non-finite value at " + FormatTimestamp(s.ds[static_cast<std::size_t>(bad - s.y.begin())], data.time_kind));
        continue;
      }
      Panel one;
      one.exog_names = data.exog_names;
      one.series.push_back(s);
      c.local = ApplyLocalScaler(local, &one, &ms->config.categorical).front();
      c.scaled = std::make_shared<const Series>(std::move(one.series.front()));
    }
    auto p = options_.class_priority.find(a.asset_class);
    c.priority = std::clamp(p == options_.class_priority.end() ? 1 : p->second, 1, std::max(1, ms->priority_levels));
    candidates.push_back(std::move(c));
  }
  lap("validate");

  // ---- group: model and class, then correlation clusters inside each ----
  std::map<std::string, std::vector<std::size_t>> by_model_class;  // -> candidate indices
  for (std::size_t k = 0; k < candidates.size(); ++k)
    by_model_class[candidates[k].model.name + "@" + std::to_string(candidates[k].model.version) + "|" +
                   candidates[k].group]
        .push_back(k);
  if (options_.correlation_window > 0) {
    const int W = options_.correlation_window;
    for (auto& [key, members] : by_model_class) {
      std::vector<std::vector<double>> returns;
      std::vector<std::size_t> clustered;
      for (std::size_t k : members) {
        const Series& series = *candidates[k].series;
        const auto& y = series.y;
        if (static_cast<int>(y.size()) < W + 1) {
          candidates[k].group += "/short";
          continue;
        }
        // Each step's move since the last usable point before it (0 at a missing or unreadable
        // one: the move shows when the series is seen again); log returns unless a value is not
        // positive.
        const long first = static_cast<long>(y.size()) - W;
        auto moves = [&](bool log_returns) {
          std::vector<double> r;
          long prev = first - 1;
          while (prev >= 0 && !Usable(series, prev)) --prev;
          for (long t = first; t < static_cast<long>(y.size()); ++t) {
            const bool seen = Usable(series, t);
            const double a = prev >= 0 ? y[static_cast<std::size_t>(prev)] : 0.0, b = y[static_cast<std::size_t>(t)];
            r.push_back(!seen || prev < 0 ? 0.0 : log_returns ? std::log(b / a) : b - a);
            if (seen) prev = t;
          }
          return r;
        };
        bool positive = true;
        for (long t = first - 1; t < static_cast<long>(y.size()); ++t)
          if (Usable(series, t)) positive = positive && y[static_cast<std::size_t>(t)] > 0;
        std::vector<double> r = moves(positive);
        returns.push_back(std::move(r));
        clustered.push_back(k);
      }
      const std::vector<int> labels =
          ClusterByCorrelation(returns, options_.linkage, options_.cluster_threshold, options_.clusters);
      for (std::size_t m = 0; m < clustered.size(); ++m)
        candidates[clustered[m]].group += "/c" + std::to_string(labels[m]);
    }
  }
  std::map<std::string, std::vector<std::size_t>> groups;  // model|group -> candidates
  for (std::size_t k = 0; k < candidates.size(); ++k)
    groups[candidates[k].model.name + "@" + std::to_string(candidates[k].model.version) + "|" + candidates[k].group]
        .push_back(k);
  lap("group");

  // ---- forecast: every group's chunks in flight at once, highest priority submitted first ----
  struct Chunk {
    std::string group_key;
    std::vector<std::size_t> members;  // candidate indices
    ForecastRequest request;
    std::future<ForecastResult> future;
    Clock::time_point submitted;
  };
  std::vector<std::string> order;
  for (const auto& [key, members] : groups) order.push_back(key);
  std::stable_sort(order.begin(), order.end(), [&](const std::string& x, const std::string& y) {
    return candidates[groups[x].front()].priority < candidates[groups[y].front()].priority;
  });
  std::map<std::string, GroupStats> group_stats;
  std::vector<Chunk> chunks;
  for (const std::string& key : order) {
    const auto& members = groups[key];
    const ModelStatus& ms = candidates[members.front()].model;
    const int L = ms.config.input_size;
    const int batch = BatchSizeFor(ms);
    GroupStats& gs = group_stats[key];
    gs.key = candidates[members.front()].group;
    gs.asset_class = run.forecasts[candidates[members.front()].index].asset_class;
    gs.model = ms.name + "@" + std::to_string(ms.version);
    gs.batch_size = batch;
    for (std::size_t b = 0; b < members.size(); b += static_cast<std::size_t>(batch)) {
      Chunk c;
      c.group_key = key;
      c.members.assign(members.begin() + static_cast<std::ptrdiff_t>(b),
                       members.begin() + static_cast<std::ptrdiff_t>(std::min(members.size(), b + static_cast<std::size_t>(batch))));
      ForecastRequest& r = c.request;
      r.model = ms.name;
      r.version = ms.version;
      r.windows = static_cast<int>(c.members.size());
      r.priority = candidates[c.members.front()].priority;
      r.expect_local_scaler = ms.config.local_scaler_type;  // the members were scaled (or not) for it
      r.insample.resize(static_cast<std::size_t>(r.windows) * L);
      r.mask.resize(r.insample.size());
      ExogWindows exog;
      for (std::size_t m = 0; m < c.members.size(); ++m) {
        const Candidate& cand = candidates[c.members[m]];
        const Series& s = cand.input();
        FillInsampleWindow(s, static_cast<int>(s.y.size()), L, r.insample.data() + m * static_cast<std::size_t>(L),
                           r.mask.data() + m * static_cast<std::size_t>(L));
        if (ms.config.has_exog())
          AppendExogWindow(s, cand.exog, static_cast<int>(s.y.size()), L, ms.config.h, std::numeric_limits<int>::max(),
                           &exog);
      }
      r.hist_exog = std::move(exog.hist);
      r.futr_exog = std::move(exog.futr);
      r.stat_exog = std::move(exog.stat);
      c.submitted = Clock::now();
      c.future = engine_.Submit(r);
      chunks.push_back(std::move(c));
      ++gs.batches;
    }
  }
  std::map<std::string, std::vector<double>> latencies;
  std::map<std::string, std::pair<Clock::time_point, Clock::time_point>> spans;
  for (Chunk& c : chunks) {
    ForecastResult r = c.future.get();
    int attempts = 1;
    if (!r.status.ok() && Retryable(r.status) && options_.max_attempts > 1) {
      std::this_thread::sleep_for(options_.backoff);  // the first retry waits too: an overloaded queue needs time
      int more = 0;
      r = SubmitWithRetry([&] { return engine_.Predict(c.request); }, options_.max_attempts - 1, 2 * options_.backoff, &more);
      attempts += more;
    }
    // Retries spent on an overloaded engine: one request per asset would only add load.
    const bool overloaded = !r.status.ok() && Retryable(r.status);
    const auto done = Clock::now();
    latencies[c.group_key].push_back(std::chrono::duration<double, std::micro>(done - c.submitted).count());
    auto& span = spans[c.group_key];
    if (span.first == Clock::time_point{} || c.submitted < span.first) span.first = c.submitted;
    span.second = std::max(span.second, done);
    const std::size_t HQ = r.status.ok() ? r.forecast.size() / c.members.size() : 0;
    for (std::size_t m = 0; m < c.members.size(); ++m) {
      const Candidate& cand = candidates[c.members[m]];
      AssetForecast& f = run.forecasts[cand.index];
      f.group = cand.group;
      f.attempts = attempts;
      if (r.status.ok()) {
        f.forecast.assign(r.forecast.begin() + static_cast<std::ptrdiff_t>(m * HQ),
                          r.forecast.begin() + static_cast<std::ptrdiff_t>((m + 1) * HQ));
        ScaleBack(cand, &f.forecast);
        f.output_names = r.output_names;
        f.point_column = r.point_column;
        f.status = "ok";
        f.source = r.model + "@" + std::to_string(r.version);
        continue;
      }
      if (overloaded) {
        f.status = "degraded";
        f.reason = "forecast failed after " + std::to_string(f.attempts) + " attempts: " + r.status.ToString();
        continue;
      }
      // The batch failed for good on its content: give each asset its own chance, so one bad
      // window does not degrade the others.
      ForecastRequest alone = c.request;
      alone.windows = 1;
      const std::size_t L = static_cast<std::size_t>(cand.model.config.input_size);
      alone.insample.assign(c.request.insample.begin() + static_cast<std::ptrdiff_t>(m * L),
                            c.request.insample.begin() + static_cast<std::ptrdiff_t>((m + 1) * L));
      alone.mask.assign(c.request.mask.begin() + static_cast<std::ptrdiff_t>(m * L),
                        c.request.mask.begin() + static_cast<std::ptrdiff_t>((m + 1) * L));
      for (auto [all, one] : {std::pair{&c.request.hist_exog, &alone.hist_exog}, std::pair{&c.request.futr_exog, &alone.futr_exog},
                              std::pair{&c.request.stat_exog, &alone.stat_exog}}) {
        const std::size_t per = all->size() / c.members.size();  // this window's exogenous rows
        one->assign(all->begin() + static_cast<std::ptrdiff_t>(m * per), all->begin() + static_cast<std::ptrdiff_t>((m + 1) * per));
      }
      int tries = 0;
      ForecastResult single = SubmitWithRetry([&] { return engine_.Predict(alone); }, options_.max_attempts, options_.backoff, &tries);
      f.attempts += tries;
      if (single.status.ok()) {
        f.forecast = single.forecast;
        ScaleBack(cand, &f.forecast);
        f.output_names = single.output_names;
        f.point_column = single.point_column;
        f.status = "ok";
        f.source = single.model + "@" + std::to_string(single.version);
      } else {
        f.status = "degraded";
        f.reason = "forecast failed after " + std::to_string(f.attempts) + " attempts: " + single.status.ToString();
      }
    }
  }
  lap("forecast");

  // ---- degrade, then count ----
  int h = 0;
  for (const Candidate& c : candidates) h = std::max(h, c.model.config.h);
  if (h == 0)
    for (const auto& [key, m] : models)
      if (m.ok()) h = std::max(h, m->config.h);
  run.h = h;
  for (std::size_t i = 0; i < run.forecasts.size(); ++i) {
    AssetForecast& f = run.forecasts[i];
    if (f.status != "degraded") continue;
    auto it = by_id.find(f.unique_id);
    if (h == 0 || it == by_id.end() || !BaselineForecast(*it->second, h, options_.season_length, &f)) {
      f.status = "failed";
      f.source = "none";
      f.reason += h == 0 ? "; no model to say the horizon" : "; no finite value for a baseline";
    }
  }
  std::map<std::string, GroupStats> by_class;
  auto count = [](GroupStats& g, const AssetForecast& f) {
    ++g.assets;
    if (f.status == "ok") ++g.ok;
    if (f.status == "degraded") ++g.degraded;
    if (f.status == "failed") ++g.failed;
  };
  for (const AssetForecast& f : run.forecasts) {
    GroupStats& c = by_class[f.asset_class];
    c.key = c.asset_class = f.asset_class;
    count(c, f);
    count(run.total, f);
    const std::string key = f.model + "@" + std::to_string(f.version) + "|" + f.group;
    if (f.attempts > 0 && group_stats.count(key)) count(group_stats[key], f);  // forecast in that group
  }
  std::vector<double> all_latency;
  for (auto& [key, g] : group_stats) {
    g.batch_latency_us = Summarise(latencies[key]);
    all_latency.insert(all_latency.end(), latencies[key].begin(), latencies[key].end());
    g.seconds = std::chrono::duration<double>(spans[key].second - spans[key].first).count();
    g.assets_per_s = g.seconds > 0 ? g.ok / g.seconds : 0;
    run.groups.push_back(g);
    GroupStats& c = by_class[g.asset_class];
    c.batches += g.batches;
    c.model = c.model.empty() ? g.model : (c.model == g.model ? c.model : c.model + "," + g.model);
  }
  for (auto& [key, c] : by_class) {
    std::vector<double> lat;
    Clock::time_point first{}, last{};
    for (const auto& [gk, g] : group_stats)
      if (g.asset_class == key) {
        lat.insert(lat.end(), latencies[gk].begin(), latencies[gk].end());
        if (first == Clock::time_point{} || spans[gk].first < first) first = spans[gk].first;
        last = std::max(last, spans[gk].second);
      }
    c.batch_latency_us = Summarise(lat);
    c.seconds = std::chrono::duration<double>(last - first).count();
    c.assets_per_s = c.seconds > 0 ? c.ok / c.seconds : 0;
    run.classes.push_back(c);
  }
  run.total.key = "total";
  run.total.batch_latency_us = Summarise(all_latency);
  run.total.seconds = run.stage_seconds["forecast"];
  run.total.assets_per_s = run.total.seconds > 0 ? run.total.ok / run.total.seconds : 0;
  run.total.batches = static_cast<int>(chunks.size());
  return run;
}

void ScoreAgainstActuals(const Panel& actuals, BatchRun* run) {
  std::unordered_map<std::string, const Series*> by_id;
  for (const Series& s : actuals.series) by_id[s.unique_id] = &s;
  struct Acc {
    double abs = 0, pct = 0, naive = 0;
    int n = 0, pct_n = 0, assets = 0;
  };
  std::map<std::string, Acc> groups, classes;
  Acc total;
  for (const AssetForecast& f : run->forecasts) {
    if (f.forecast.empty()) continue;
    auto it = by_id.find(f.unique_id);
    if (it == by_id.end()) continue;
    const Series& s = *it->second;
    const std::size_t start = static_cast<std::size_t>(std::upper_bound(s.ds.begin(), s.ds.end(), f.last) - s.ds.begin());
    const std::size_t q = f.output_names.empty() ? 1 : f.output_names.size();
    double last = std::nan("");
    for (std::size_t k = start; k-- > 0;)
      if (std::isfinite(s.y[k]) && s.observed(k)) {
        last = s.y[k];
        break;
      }
    Acc one;
    // run->h is the longest horizon of the run: a model with a shorter one forecast fewer steps.
    const std::size_t steps = std::min(static_cast<std::size_t>(run->h), f.forecast.size() / q);
    for (std::size_t j = 0; j < steps && start + j < s.y.size(); ++j) {
      const double truth = s.y[start + j], pred = f.forecast[j * q + static_cast<std::size_t>(f.point_column)];
      if (!std::isfinite(truth) || !s.observed(start + j)) continue;  // a missing truth scores nothing
      one.abs += std::abs(pred - truth);
      one.naive += std::isfinite(last) ? std::abs(last - truth) : 0.0;
      ++one.n;
      if (truth != 0) one.pct += std::abs((pred - truth) / truth), ++one.pct_n;
    }
    if (one.n == 0) continue;
    for (Acc* a : {&groups[f.model + "@" + std::to_string(f.version) + "|" + f.group], &classes[f.asset_class], &total}) {
      a->abs += one.abs;
      a->naive += one.naive;
      a->n += one.n;
      a->pct += one.pct;
      a->pct_n += one.pct_n;
      ++a->assets;
    }
  }
  auto apply = [](const Acc& a, GroupStats& g) {
    g.mae = a.n ? a.abs / a.n : 0;
    g.naive_mae = a.n ? a.naive / a.n : 0;
    g.mape = a.pct_n ? 100 * a.pct / a.pct_n : 0;
    g.scored = a.assets;
  };
  for (GroupStats& g : run->groups) apply(groups[g.model + "|" + g.key], g);
  for (GroupStats& c : run->classes) apply(classes[c.key], c);
  apply(total, run->total);
}

}  // namespace nhits
