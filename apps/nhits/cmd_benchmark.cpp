// `nhits benchmark`: the long-horizon accuracy protocol of the NHITS paper on one or all
// datasets, one row per (dataset, horizon) with the paper's figure and the baselines beside ours.
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <algorithm>
#include <memory>
#include <span>

#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "commands.h"
#include "nhits/forecast.h"
#include "nhits/long_horizon.h"
#include "nhits/metrics.h"
#include "nhits/plot.h"

namespace nhits::cli {
namespace {

// The first test window of up to three channels, against the truth and SeasonalNaive.
std::string TestForecastSvg(const Model& model, const PreparedData& data, const LongHorizonDataset& d) {
  const int H = model.config().h, Q = model.config().outputs_per_step();
  const int end = data.split.train + data.split.val;
  std::vector<ForecastOrigin> origins;
  for (int c = 0; c < std::min<int>(3, static_cast<int>(data.panel.series.size())); ++c) origins.push_back({c, end});
  const std::vector<float> fc = ForecastFrom(model, data.panel, origins);
  std::vector<PlotSeries> panels;
  for (std::size_t i = 0; i < origins.size(); ++i) {
    const Series& s = data.panel.series[static_cast<std::size_t>(origins[i].series)];
    PlotSeries p;
    p.title = d.name + " / " + s.unique_id + " (standardised), h=" + std::to_string(H);
    for (int t = std::max(0, end - 2 * H); t < end; ++t) {
      p.history_x.push_back(std::to_string(t));
      p.history_y.push_back(s.y[static_cast<std::size_t>(t)]);
    }
    for (int j = 0; j < H; ++j) {
      p.future_x.push_back(std::to_string(end + j));
      p.forecast.push_back(fc[(i * H + j) * Q]);
      p.actual.push_back(s.y[static_cast<std::size_t>(end + j)]);
    }
    const std::span<const double> history(s.y.data(), static_cast<std::size_t>(end));
    p.baselines.emplace_back("SeasonalNaive(" + std::to_string(d.season_length) + ")",
                             SeasonalNaiveForecast(history, H, d.season_length));
    panels.push_back(std::move(p));
  }
  return RenderForecastSvg(panels, "NHITS");
}

}  // namespace

Action RegisterBenchmark(CLI::App& app) {
  struct Args {
    ModelFlags model;
    std::string dataset = "ETTh1", data_dir, horizons, out, plot_dir;
    int input_size_multiplier = 5, test_stride = 1;
  };
  auto a = std::make_shared<Args>();
  a->model.train.max_steps = 1000;
  a->model.train.windows_batch_size = 256;
  a->model.train.val_check_steps = 50;
  a->model.train.early_stop_patience_steps = 10;
  const char* env_dir = std::getenv("NHITS_DATA_DIR");
  a->data_dir = env_dir != nullptr ? env_dir : "../shared/data/long_horizon";
  app.add_option("--dataset", a->dataset, "ETTh1, ETTh2, ETTm2, Exchange, ILI, Weather or all")->capture_default_str();
  app.add_option("--data-dir", a->data_dir, "Folder holding raw/*.csv[.gz] (env NHITS_DATA_DIR)")->capture_default_str();
  app.add_option("--horizons", a->horizons, "Comma-separated horizons (default: the dataset's four)");
  app.add_option("--input-size-multiplier", a->input_size_multiplier, "input_size = multiplier * h unless --input-size")
      ->capture_default_str();
  app.add_option("--test-stride", a->test_stride, "Stride between scored test windows")->capture_default_str();
  app.add_option("--out", a->out, "JSON file with every row of this run (rewritten atomically after each row)");
  app.add_option("--plot-dir", a->plot_dir, "Write DATASET_H.svg there: the first test window of three channels");
  a->model.Register(app, /*with_window_stride=*/true, /*with_horizon=*/false);
  app.footer(
      "Protocol: every channel is a univariate series standardised with the training split's mean/std;\n"
      "train on the training split, validate every --val-check-steps on the validation split (early stopping\n"
      "after --early-stop-patience-steps checks), score every test window on the standardised values.\n"
      "Defaults follow the paper: input 5*h, 1000 steps, 256 windows per step, MAE, checks every 50 steps,\n"
      "patience 10.");
  return [a] {
    if (!a->out.empty()) CheckOutputPath(a->out);
    if (!a->plot_dir.empty()) CheckOutputPath(a->plot_dir + "/x.svg");
    if (a->test_stride <= 0) Fail("--test-stride must be > 0");
    std::vector<LongHorizonDataset> datasets;
    if (a->dataset == "all") datasets = LongHorizonDatasets();
    else datasets.push_back(Unwrap(FindLongHorizonDataset(a->dataset)));
    nlohmann::ordered_json rows = nlohmann::json::array();
    std::printf("| dataset | h | MSE | MAE | paper MSE | ours/paper | SeasonalNaive MSE | Naive MSE | steps | s | steps/s |\n"
                "|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (const LongHorizonDataset& d : datasets) {
      const WideTable table = Unwrap(ReadWideCsv(a->data_dir + "/" + d.file));
      const PreparedData data = Unwrap(PrepareLongHorizon(table, d));
      std::vector<int> horizons = a->horizons.empty() ? d.horizons : ParseIntList(a->horizons, "horizons");
      for (int h : horizons) {
        ModelFlags flags = a->model;
        flags.h = h;
        if (flags.input_size == 0) flags.input_size = a->input_size_multiplier * h;
        flags.train.val_size = data.split.val;
        const NhitsConfig config = flags.Config();
        TrainOptions options = flags.train;
        options.verbose = !flags.quiet;
        Model model(config);
        const TrainReport report = Unwrap(Train(model, data.panel, options, data.split.test));
        const LongHorizonScores s = EvaluateTestWindows(model, data, d.season_length, a->test_stride);
        double paper = -1;
        for (std::size_t i = 0; i < d.horizons.size() && i < d.paper_mse.size(); ++i)
          if (d.horizons[i] == h) paper = d.paper_mse[i];
        char ratio[32] = "-", paper_s[32] = "-";
        if (paper > 0) {
          std::snprintf(ratio, sizeof ratio, "%.3f", s.mse / paper);
          std::snprintf(paper_s, sizeof paper_s, "%.3f", paper);
        }
        std::printf("| %s | %d | %.4f | %.4f | %s | %s | %.4f | %.4f | %d | %.0f | %.2f |\n", d.name.c_str(), h, s.mse,
                    s.mae, paper_s, ratio, s.snaive_mse, s.naive_mse, report.steps, report.seconds,
                    report.steps / report.seconds);
        std::fflush(stdout);
        nlohmann::ordered_json row;
        row["dataset"] = d.name;
        row["h"] = h;
        row["mse"] = s.mse;
        row["mae"] = s.mae;
        row["paper_mse"] = paper > 0 ? nlohmann::json(paper) : nlohmann::json();
        row["seasonal_naive_mse"] = s.snaive_mse;
        row["seasonal_naive_mae"] = s.snaive_mae;
        row["naive_mse"] = s.naive_mse;
        row["naive_mae"] = s.naive_mae;
        row["test_windows"] = s.windows;
        row["test_stride"] = a->test_stride;
        row["steps"] = report.steps;
        row["early_stopped"] = report.early_stopped;
        row["best_val_loss"] = report.best_val_loss;
        row["train_seconds"] = report.seconds;
        row["steps_per_second"] = report.steps / report.seconds;
        row["config"] = nlohmann::json::parse(ConfigToJson(config, &options));
        row["date"] = std::time(nullptr);
        rows.push_back(row);
        if (!a->out.empty()) WriteTextAtomic(a->out, rows.dump(1) + "\n");
        if (!a->plot_dir.empty())
          WriteTextAtomic(a->plot_dir + "/" + d.name + "_" + std::to_string(h) + ".svg", TestForecastSvg(model, data, d));
      }
    }
  };
}

}  // namespace nhits::cli
