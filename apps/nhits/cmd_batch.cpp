// `nhits batch`: forecast a whole universe of assets, grouped and batched, with degraded
// (Naive/SeasonalNaive) rows for what cannot be forecast, a run report, and optional scheduling.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "commands.h"
#include "nhits/batch.h"
#include "nhits/engine.h"
#include "nhits/forecast.h"
#include "serve/http/model_repository.h"

namespace nhits::cli {
namespace {

using json = nlohmann::ordered_json;

json PercentilesJson(const Percentiles& p) {
  return {{"count", p.count}, {"p50", p.p50}, {"p95", p.p95}, {"p99", p.p99}, {"max", p.max}};
}

// batch_latency_us: from a batch's submission to its answer (queueing included), one sample per
// batch; seconds: first submission to last answer. A group has one batch size (the most windows
// per batch); classes and the total mix groups, so they have none.
json GroupJson(const GroupStats& g) {
  json j = {{"group", g.key},         {"asset_class", g.asset_class}, {"model", g.model},
            {"assets", g.assets},      {"ok", g.ok},                   {"degraded", g.degraded},
            {"failed", g.failed},      {"batches", g.batches},
            {"batch_latency_us", PercentilesJson(g.batch_latency_us)}, {"seconds", g.seconds},
            {"assets_per_s", g.assets_per_s}};
  if (g.batch_size > 0) j["batch_size"] = g.batch_size;
  if (g.scored > 0)
    j["accuracy"] = {{"assets_scored", g.scored}, {"mae", g.mae}, {"mape_percent", g.mape}, {"naive_mae", g.naive_mae}};
  return j;
}

std::string ForecastsCsv(const BatchRun& run, const Panel& data, const Frequency& freq) {
  std::string out = "unique_id,asset_class,group,ds,forecast,status,source,reason\n";
  for (const AssetForecast& f : run.forecasts) {
    const std::string reason = CsvField(f.reason);
    const std::string who = CsvField(f.unique_id) + "," + CsvField(f.asset_class) + "," + CsvField(f.group);
    if (f.forecast.empty()) {
      out += who + ",,," + f.status + "," + CsvField(f.source) + "," + reason + "\n";
      continue;
    }
    const std::size_t q = f.output_names.empty() ? 1 : f.output_names.size();
    const auto future = FutureTimestamps(f.last, freq, run.h);
    for (int j = 0; j < run.h && static_cast<std::size_t>(j) * q < f.forecast.size(); ++j)
      out += who + "," +
             FormatTimestamp(future[static_cast<std::size_t>(j)], data.time_kind) + "," +
             FormatValue(f.forecast[static_cast<std::size_t>(j) * q + static_cast<std::size_t>(f.point_column)]) + "," + f.status + "," + CsvField(f.source) + "," + reason + "\n";
  }
  return out;
}

void PrintTable(const BatchRun& run) {
  std::printf("| class | model | assets | ok | degraded | failed | batches | batch p50 ms | batch p99 ms | assets/s | MAE | Naive MAE | MAPE %% |\n"
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  auto row = [](const GroupStats& g) {
    // 4 significant digits: the report JSON keeps full precision, a table is read by eye.
    auto num = [&](double v) {
      if (!g.scored) return std::string("-");
      char text[32];
      std::snprintf(text, sizeof text, "%.4g", v);
      return std::string(text);
    };
    std::printf("| %s | %s | %d | %d | %d | %d | %d | %.2f | %.2f | %.0f | %s | %s | %s |\n", g.key.c_str(), g.model.c_str(),
                g.assets, g.ok, g.degraded, g.failed, g.batches, g.batch_latency_us.p50 / 1e3,
                g.batch_latency_us.p99 / 1e3, g.assets_per_s, num(g.mae).c_str(), num(g.naive_mae).c_str(),
                num(g.mape).c_str());
  };
  for (const GroupStats& c : run.classes) row(c);
  row(run.total);
  std::printf("(batch p50/p99: one batch from submission to answer, queueing included; assets/s: a class over the span "
              "of its batches, the total over the whole forecast stage)\n");
}

}  // namespace

Action RegisterBatch(CLI::App& app) {
  struct Args {
    std::string device = "cpu";
    std::string universe, data, repository, out, report, clusters_out, freq, actuals, every, default_model, futr_data,
        static_data;
    std::vector<std::string> models, routes, id_routes, priorities;
    int correlation_window = 0, clusters = 0, max_staleness = 5, season_length = 0, runs = 0, min_points = 0,
        max_batch_size = 1024, threads = 0, timing_runs = 0, holdout = 0;
    double threshold = 0.5, memory_budget_mb = 256;
    std::string linkage = "average";
  };
  auto a = std::make_shared<Args>();
  app.add_option("--universe", a->universe, "Assets: CSV with unique_id,asset_class[,...] or a JSON list of\n"
                 "{\"unique_id\": ..., \"asset_class\": ...} objects (other fields are attributes)")->required();
  app.add_option("--data", a->data,
                 "Long-format CSV (unique_id,ds,y[,exogenous columns]); a bad y degrades its series only, a bad\n"
                 "exogenous value stops the run with its file:line")->required();
  app.add_option("--futr-data", a->futr_data,
                 "Models with futr_exog_list: each asset's next h values (unique_id,ds,<columns>); an asset without "
                 "them is degraded. With --holdout they come from --data instead");
  app.add_option("--static-data", a->static_data, "Models with stat_exog_list: CSV unique_id,<static columns>");
  app.add_option("--model-repository", a->repository, "DIR/<model>/<version>/model.safetensors");
  app.add_option("--model", a->models, "NAME=PATH, a single checkpoint (repeatable)");
  app.add_option("--route", a->routes, "CLASS=MODEL[@VERSION]: the model for an asset class (repeatable)");
  app.add_option("--route-id", a->id_routes, "GLOB=MODEL[@VERSION]: the model for ids matching a glob, before classes");
  app.add_option("--default-model", a->default_model, "Model for assets no rule routes (default: a model named like the class, "
                                                      "else the only model)");
  app.add_option("--priority", a->priorities,
                 "CLASS=N: the class's request priority, 1 highest to 3 (repeatable; default: 1 for every class)");
  app.add_option("--correlation-window", a->correlation_window,
                 "Also group each class by the correlation of its last N returns (0: off)")
      ->check(AtLeast(0))
      ->capture_default_str();
  app.add_option("--linkage", a->linkage, "Clustering linkage: single, complete or average")->capture_default_str();
  auto* threshold = app.add_option("--cluster-threshold", a->threshold,
                                   "With --correlation-window: stop merging above this 1 - correlation (0 to 2)")
                        ->check(CLI::Range(0.0, 2.0))
                        ->capture_default_str();
  auto* clusters = app.add_option("--clusters", a->clusters, "With --correlation-window, instead of --cluster-threshold: this many "
                                            "clusters per class (0: use the threshold)")
      ->check(AtLeast(0))
      ->excludes(threshold)
      ->capture_default_str();
  app.add_option("--clusters-out", a->clusters_out, "Write unique_id,asset_class,group");
  app.add_option("--memory-budget-mb", a->memory_budget_mb, "Bounds each group's batch size")
      ->check(PositiveNumber())
      ->capture_default_str();
  app.add_option("--max-batch-size", a->max_batch_size, "Engine's dynamic batch limit per model")
      ->check(AtLeast(1))
      ->capture_default_str();
  app.add_option("--threads", a->threads, "Compute threads (0: all cores)")
      ->check(AtLeast(0))
      ->capture_default_str();
  app.add_option("--min-points", a->min_points,
                 "Fewer observed points in the model's input window degrade the asset (0: input_size/2)")
      ->check(AtLeast(0))
      ->capture_default_str();
  app.add_option("--max-staleness", a->max_staleness, "Bars behind the newest data before an asset is stale")
      ->check(AtLeast(0))
      ->capture_default_str();
  app.add_option("--season-length", a->season_length, "SeasonalNaive for degraded assets (0: Naive)")
      ->check(AtLeast(0))
      ->capture_default_str();
  app.add_option("--freq", a->freq, "Frequency of ds for the forecast timestamps (default: inferred), e.g. B, D, h");
  app.add_option("--actuals", a->actuals, "Long CSV of what happened next: adds MAE/MAPE per class and group");
  app.add_option("--holdout", a->holdout,
                 "Backtest: forecast from all but the last N points of each series and score against them (0: off)")
      ->check(AtLeast(0))
      ->capture_default_str();
  app.add_option("--out", a->out,
                 "Forecast CSV: unique_id,asset_class,group,ds,forecast,status,source,reason ('forecast' is the model's\n"
                 "point column: NHITS, or NHITS-median for MQLoss; intervals come from `nhits predict`)")
      ->required();
  app.add_option("--report", a->report, "Run report JSON");
  app.add_option("--every", a->every, "Rerun on a schedule, e.g. 30s, 1m, 1h (reloads the data each run)");
  auto* every = app.get_option("--every");
  app.add_option("--runs", a->runs, "With --every: stop after this many runs (0: until interrupted)")
      ->check(AtLeast(0))
      ->needs(every)
      ->capture_default_str();
  app.add_option("--timing-runs", a->timing_runs,
                 "Benchmark: repeat the forecast stage N more times on the loaded data and print its median and "
                 "best time (windows from memory, forecast, collect)")
      ->check(AtLeast(0))
      ->capture_default_str();
  app.add_option("--device", a->device,
                 "cpu, or cuda:N[:fp32|tf32|fp16|bf16] (automatic precision: BF16 on sm_80+, FP16 on sm_70/75 for a\n"
                 "model with a scaler_type, else FP32)")
      ->capture_default_str();
  return [a, threshold, clusters] {
    std::vector<FlagPath> inputs{{"--data", a->data}, {"--universe", a->universe}, {"--actuals", a->actuals},
                                 {"--futr-data", a->futr_data}, {"--static-data", a->static_data}};
    for (const std::string& spec : a->models)  // NAME=PATH: the checkpoints are inputs too
      if (const std::size_t eq = spec.find('='); eq != std::string::npos) inputs.push_back({"--model", spec.substr(eq + 1)});
    CheckOutputPath({"--out", a->out}, inputs);
    inputs.push_back({"--out", a->out});
    if (!a->report.empty()) CheckOutputPath({"--report", a->report}, inputs);
    inputs.push_back({"--report", a->report});
    if (!a->clusters_out.empty()) CheckOutputPath({"--clusters-out", a->clusters_out}, inputs);
    if (a->repository.empty() && a->models.empty()) UsageFail("give --model-repository DIR or --model NAME=PATH");
    std::chrono::seconds every{0};
    if (!a->every.empty()) {
      char unit = a->every.back();
      char* end = nullptr;
      const long n = std::strtol(a->every.c_str(), &end, 10);
      const long mult = unit == 's' ? 1 : unit == 'm' ? 60 : unit == 'h' ? 3600 : 0;
      if (mult == 0 || end != a->every.c_str() + a->every.size() - 1)
        UsageFail("--every: '" + a->every + "' is not a whole number of seconds, minutes or hours, like 30s, 5m or 1h");
      if (n <= 0) UsageFail("--every: '" + a->every + "' must be positive");
      if (n > 366L * 86400 / mult) UsageFail("--every: '" + a->every + "' is more than a year");
      every = std::chrono::seconds(n * mult);
    }
    const Universe universe = Unwrap(ReadUniverse(a->universe));
    EngineOptions eo;
    ModelOptions mo;
    mo.device = a->device;
    mo.max_batch_size = a->max_batch_size;
    mo.max_queue_delay_us = 0;  // a batch run submits whole groups at once: nothing to wait for
    mo.cache = false;
    mo.threads_per_worker = a->threads;
    mo.max_queue_size = 1 << 20;
    mo.caller_scales_series = true;  // BatchProcessor scales local_scaler_type models' series itself
    Engine engine(eo);
    serve::ModelRepository repo(engine, a->repository, mo);
    if (!a->repository.empty()) CheckOk(repo.LoadAll());
    for (const std::string& spec : a->models) {
      const auto eq = spec.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) UsageFail("--model: '" + spec + "' is not NAME=PATH");
      CheckOk(repo.LoadFile(spec.substr(0, eq), spec.substr(eq + 1)));
    }
    auto parse_target = [](const std::string& spec, const std::string& flag) {
      const auto eq = spec.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
        UsageFail(flag + ": '" + spec + "' is not " + (flag == "--route" ? "CLASS" : "GLOB") + "=MODEL[@VERSION]");
      std::string model = spec.substr(eq + 1);
      int version = 0;
      if (const auto at = model.find('@'); at != std::string::npos) {
        version = std::atoi(model.c_str() + at + 1);
        model.resize(at);
      }
      return RouteRule{spec.substr(0, eq), true, model, version};
    };
    std::vector<RouteRule> rules;
    for (const auto& r : a->id_routes) {
      RouteRule rule = parse_target(r, "--route-id");
      rule.by_class = false;
      rules.push_back(rule);
    }
    for (const auto& r : a->routes) rules.push_back(parse_target(r, "--route"));
    std::string fallback = a->default_model;
    const auto loaded = engine.Models();
    // Exogenous columns of every loaded model: read with the data, static and future values beside it.
    std::vector<std::string> temporal, futr_columns, stat_columns;
    int futr_h = 0;
    auto add = [](std::vector<std::string>* to, const std::vector<std::string>& names) {
      for (const auto& n : names)
        if (std::find(to->begin(), to->end(), n) == to->end()) to->push_back(n);
    };
    // Categorical columns are read as labels and coded once for every model: models that share a
    // column must share its vocabulary (and all must read it as labels).
    std::vector<CategoricalColumn> coded;
    for (const auto& m : loaded)
      for (const CategoricalColumn& col : m.config.categorical) {
        const CategoricalColumn* seen = FindCategoricalColumn(&coded, col.name);
        if (seen == nullptr) coded.push_back(col);
        else if (seen->vocabulary != col.vocabulary)
          Fail("categorical column '" + col.name + "': model '" + m.name +
               "' codes its labels with another vocabulary than an earlier model; give each its own column");
      }
    for (const auto& m : loaded)
      for (const auto* list : {&m.config.hist_exog_list, &m.config.futr_exog_list, &m.config.stat_exog_list})
        for (const std::string& name : *list)
          if (m.config.FindCategorical(name) == nullptr && FindCategoricalColumn(&coded, name) != nullptr)
            Fail("column '" + name + "' holds labels for one model (cat_exog_list) and numbers for model '" + m.name + "'");
    for (const auto& m : loaded) {
      add(&temporal, m.config.hist_exog_list);
      add(&temporal, m.config.futr_exog_list);
      add(&futr_columns, m.config.futr_exog_list);
      add(&stat_columns, m.config.stat_exog_list);
      if (!m.config.futr_exog_list.empty()) futr_h = std::max(futr_h, m.config.h);
    }
    if (!stat_columns.empty() && a->static_data.empty())
      Fail("a model takes static exogenous columns (" + JoinNames(stat_columns) + "): give them with --static-data FILE");
    if (!futr_columns.empty() && a->futr_data.empty() && a->holdout == 0)
      Fail("a model takes future-known exogenous columns (" + JoinNames(futr_columns) +
           "): give each asset's next values with --futr-data FILE, or backtest with --holdout");
    if (!a->static_data.empty() && stat_columns.empty())
      Fail("--static-data " + a->static_data + " would be ignored (no model has a stat_exog_list)");
    if (!futr_columns.empty() && a->holdout > 0 && a->holdout < futr_h)
      Fail("--holdout " + std::to_string(a->holdout) + ": the futr columns' values for the " + std::to_string(futr_h) +
           " forecast steps come from the held-out points, so hold out at least h=" + std::to_string(futr_h));
    if (!a->futr_data.empty() && (futr_columns.empty() || a->holdout > 0))
      Fail("--futr-data " + a->futr_data + " would be ignored (" +
           (futr_columns.empty() ? "no model has a futr_exog_list)" : "with --holdout the future values come from --data)"));
    for (const Asset& asset : universe.assets) {  // a model named like a class serves that class
      bool routed = false;
      for (const auto& r : rules) routed = routed || (r.by_class && r.pattern == asset.asset_class);
      for (const auto& m : loaded)
        if (!routed && m.name == asset.asset_class) {
          rules.push_back({asset.asset_class, true, m.name, 0});
          routed = true;
        }
    }
    if (fallback.empty() && loaded.size() == 1) fallback = loaded.front().name;
    for (const auto& m : loaded)
      if (a->min_points > m.config.input_size)
        Fail("--min-points " + std::to_string(a->min_points) + " is more than model '" + m.name + "''s input_size " +
             std::to_string(m.config.input_size) + ": only the points in the input window count, so every asset would "
             "be degraded");
    if (a->correlation_window == 0 && (clusters->count() > 0 || threshold->count() > 0))
      UsageFail("--clusters and --cluster-threshold group by correlation: give --correlation-window N as well");
    {  // A typo in a rule would degrade every asset it routes, one "unknown model" at a time: refuse
       // it up front (rules that route no asset of this universe stay allowed).
      const Router router(rules, fallback);
      std::size_t stranded = 0;
      std::string first, names;
      for (const auto& m : loaded) names += (names.empty() ? "" : ", ") + m.name + "@" + std::to_string(m.version);
      for (const Asset& asset : universe.assets) {
        const auto target = router.Route(asset);
        if (!target.ok()) continue;  // no rule at all: reported per asset, as before
        const auto& [model, version] = *target;
        const bool is_loaded = std::any_of(loaded.begin(), loaded.end(), [&](const ModelStatus& m) {
          return m.name == model && (version == 0 || m.version == version);
        });
        if (!is_loaded && stranded++ == 0)
          first = "'" + asset.unique_id + "' (class " + asset.asset_class + ") routes to '" + model +
                  (version ? "@" + std::to_string(version) : "") + "'";
      }
      if (stranded > 0)
        Fail(std::to_string(stranded) + " asset(s) route to a model that is not loaded (first: " + first +
             "); loaded: " + names + " (check --route, --route-id and --default-model)");
    }
    BatchOptions bo;
    bo.correlation_window = a->correlation_window;
    bo.linkage = Unwrap(ParseLinkage(a->linkage));
    bo.cluster_threshold = a->threshold;
    bo.clusters = a->clusters;
    bo.memory_budget_bytes = static_cast<std::size_t>(a->memory_budget_mb * (1 << 20));
    bo.min_points = a->min_points;
    bo.max_staleness = a->max_staleness;
    bo.season_length = a->season_length;
    for (const auto& p : a->priorities) {
      const auto eq = p.find('=');
      const std::string cls = eq == std::string::npos ? p : p.substr(0, eq), level = eq == std::string::npos ? "" : p.substr(eq + 1);
      if (eq == std::string::npos || level.size() != 1 || level[0] < '1' || level[0] > '0' + mo.priority_levels)
        UsageFail("--priority: '" + p + "' is not CLASS=N with N from 1 (highest) to " + std::to_string(mo.priority_levels));
      if (std::none_of(universe.assets.begin(), universe.assets.end(), [&](const Asset& x) { return x.asset_class == cls; }))
        Fail("--priority " + p + ": no asset of class '" + cls + "' in " + a->universe);
      bo.class_priority[cls] = level[0] - '0';
    }
    BatchProcessor processor(engine, Router(rules, fallback), bo);

    for (int run_no = 1;; ++run_no) {
      const auto started = std::chrono::system_clock::now();
      const auto t0 = std::chrono::steady_clock::now();
      Panel data = Unwrap(temporal.empty() ? ReadLongCsvLenient(a->data) : ReadLongCsvLenient(a->data, temporal, &coded));
      if (!stat_columns.empty()) CheckOk(AttachStaticCsv(a->static_data, stat_columns, &data, &coded));
      Panel held_out;
      if (a->holdout > 0) {
        held_out = data;
        data = WithoutLast(held_out, a->holdout);  // exogenous columns keep the held-out steps: their known future
        std::size_t longest = 0;
        for (const Series& s : held_out.series) longest = std::max(longest, s.y.size());
        if (longest <= static_cast<std::size_t>(a->holdout))
          Fail("--holdout " + std::to_string(a->holdout) + " leaves no history: the longest series in " + a->data + " has " +
               std::to_string(longest) + " points");
      }
      if (a->correlation_window > 0 && run_no == 1) {
        std::size_t longest = 0;
        for (const Series& s : data.series) longest = std::max(longest, s.y.size());
        if (longest <= static_cast<std::size_t>(a->correlation_window))
          std::fprintf(stderr, "note: --correlation-window %d needs %d points and the longest series has %zu: no "
                       "asset is grouped by correlation\n", a->correlation_window, a->correlation_window + 1, longest);
      }
      const Frequency freq = ResolveFrequency(data, a->freq);
      if (!a->futr_data.empty()) {
        std::vector<std::string> without;  // degraded by the processor, one by one
        CheckOk(AttachFutureCsv(a->futr_data, futr_columns, freq, futr_h, &data, &without, &coded));
        if (!without.empty())
          std::fprintf(stderr,
                       "note: %zu series have fewer than %d consecutive future values in %s (first: '%s'); an asset "
                       "whose model needs more is degraded\n",
                       without.size(), futr_h, a->futr_data.c_str(), without.front().c_str());
      }
      const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      BatchRun run = Unwrap(processor.Run(universe, data));
      if (!a->actuals.empty()) {
        const Panel actuals = Unwrap(ReadLongCsvLenient(a->actuals));
        std::set<std::string> ids;
        for (const Series& s : actuals.series) ids.insert(s.unique_id);
        if (std::none_of(run.forecasts.begin(), run.forecasts.end(), [&](const AssetForecast& f) { return ids.count(f.unique_id) > 0; }))
          std::fprintf(stderr, "note: --actuals %s has no rows for any asset of the run (its first id: '%s'): nothing is scored\n",
                       a->actuals.c_str(), actuals.series.empty() ? "" : actuals.series.front().unique_id.c_str());
        ScoreAgainstActuals(actuals, &run);
      }
      if (a->holdout > 0) ScoreAgainstActuals(held_out, &run);
      run.stage_seconds["load"] = load_s;
      WriteTextAtomic(a->out, ForecastsCsv(run, data, freq));
      // A model with several outputs (MQLoss, DistributionLoss, ...) contributes its point column
      // only; say which, so nobody takes a median for a mean or looks for intervals here.
      std::set<std::string> point_columns;
      for (const AssetForecast& f : run.forecasts)
        if (f.output_names.size() > 1) point_columns.insert("NHITS" + f.output_names[static_cast<std::size_t>(f.point_column)]);
      if (!point_columns.empty()) {
        std::string names;
        for (const std::string& n : point_columns) names += (names.empty() ? "" : ", ") + n;
        std::fprintf(stderr, "note: 'forecast' is each model's point column (%s); the other columns (intervals, "
                     "quantiles) are not written by batch: `nhits predict` gives them\n", names.c_str());
      }
      if (!a->clusters_out.empty()) {
        std::string text = "unique_id,asset_class,group\n";
        for (const AssetForecast& f : run.forecasts)
          text += CsvField(f.unique_id) + "," + CsvField(f.asset_class) + "," + CsvField(f.group) + "\n";
        WriteTextAtomic(a->clusters_out, text);
      }
      if (!a->report.empty()) {
        json groups = json::array(), classes = json::array(), degraded = json::array();
        for (const auto& g : run.groups) groups.push_back(GroupJson(g));
        for (const auto& c : run.classes) classes.push_back(GroupJson(c));
        for (const auto& f : run.forecasts)
          if (f.status != "ok")
            degraded.push_back({{"unique_id", f.unique_id}, {"status", f.status}, {"source", f.source}, {"reason", f.reason}});
        json r = {{"run", run_no},
                  {"started", std::chrono::duration_cast<std::chrono::seconds>(started.time_since_epoch()).count()},
                  {"universe", a->universe},
                  {"data", a->data},
                  {"h", run.h},
                  {"stage_seconds", run.stage_seconds},
                  {"total", GroupJson(run.total)},
                  {"classes", classes},
                  {"groups", groups},
                  {"not_ok", degraded}};
        WriteTextAtomic(a->report, r.dump(1) + "\n");
      }
      PrintTable(run);
      if (a->timing_runs > 0) {
        std::vector<double> stage;
        for (int k = 0; k < a->timing_runs; ++k) stage.push_back(Unwrap(processor.Run(universe, data)).stage_seconds["forecast"]);
        std::sort(stage.begin(), stage.end());
        std::printf("forecast stage over %d runs (%d assets): median %.2f ms, best %.2f ms, %.0f assets/s at the median\n",
                    a->timing_runs, run.total.assets, 1e3 * stage[stage.size() / 2], 1e3 * stage.front(),
                    run.total.assets / stage[stage.size() / 2]);
        // The same assets one call at a time, for the ratio batching buys.
        std::map<std::string, const Series*> by_id;
        for (const Series& s : data.series) by_id[s.unique_id] = &s;
        int calls = 0;
        std::map<std::string, ExogColumns> exog_columns;  // found before the clock starts
        for (const auto& m : engine.Models())
          if (m.config.has_exog()) exog_columns[m.name + "@" + std::to_string(m.version)] = Unwrap(FindExogColumns(m.config, data));
        const auto s0 = std::chrono::steady_clock::now();
        std::vector<const AssetForecast*> ok;  // model by model: idle models' threads stay asleep
        for (const AssetForecast& f : run.forecasts)
          if (f.status == "ok") ok.push_back(&f);
        std::stable_sort(ok.begin(), ok.end(), [](auto* x, auto* y) { return x->model < y->model; });
        for (const AssetForecast* fp : ok) {
          const AssetForecast& f = *fp;
          const Series& s = *by_id.at(f.unique_id);
          const int L = Unwrap(engine.FindModel(f.model, f.version)).config.input_size;
          ForecastRequest r;
          r.model = f.model;
          r.version = f.version;
          r.insample.resize(static_cast<std::size_t>(L));
          r.mask.resize(static_cast<std::size_t>(L));
          FillInsampleWindow(s, static_cast<int>(s.y.size()), L, r.insample.data(), r.mask.data());
          const NhitsConfig& mc = Unwrap(engine.FindModel(f.model, f.version)).config;
          if (mc.has_exog()) {
            ExogWindows ex;
            AppendExogWindow(s, exog_columns.at(f.model + "@" + std::to_string(f.version)), static_cast<int>(s.y.size()),
                             L, mc.h, std::numeric_limits<int>::max(), &ex);
            r.hist_exog = std::move(ex.hist);
            r.futr_exog = std::move(ex.futr);
            r.stat_exog = std::move(ex.stat);
          }
          CheckOk(engine.Predict(std::move(r)).status);
          ++calls;
        }
        const double one_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - s0).count();
        std::printf("one call at a time: %d assets in %.2f ms (%.0f assets/s): batching is %.1fx faster\n", calls,
                    1e3 * one_s, calls / one_s, one_s / stage[stage.size() / 2]);
      }
      std::fprintf(stderr, "run %d: %d assets, %d ok, %d degraded, %d failed; load %.3f s, validate %.4f s, group %.4f s, "
                           "forecast %.4f s; wrote %s\n",
                   run_no, run.total.assets, run.total.ok, run.total.degraded, run.total.failed, load_s,
                   run.stage_seconds["validate"], run.stage_seconds["group"], run.stage_seconds["forecast"], a->out.c_str());
      if (every.count() == 0 || (a->runs > 0 && run_no >= a->runs)) break;
      std::this_thread::sleep_until(t0 + every);
    }
  };
}

}  // namespace nhits::cli
