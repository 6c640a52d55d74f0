// One cell of `nhits benchmark`: trials, the choice on validation, the row.
#include "benchmark_cell.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <span>

#include "benchmark_protocols.h"
#include "nhits/forecast.h"
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
      p.forecast.push_back(fc[(i * H + j) * Q + model.config().point_column()]);
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

BenchmarkCell::BenchmarkCell(const BenchmarkSettings& settings, const LongHorizonDataset& dataset,
                             const PreparedData& data, int h, ModelFlags base, std::vector<SearchTrial> trials)
    : settings_(settings),
      dataset_(dataset),
      data_(data),
      h_(h),
      base_(std::move(base)),
      trials_(std::move(trials)),
      val_stride_(std::max(base_.train.val_step_size, 1)),
      val_baselines_(EvaluateValidationBaselines(data, h, dataset.season_length, val_stride_)) {}

std::unique_ptr<Model> BenchmarkCell::TrainModel(const ModelFlags& flags, const TrainOptions& options,
                                                 TrainReport& report) const {
  auto model = std::make_unique<Model>(flags.Config());
  report = Unwrap(Train(*model, data_.panel, options, data_.split.test));
  return model;
}

nlohmann::ordered_json BenchmarkCell::TrainAndScore(const ModelFlags& flags, const TrainOptions& options,
                                                    const SearchTrial* trial, std::unique_ptr<Model>& model) {
  TrainReport report;
  model = TrainModel(flags, options, report);
  const LongHorizonScores val = EvaluateValidationWindows(*model, data_, dataset_.season_length, val_stride_);
  const LongHorizonScores test = EvaluateTestWindows(*model, data_, dataset_.season_length, settings_.test_stride);
  test_baselines_ = test;
  nlohmann::ordered_json record;
  if (trial != nullptr) {
    record["n_pool_kernel_size"] = trial->n_pool_kernel_size;
    record["n_freq_downsample"] = trial->n_freq_downsample;
    record["random_seed"] = trial->random_seed;
    record["learning_rate"] = flags.train.learning_rate;
    record["max_steps"] = flags.train.max_steps;
    if (settings_.auto_space) {
      record["input_size"] = flags.input_size;
      record["step_size"] = flags.train.step_size;
      record["batch_size"] = flags.train.batch_size;
      record["windows_batch_size"] = flags.train.windows_batch_size;
      record["scaler_type"] = flags.scaler_type;
    }
  }
  record["val_mae"] = val.mae;
  record["val_mse"] = val.mse;
  record["test_mse"] = test.mse;
  record["test_mae"] = test.mae;
  // Which channels a bad score comes from (one runaway channel can dominate the mean).
  nlohmann::ordered_json by_series;
  for (std::size_t i = 0; i < test.series_mse.size(); ++i)
    by_series[data_.panel.series[i].unique_id] = test.series_mse[i];
  record["test_mse_by_series"] = by_series;
  record["steps"] = report.steps;
  record["train_seconds"] = report.seconds;
  record["early_stopped"] = report.early_stopped;
  record["best_val_loss"] = std::isnan(report.best_val_loss) ? -1.0 : report.best_val_loss;  // the rows' "none"
  return record;
}

nlohmann::ordered_json BenchmarkCell::MakeRow() const {
  const nlohmann::ordered_json& r = best_.record;
  const double train_seconds = r.at("train_seconds").get<double>();
  const int best_steps = r.at("steps").get<int>();
  double paper = -1;
  for (std::size_t i = 0; i < dataset_.horizons.size() && i < dataset_.paper_mse.size(); ++i)
    if (dataset_.horizons[i] == h_) paper = dataset_.paper_mse[i];
  const LongHorizonScores& baselines = test_baselines_;
  nlohmann::ordered_json row;
  row["dataset"] = dataset_.name;
  row["h"] = h_;
  row["mse"] = r.at("test_mse").get<double>();
  row["mae"] = r.at("test_mae").get<double>();
  row["paper_mse"] = paper > 0 ? nlohmann::json(paper) : nlohmann::json();
  row["seasonal_naive_mse"] = baselines.snaive_mse;
  row["seasonal_naive_mae"] = baselines.snaive_mae;
  row["naive_mse"] = baselines.naive_mse;
  row["naive_mae"] = baselines.naive_mae;
  row["test_windows"] = baselines.windows;
  row["test_stride"] = settings_.test_stride;
  row["protocol"] = settings_.protocol;
  if (r.contains("test_mse_by_series")) row["test_mse_by_series"] = r.at("test_mse_by_series");
  if (baselines.series_naive_mse.size() == data_.panel.series.size()) {
    nlohmann::ordered_json naive;
    for (std::size_t i = 0; i < baselines.series_naive_mse.size(); ++i)
      naive[data_.panel.series[i].unique_id] = baselines.series_naive_mse[i];
    row["naive_mse_by_series"] = naive;
  }
  row["val_mae"] = r.at("val_mae");
  row["val_stride"] = val_stride_;
  const bool has_val = val_baselines_.windows > 0;
  row["val_seasonal_naive_mae"] = has_val ? nlohmann::json(val_baselines_.snaive_mae) : nlohmann::json();
  row["val_naive_mae"] = has_val ? nlohmann::json(val_baselines_.naive_mae) : nlohmann::json();
  row["steps"] = best_steps;
  row["early_stopped"] = r.at("early_stopped");
  row["best_val_loss"] = r.at("best_val_loss");
  row["train_seconds"] = train_seconds;
  row["steps_per_second"] = best_steps / train_seconds;
  if (settings_.searching) {
    row["search_space"] = settings_.search_space;
    row["search_seed"] = settings_.search_seed;
    row["search_seconds"] = seconds_;
    row["trials"] = trial_rows_;
  }
  if (reused_ > 0) row["reused_trials"] = reused_;
  return row;
}

nlohmann::ordered_json BenchmarkCell::Run(const FinishedTrials& finished,
                                          const std::function<void(const nlohmann::ordered_json&)>& save_partial) {
  const std::string& name = dataset_.name;
  const int n_trials = settings_.searching ? static_cast<int>(trials_.size()) : 1;
  for (int t = 0; t < n_trials; ++t) {
    const SearchTrial* trial = settings_.searching ? &trials_[static_cast<std::size_t>(t)] : nullptr;
    const ModelFlags flags = trial != nullptr ? ApplySearchTrial(base_, *trial, h_) : base_;
    TrainOptions options = flags.train;
    options.verbose = !flags.quiet;
    const auto config = nlohmann::ordered_json::parse(ConfigToJson(flags.Config(), &options));
    nlohmann::ordered_json record;
    std::unique_ptr<Model> model;
    if (const FinishedTrial* done = finished.Find(name, h_, settings_.test_stride, val_stride_, config)) {
      record = done->record;
      if (t == 0 || test_baselines_.windows == 0) test_baselines_ = done->baselines;
      ++reused_;
    } else {
      record = TrainAndScore(flags, options, trial, model);
      record["config"] = config;
    }
    seconds_ += record.at("train_seconds").get<double>();
    steps_ += record.at("steps").get<int>();
    const double val_mae = record.at("val_mae").get<double>();
    if (trial != nullptr) {
      char extra[160] = "";
      if (settings_.auto_space)
        std::snprintf(extra, sizeof extra, ", input %d, step size %d, %d windows, scaler %s", flags.input_size,
                      flags.train.step_size, flags.train.windows_batch_size, flags.scaler_type.c_str());
      std::fprintf(stderr,
                   "%s h=%d trial %d/%d: pool %s, downsample %s, seed %d, lr %.3g, %d steps%s: validation MAE "
                   "%.4f (%.0f s%s)\n",
                   name.c_str(), h_, t + 1, n_trials, flags.n_pool_kernel_size.c_str(), flags.n_freq_downsample.c_str(),
                   flags.train.random_seed, flags.train.learning_rate, flags.train.max_steps, extra, val_mae,
                   record.at("train_seconds").get<double>(), model == nullptr ? ", reused from --out" : "");
    } else if (model == nullptr) {
      std::fprintf(stderr, "%s h=%d: reused from --out (same configuration)\n", name.c_str(), h_);
    }
    if (settings_.searching) trial_rows_.push_back(record);
    if (best_.record.is_null() || val_mae < best_.record.at("val_mae").get<double>())
      best_ = Chosen{record, flags, options, std::move(model)};
    if (settings_.searching && t + 1 < n_trials) {
      nlohmann::ordered_json partial = MakeRow();
      partial["complete"] = false;
      save_partial(partial);
    }
  }
  nlohmann::ordered_json row = MakeRow();
  const double paper = row["paper_mse"].is_null() ? -1.0 : row["paper_mse"].get<double>();
  const double mse = row["mse"].get<double>();
  char ratio[32] = "-", paper_s[32] = "-";
  if (paper > 0) {
    std::snprintf(ratio, sizeof ratio, "%.3f", mse / paper);
    std::snprintf(paper_s, sizeof paper_s, "%.3f", paper);
  }
  // Time and steps over all trials: what the row cost.
  std::printf("| %s | %d | %.4f | %.4f | %s | %s | %.4f | %.4f | %d | %.0f | %.2f |\n", name.c_str(), h_, mse,
              row["mae"].get<double>(), paper_s, ratio, test_baselines_.snaive_mse, test_baselines_.naive_mse, steps_,
              seconds_, steps_ / seconds_);
  std::fflush(stdout);
  // Selection can only be as good as validation: say when validation already ranks a baseline
  // above the chosen model (ETTh2 720), so a test loss to it is no surprise.
  const double chosen_val_mae = row["val_mae"].get<double>();
  const double best_baseline_val_mae = std::min(val_baselines_.snaive_mae, val_baselines_.naive_mae);
  if (val_baselines_.windows > 0 && chosen_val_mae >= best_baseline_val_mae)
    std::fprintf(stderr, "%s h=%d: note: on validation the chosen model (MAE %.4f) does not beat %s (MAE %.4f)\n",
                 name.c_str(), h_, chosen_val_mae,
                 val_baselines_.snaive_mae <= val_baselines_.naive_mae ? "SeasonalNaive" : "Naive",
                 best_baseline_val_mae);
  if (settings_.refit_with_val) {
    TrainOptions refit_options = best_.options;
    refit_options.val_size = 0;  // the validation rows become training rows
    TrainReport r;
    const std::unique_ptr<Model> refit = TrainModel(best_.flags, refit_options, r);
    const LongHorizonScores t = EvaluateTestWindows(*refit, data_, dataset_.season_length, settings_.test_stride);
    std::fprintf(stderr, "%s h=%d refit on train+validation: test MSE %.4f (not the row: trains on validation)\n",
                 name.c_str(), h_, t.mse);
    row["refit_with_val"] = {{"mse", t.mse}, {"mae", t.mae}, {"train_seconds", r.seconds}, {"steps", r.steps}};
  }
  row["config"] = best_.record.at("config");
  row["date"] = std::time(nullptr);
  return row;
}

void BenchmarkCell::WritePlot(const std::string& dir) {
  if (best_.model == nullptr) {
    std::fprintf(stderr, "%s h=%d: retraining the chosen trial (reused from --out) for the plot\n",
                 dataset_.name.c_str(), h_);
    TrainReport r;
    best_.model = TrainModel(best_.flags, best_.options, r);
  }
  WriteTextAtomic(dir + "/" + dataset_.name + "_" + std::to_string(h_) + ".svg",
                  TestForecastSvg(*best_.model, data_, dataset_));
}

}  // namespace nhits::cli
