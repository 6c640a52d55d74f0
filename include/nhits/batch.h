// Multi-asset batch processing: forecast a whole universe at every bar through an Engine, one
// batch per group, and never let one bad series stall the rest.
//
//   nhits::Universe u = *nhits::ReadUniverse("universe.csv");       // unique_id,asset_class,...
//   nhits::Router router({{"equity", true, "eq_model", 0}}, "default_model");
//   nhits::BatchProcessor p(engine, router, options);
//   nhits::BatchRun run = *p.Run(u, panel);                           // forecasts + report
//
// Each asset is validated (enough points, no NaN in its window, not stale), routed to a model
// (by class, or by a glob on its id), grouped by class and optionally by correlation of recent
// returns, and forecast in per-group batches sized from the model's shapes and a memory budget.
// Failed forecasts are retried with backoff when that can help (queue full, deadline), else the
// asset degrades gracefully to a Naive / SeasonalNaive forecast flagged as such.
// Thread safety: a BatchProcessor runs one Run at a time; the Engine may be shared.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "nhits/data.h"
#include "nhits/engine.h"
#include "nhits/status.h"

namespace nhits {

struct Asset {
  std::string unique_id, asset_class;
  std::map<std::string, std::string> attributes;  // any other columns / keys
};

struct Universe {
  std::vector<Asset> assets;
};

// CSV with a header holding unique_id and asset_class (other columns become attributes), or a
// JSON list of objects with those keys. Errors name the file, line and field.
Result<Universe> ReadUniverse(const std::string& path);

struct RouteRule {
  std::string pattern;   // an asset class, or a glob on unique_id (*, ?)
  bool by_class = true;
  std::string model;
  int version = 0;       // 0: newest
};

class Router {
 public:
  Router(std::vector<RouteRule> rules, std::string default_model = "")
      : rules_(std::move(rules)), default_model_(std::move(default_model)) {}
  // The first matching rule (id globs are tried before classes), else the default model, else
  // NotFound naming the asset and its class.
  Result<std::pair<std::string, int>> Route(const Asset& asset) const;

 private:
  std::vector<RouteRule> rules_;
  std::string default_model_;
};

enum class Linkage { kSingle, kComplete, kAverage };
Result<Linkage> ParseLinkage(const std::string& name);

// Agglomerative clustering of series by the correlation of their returns: distance
// 1 - Pearson(r_i, r_j) over the rows given (each row one asset's returns, equal lengths).
// Merging stops when the closest clusters are farther than `threshold`, or at `clusters`
// clusters when that is > 0. Labels are 0.. in order of each cluster's first member:
// deterministic for the same input.
std::vector<int> ClusterByCorrelation(const std::vector<std::vector<double>>& returns, Linkage linkage,
                                      double threshold, int clusters = 0);

// Retries `attempt` while it fails with kUnavailable or kDeadlineExceeded (the kinds waiting can
// fix), sleeping backoff, 2*backoff, ... between tries. Sets *attempts to the tries made.
ForecastResult SubmitWithRetry(const std::function<ForecastResult()>& attempt, int max_attempts,
                               std::chrono::microseconds backoff, int* attempts);

struct BatchOptions {
  // Grouping by correlation inside each class (off when window <= 0).
  int correlation_window = 0;  // returns over the last N points
  Linkage linkage = Linkage::kAverage;
  double cluster_threshold = 0.5;  // in 1 - correlation
  int clusters = 0;                // fixed count per class instead of the threshold
  std::map<std::string, int> class_priority;  // default 1 (highest)
  std::size_t memory_budget_bytes = 256u << 20;  // bounds each group's batch size
  int max_attempts = 3;
  std::chrono::microseconds backoff{1000};
  int min_points = 0;         // below: degraded (0: half the model's input_size)
  int max_staleness = 5;      // bars behind the newest timestamp in the data before "stale"
  int season_length = 0;      // SeasonalNaive for degraded assets when > 1 and enough history
};

struct AssetForecast {
  std::string unique_id, asset_class, group, model;
  int version = 0;
  std::string status;  // ok, degraded, failed
  std::string source;  // model@version, seasonal_naive, naive, none
  std::string reason;  // why it degraded or failed
  int attempts = 0;
  Timestamp last;      // last observed timestamp
  std::vector<float> forecast;  // [h, Q] (Q = 1 for naive forecasts)
  std::vector<std::string> output_names;
  int point_column = 0;  // the output the analytics score (the median of a quantile model)
};

struct GroupStats {
  std::string key;  // class, or class/cluster
  std::string asset_class, model;
  int assets = 0, ok = 0, degraded = 0, failed = 0, batch_size = 0, batches = 0;
  Percentiles batch_latency_us;
  double seconds = 0;     // first submit to last answer
  double assets_per_s = 0;
  double mae = 0, mape = 0;  // against actuals, when given
  double naive_mae = 0;      // the last observed value as the forecast, same points
  int scored = 0;            // assets with actuals
};

struct BatchRun {
  std::vector<AssetForecast> forecasts;
  std::vector<GroupStats> groups;   // per class/cluster group
  std::vector<GroupStats> classes;  // per asset class
  GroupStats total;
  std::map<std::string, double> stage_seconds;  // validate, group, forecast
  int h = 0;
};

class BatchProcessor {
 public:
  BatchProcessor(Engine& engine, Router router, BatchOptions options)
      : engine_(engine), router_(std::move(router)), options_(std::move(options)) {}

  // Forecasts every asset from its series in `data` (matched by unique_id), after its last point.
  Result<BatchRun> Run(const Universe& universe, const Panel& data) const;

 private:
  int BatchSizeFor(const ModelStatus& model) const;

  Engine& engine_;
  Router router_;
  BatchOptions options_;
  mutable std::map<std::string, int> batch_size_;  // model@version -> batch size (solved once)
};

// Adds MAE/MAPE of the point forecasts against `actuals` (matched by unique_id and the h steps
// after each asset's last point, in the actuals' own order) to the run's groups and classes.
void ScoreAgainstActuals(const Panel& actuals, BatchRun* run);

}  // namespace nhits
