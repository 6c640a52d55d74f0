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
#include "finished_trials.h"
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

// The paper's model and training loop as its code ran them (cchallu/n-hits, nhits_multivariate.py,
// src/experiments/utils.py, src/models/nhits/nhits.py): an MLP of two 512-unit layers, each
// followed by ReLU (n_layers 2; neuralforecast's default has a linear first layer and three more);
// one series per step (batch_size 1, 256 windows); windows padded at the start; StepLR stepped
// once per *epoch* of n_series steps, so its 333-epoch decay never comes within 1000 steps;
// validation every 50 epochs with patience 10, which never stops a 1000-step run: the last
// weights are scored. Flags given on the command line win.
void ApplyPaperProtocol(const CLI::App& app, ModelFlags& m) {
  const auto unset = [&](const char* flag) { return app.count(flag) == 0; };
  if (unset("--mlp-units")) m.mlp_units = "512,512";
  if (unset("--first-layer-activation")) m.first_layer_activation = true;
  TrainOptions& t = m.train;
  if (unset("--batch-size")) t.batch_size = 1;
  if (unset("--start-padding-enabled")) t.start_padding_enabled = true;
  if (unset("--num-lr-decays")) t.num_lr_decays = 0;
  if (unset("--early-stop-patience-steps")) t.early_stop_patience_steps = -1;
  if (unset("--val-check-steps")) t.val_check_steps = t.max_steps + 1;  // scored once, after training
}

// The fixed part of neuralforecast's ETT reruns (experiments/long_horizon/run_nhits.py): input
// 7h, HuberLoss(delta 0.5), dropout 0.5, 7 series x 256 windows per step, no early stopping; its
// validation loss is read after the last step, so checks during training would change nothing.
// Its refit on train+validation is not done: this protocol never trains on validation data.
void ApplyNeuralforecastEttRerun(const CLI::App& app, ModelFlags& m, int& input_size_multiplier) {
  const auto unset = [&](const char* flag) { return app.count(flag) == 0; };
  if (unset("--input-size-multiplier")) input_size_multiplier = 7;
  if (unset("--loss")) m.loss = "HuberLoss";
  if (unset("--delta")) m.delta = 0.5;
  if (unset("--dropout-prob-theta")) m.dropout_prob_theta = 0.5;
  if (unset("--batch-size")) m.train.batch_size = 7;
  if (unset("--early-stop-patience-steps")) m.train.early_stop_patience_steps = -1;
  if (unset("--val-check-steps")) m.train.val_check_steps = 1 << 30;
}

// neuralforecast's AutoNHITS with its default search space: NHITS's own defaults for what the space
// does not draw. Ray Tune keeps the validation loss last reported (the last weights, no early
// stopping), so validation is scored once, after training.
void ApplyNeuralforecastAuto(const CLI::App& app, ModelFlags& m) {
  const auto unset = [&](const char* flag) { return app.count(flag) == 0; };
  if (unset("--early-stop-patience-steps")) m.train.early_stop_patience_steps = -1;
  if (unset("--val-check-steps")) m.train.val_check_steps = 1 << 30;
}

std::string JoinInts(const std::vector<int>& v) {
  std::string s;
  for (int x : v) s += (s.empty() ? "" : ",") + std::to_string(x);
  return s;
}

}  // namespace

Action RegisterBenchmark(CLI::App& app) {
  struct Args {
    ModelFlags model;
    std::string dataset = "ETTh1", data_dir, horizons, out, plot_dir, protocol = "paper", search_space = "paper";
    int input_size_multiplier = 5, test_stride = 1, search = 0;
    unsigned search_seed = 1;
    bool refit_with_val = false, resume = false, list_trials = false;
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
  app.add_option("--protocol", a->protocol,
                 "paper: the model and training loop of the paper's code (two ReLU layers of 512, 1 series per\n"
                 "step, start padding, no LR decay, no early stopping, last weights; overrides the defaults of\n"
                 "--mlp-units, --first-layer-activation, --batch-size, --start-padding-enabled, --num-lr-decays,\n"
                 "--early-stop-patience-steps, --val-check-steps).\n"
                 "neuralforecast: neuralforecast's loop with the defaults shown below")
      ->check(CLI::IsMember({"paper", "neuralforecast"}))
      ->capture_default_str();
  app.add_option("--search", a->search,
                 "Trials of a hyperparameter search (--search-space), each trained and scored on validation;\n"
                 "the one with the lowest validation MAE is scored on test; 0: train the configuration given")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--search-seed", a->search_seed, "Seed of the search's draws")->capture_default_str();
  app.add_option("--search-space", a->search_space,
                 "paper: the paper's space (under --protocol paper).\n"
                 "neuralforecast-ett: the space of neuralforecast's published ETT reruns (learning rate,\n"
                 "200/1000 steps, pooling, downsampling, seed) with their fixed settings (input 7*h,\n"
                 "HuberLoss 0.5, dropout 0.5, 7 series per step, no early stopping) under\n"
                 "neuralforecast's loop; flags given on the command line win, except the drawn ones.\n"
                 "neuralforecast-auto: the default space of neuralforecast's AutoNHITS (input 1-5 x h,\n"
                 "step size 1 or h, pooling, downsampling, learning rate 1e-4..1e-1, scaler, 500-1500 steps,\n"
                 "batch sizes, seed) under neuralforecast's loop, last weights")
      ->check(CLI::IsMember({"paper", "neuralforecast-ett", "neuralforecast-auto"}))
      ->capture_default_str();
  app.add_flag("--list-trials", a->list_trials,
               "Print the configurations --search N would train, per horizon, and exit (nothing is trained)");
  app.add_flag("--refit-with-val", a->refit_with_val,
               "Also retrain the chosen configuration on training + validation and score it on test, as\n"
               "neuralforecast's published ETT reruns do (refit_with_val=True). Reported beside the row as\n"
               "refit_with_val, never as the row itself: this protocol does not train on validation data");
  app.add_option("--input-size-multiplier", a->input_size_multiplier, "input_size = multiplier * h unless --input-size")
      ->capture_default_str();
  app.add_option("--test-stride", a->test_stride, "Stride between scored test windows")->capture_default_str();
  app.add_option("--out", a->out,
                 "JSON file with every row of this run, rewritten atomically after each row and, in a search,\n"
                 "after each trial (the cell's row marked \"complete\": false until its last trial)");
  app.add_flag("--resume", a->resume,
               "Continue from what --out already holds: a trial (or an unsearched cell) whose dataset, horizon,\n"
               "strides and whole configuration match one there is not trained again; its scores are reused.\n"
               "Resumes an interrupted run, or extends a search to more trials (the draws of --search N are the\n"
               "first draws of any larger N). Rows of other cells in --out are kept. Use the same data");
  app.add_option("--plot-dir", a->plot_dir, "Write DATASET_H.svg there: the first test window of three channels");
  a->model.Register(app, /*with_window_stride=*/true, /*with_horizon=*/false);
  // The shared flag's help names neuralforecast's 3*h; here the multiplier above sets it.
  app.get_option("--input-size")->description("Lookback window L (default: --input-size-multiplier * h)");
  app.footer(
      "Protocol: every channel is a univariate series standardised with the training split's mean/std;\n"
      "train on the training split, score the validation split (and, with the neuralforecast protocol,\n"
      "early-stop on it), score every test window on the standardised values. Hyperparameters are only\n"
      "ever chosen by validation MAE. Defaults follow the paper: input 5*h, 1000 steps, 256 windows\n"
      "per step, MAE.");
  const CLI::App* self = &app;
  return [a, self] {
    if (!a->out.empty()) CheckOutputPath(a->out);
    if (a->resume && a->out.empty()) Fail("--resume continues from the file given by --out; add --out FILE");
    if (!a->plot_dir.empty()) CheckOutputPath(a->plot_dir + "/x.svg");
    if (a->test_stride <= 0) Fail("--test-stride must be > 0");
    const bool searching = a->search > 0, nf_space = a->search_space == "neuralforecast-ett",
               auto_space = a->search_space == "neuralforecast-auto";
    if (nf_space || auto_space) {
      const std::string space = "--search-space " + a->search_space;
      if (!searching) Fail(space + " needs --search N (N > 0)");
      if (self->count("--protocol") && a->protocol == "paper")
        Fail(space + " runs neuralforecast's loop; drop --protocol paper");
      a->protocol = "neuralforecast";
      if (nf_space) ApplyNeuralforecastEttRerun(*self, a->model, a->input_size_multiplier);
      else ApplyNeuralforecastAuto(*self, a->model);
    }
    if (auto_space)
      for (const char* drawn : {"--input-size", "--input-size-multiplier", "--step-size", "--batch-size",
                                "--windows-batch-size", "--scaler-type", "--learning-rate", "--max-steps"})
        if (self->count(drawn)) Fail(std::string("--search-space neuralforecast-auto draws ") + drawn + " itself; drop it");
    if (a->protocol == "paper") ApplyPaperProtocol(*self, a->model);
    if (searching && (self->count("--n-pool-kernel-size") || self->count("--n-freq-downsample") ||
                      self->count("--random-seed")))
      Fail("--search draws --n-pool-kernel-size, --n-freq-downsample and --random-seed itself; drop them");
    if (nf_space && (self->count("--learning-rate") || self->count("--max-steps")))
      Fail("--search-space neuralforecast-ett draws --learning-rate and --max-steps itself; drop them");
    std::vector<LongHorizonDataset> datasets;
    if (a->dataset == "all") datasets = LongHorizonDatasets();
    else datasets.push_back(Unwrap(FindLongHorizonDataset(a->dataset)));
    // AutoNHITS's step_size choice depends on h, so every space is drawn per horizon.
    const auto draw_trials = [&](int h) {
      if (nf_space) return DrawNeuralforecastEttSearchTrials(a->search, a->search_seed);
      if (auto_space) return DrawNeuralforecastAutoSearchTrials(a->search, a->search_seed, h);
      return DrawPaperSearchTrials(a->search, a->search_seed);
    };
    const auto horizons_of = [&](const LongHorizonDataset& d) {
      return a->horizons.empty() ? d.horizons : ParseIntList(a->horizons, "horizons");
    };
    if (a->list_trials) {
      if (!searching) Fail("--list-trials lists the trials of a search; add --search N");
      for (const LongHorizonDataset& d : datasets)
        for (int h : horizons_of(d)) {
          int i = 0;
          for (const SearchTrial& t : draw_trials(h)) {
            std::printf("%s h=%d trial %d: pool %s, downsample %s, seed %d", d.name.c_str(), h, ++i,
                        JoinInts(t.n_pool_kernel_size).c_str(), JoinInts(t.n_freq_downsample).c_str(), t.random_seed);
            if (t.learning_rate > 0) std::printf(", lr %.3g", t.learning_rate);
            if (t.max_steps > 0) std::printf(", %d steps", t.max_steps);
            if (t.input_size_multiplier > 0) std::printf(", input %d", t.input_size_multiplier * h);
            if (t.step_size > 0) std::printf(", step size %d", t.step_size);
            if (t.batch_size > 0) std::printf(", batch %d", t.batch_size);
            if (t.windows_batch_size > 0) std::printf(", %d windows", t.windows_batch_size);
            if (!t.scaler_type.empty()) std::printf(", scaler %s", t.scaler_type.c_str());
            std::printf("\n");
          }
        }
      return;
    }
    std::vector<std::pair<std::string, int>> cells;
    for (const LongHorizonDataset& d : datasets)
      for (int h : horizons_of(d)) cells.emplace_back(d.name, h);
    // A bare `nhits benchmark` trains for minutes; say what and where the rows go before it starts.
    std::string cell_list;
    for (const auto& [name, h] : cells) cell_list += (cell_list.empty() ? "" : ", ") + name + " h=" + std::to_string(h);
    std::fprintf(stderr, "nhits benchmark: %s protocol, %s per cell: %s%s\n", a->protocol.c_str(),
                 searching ? (std::to_string(a->search) + " trials (" + a->search_space + " space)").c_str()
                           : "1 training run",
                 cell_list.c_str(),
                 a->out.empty() ? "; rows are printed only (--out FILE keeps them, --help lists the options)"
                                : ("; rows to " + a->out).c_str());
    const FinishedTrials finished = a->resume ? FinishedTrials::Load(a->out) : FinishedTrials();
    nlohmann::ordered_json rows = nlohmann::json::array();
    for (auto& row : finished.RowsOutside(cells)) rows.push_back(std::move(row));
    if (a->resume)
      std::fprintf(stderr, "resuming from %s: %zu finished trial(s), %zu row(s) of other cells kept\n", a->out.c_str(),
                   finished.size(), rows.size());
    const auto save = [&](const nlohmann::ordered_json* partial) {
      if (a->out.empty()) return;
      nlohmann::ordered_json all = rows;
      if (partial != nullptr) all.push_back(*partial);
      WriteTextAtomic(a->out, all.dump(1) + "\n");
    };
    std::printf("| dataset | h | MSE | MAE | paper MSE | ours/paper | SeasonalNaive MSE | Naive MSE | steps | s | steps/s |\n"
                "|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (const LongHorizonDataset& d : datasets) {
      const WideTable table = Unwrap(ReadWideCsv(a->data_dir + "/" + d.file));
      const PreparedData data = Unwrap(PrepareLongHorizon(table, d));
      for (int h : horizons_of(d)) {
        ModelFlags base = a->model;
        base.h = h;
        if (base.input_size == 0) base.input_size = a->input_size_multiplier * h;
        base.train.val_size = data.split.val;
        const int val_stride = std::max(base.train.val_step_size, 1);
        // Model-free, so a row rebuilt from reused trials carries them too.
        const LongHorizonScores val_baselines = EvaluateValidationBaselines(data, h, d.season_length, val_stride);
        const std::string budget = auto_space ? "input and steps drawn per trial"
                                   : nf_space ? "input " + std::to_string(base.input_size) + ", steps drawn per trial"
                                              : "input " + std::to_string(base.input_size) + ", " +
                                                    std::to_string(base.train.max_steps) + " steps";
        std::fprintf(stderr, "%s h=%d: %s; rows train %d / validation %d / test %d, %zu channels\n", d.name.c_str(), h,
                     budget.c_str(), data.split.train, data.split.val, data.split.test, data.panel.series.size());
        const std::vector<SearchTrial> trials = draw_trials(h);
        const auto train_trial = [&](const ModelFlags& flags, const TrainOptions& options, TrainReport& report) {
          auto model = std::make_unique<Model>(flags.Config());
          report = Unwrap(Train(*model, data.panel, options, data.split.test));
          return model;
        };
        // The chosen trial: the lowest validation MAE; test scores are recorded for every trial
        // but never looked at in the choice.
        struct Chosen {
          nlohmann::ordered_json record;
          ModelFlags flags;
          TrainOptions options;
          std::unique_ptr<Model> model;  // null when the trial was reused from --out
        } best;
        LongHorizonScores baselines;
        double seconds = 0;
        int steps = 0, reused = 0;
        nlohmann::ordered_json trial_rows = nlohmann::json::array();
        const int n_trials = searching ? static_cast<int>(trials.size()) : 1;
        const auto make_row = [&] {
          const nlohmann::ordered_json& r = best.record;
          const double mse = r.at("test_mse").get<double>(), mae = r.at("test_mae").get<double>();
          const double train_seconds = r.at("train_seconds").get<double>();
          const int best_steps = r.at("steps").get<int>();
          double paper = -1;
          for (std::size_t i = 0; i < d.horizons.size() && i < d.paper_mse.size(); ++i)
            if (d.horizons[i] == h) paper = d.paper_mse[i];
          nlohmann::ordered_json row;
          row["dataset"] = d.name;
          row["h"] = h;
          row["mse"] = mse;
          row["mae"] = mae;
          row["paper_mse"] = paper > 0 ? nlohmann::json(paper) : nlohmann::json();
          row["seasonal_naive_mse"] = baselines.snaive_mse;
          row["seasonal_naive_mae"] = baselines.snaive_mae;
          row["naive_mse"] = baselines.naive_mse;
          row["naive_mae"] = baselines.naive_mae;
          row["test_windows"] = baselines.windows;
          row["test_stride"] = a->test_stride;
          row["protocol"] = a->protocol;
          if (r.contains("test_mse_by_series")) row["test_mse_by_series"] = r.at("test_mse_by_series");
          if (baselines.series_naive_mse.size() == data.panel.series.size()) {
            nlohmann::ordered_json naive;
            for (std::size_t i = 0; i < baselines.series_naive_mse.size(); ++i)
              naive[data.panel.series[i].unique_id] = baselines.series_naive_mse[i];
            row["naive_mse_by_series"] = naive;
          }
          row["val_mae"] = r.at("val_mae");
          row["val_stride"] = val_stride;
          row["val_seasonal_naive_mae"] = val_baselines.snaive_mae;
          row["val_naive_mae"] = val_baselines.naive_mae;
          row["steps"] = best_steps;
          row["early_stopped"] = r.at("early_stopped");
          row["best_val_loss"] = r.at("best_val_loss");
          row["train_seconds"] = train_seconds;
          row["steps_per_second"] = best_steps / train_seconds;
          if (searching) {
            row["search_space"] = a->search_space;
            row["search_seed"] = a->search_seed;
            row["search_seconds"] = seconds;
            row["trials"] = trial_rows;
          }
          if (reused > 0) row["reused_trials"] = reused;
          return row;
        };
        for (int t = 0; t < n_trials; ++t) {
          ModelFlags flags = base;
          const SearchTrial* trial = searching ? &trials[static_cast<std::size_t>(t)] : nullptr;
          if (trial != nullptr) {
            flags.n_pool_kernel_size = JoinInts(trial->n_pool_kernel_size);
            flags.n_freq_downsample = JoinInts(trial->n_freq_downsample);
            flags.train.random_seed = trial->random_seed;
            if (trial->learning_rate > 0) flags.train.learning_rate = trial->learning_rate;
            if (trial->max_steps > 0) flags.train.max_steps = trial->max_steps;
            if (trial->input_size_multiplier > 0) flags.input_size = trial->input_size_multiplier * h;
            if (trial->step_size > 0) flags.train.step_size = trial->step_size;
            if (trial->batch_size > 0) flags.train.batch_size = trial->batch_size;
            if (trial->windows_batch_size > 0) flags.train.windows_batch_size = trial->windows_batch_size;
            if (!trial->scaler_type.empty()) flags.scaler_type = trial->scaler_type;
          }
          TrainOptions options = flags.train;
          options.verbose = !flags.quiet;
          const auto config = nlohmann::ordered_json::parse(ConfigToJson(flags.Config(), &options));
          nlohmann::ordered_json record;
          std::unique_ptr<Model> model;
          if (const FinishedTrial* done = finished.Find(d.name, h, a->test_stride, val_stride, config)) {
            record = done->record;
            if (t == 0 || baselines.windows == 0) baselines = done->baselines;
            ++reused;
          } else {
            TrainReport report;
            model = train_trial(flags, options, report);
            const LongHorizonScores val = EvaluateValidationWindows(*model, data, d.season_length, val_stride);
            const LongHorizonScores test = EvaluateTestWindows(*model, data, d.season_length, a->test_stride);
            baselines = test;
            if (trial != nullptr) {
              record["n_pool_kernel_size"] = trial->n_pool_kernel_size;
              record["n_freq_downsample"] = trial->n_freq_downsample;
              record["random_seed"] = trial->random_seed;
              record["learning_rate"] = flags.train.learning_rate;
              record["max_steps"] = flags.train.max_steps;
              if (auto_space) {
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
              by_series[data.panel.series[i].unique_id] = test.series_mse[i];
            record["test_mse_by_series"] = by_series;
            record["steps"] = report.steps;
            record["train_seconds"] = report.seconds;
            record["early_stopped"] = report.early_stopped;
            record["best_val_loss"] = report.best_val_loss;
            record["config"] = config;
          }
          seconds += record.at("train_seconds").get<double>();
          steps += record.at("steps").get<int>();
          const double val_mae = record.at("val_mae").get<double>();
          if (trial != nullptr) {
            char extra[160] = "";
            if (auto_space)
              std::snprintf(extra, sizeof extra, ", input %d, step size %d, %d windows, scaler %s", flags.input_size,
                            flags.train.step_size, flags.train.windows_batch_size, flags.scaler_type.c_str());
            std::fprintf(stderr,
                         "%s h=%d trial %d/%d: pool %s, downsample %s, seed %d, lr %.3g, %d steps%s: validation MAE "
                         "%.4f (%.0f s%s)\n",
                         d.name.c_str(), h, t + 1, n_trials, flags.n_pool_kernel_size.c_str(),
                         flags.n_freq_downsample.c_str(), flags.train.random_seed, flags.train.learning_rate,
                         flags.train.max_steps, extra, val_mae, record.at("train_seconds").get<double>(),
                         model == nullptr ? ", reused from --out" : "");
          }
          else if (model == nullptr)
            std::fprintf(stderr, "%s h=%d: reused from --out (same configuration)\n", d.name.c_str(), h);
          if (searching) trial_rows.push_back(record);
          if (best.record.is_null() || val_mae < best.record.at("val_mae").get<double>())
            best = Chosen{record, flags, options, std::move(model)};
          if (searching && t + 1 < n_trials) {
            nlohmann::ordered_json partial = make_row();
            partial["complete"] = false;
            save(&partial);
          }
        }
        nlohmann::ordered_json row = make_row();
        const double paper = row["paper_mse"].is_null() ? -1.0 : row["paper_mse"].get<double>();
        const double mse = row["mse"].get<double>();
        char ratio[32] = "-", paper_s[32] = "-";
        if (paper > 0) {
          std::snprintf(ratio, sizeof ratio, "%.3f", mse / paper);
          std::snprintf(paper_s, sizeof paper_s, "%.3f", paper);
        }
        // Time and steps over all trials: what the row cost.
        std::printf("| %s | %d | %.4f | %.4f | %s | %s | %.4f | %.4f | %d | %.0f | %.2f |\n", d.name.c_str(), h, mse,
                    row["mae"].get<double>(), paper_s, ratio, baselines.snaive_mse, baselines.naive_mse, steps,
                    seconds, steps / seconds);
        std::fflush(stdout);
        // Selection can only be as good as validation: say when validation already ranks a
        // baseline above the chosen model (ETTh2 720), so a test loss to it is no surprise.
        const double chosen_val_mae = row["val_mae"].get<double>();
        const double best_baseline_val_mae = std::min(val_baselines.snaive_mae, val_baselines.naive_mae);
        if (chosen_val_mae >= best_baseline_val_mae)
          std::fprintf(stderr,
                       "%s h=%d: note: on validation the chosen model (MAE %.4f) does not beat %s (MAE %.4f)\n",
                       d.name.c_str(), h, chosen_val_mae,
                       val_baselines.snaive_mae <= val_baselines.naive_mae ? "SeasonalNaive" : "Naive",
                       best_baseline_val_mae);
        if (a->refit_with_val) {
          TrainOptions refit_options = best.options;
          refit_options.val_size = 0;  // the validation rows become training rows
          ModelFlags refit_flags = best.flags;
          TrainReport r;
          const std::unique_ptr<Model> refit = train_trial(refit_flags, refit_options, r);
          const LongHorizonScores t = EvaluateTestWindows(*refit, data, d.season_length, a->test_stride);
          std::fprintf(stderr, "%s h=%d refit on train+validation: test MSE %.4f (not the row: trains on validation)\n",
                       d.name.c_str(), h, t.mse);
          row["refit_with_val"] = {{"mse", t.mse}, {"mae", t.mae}, {"train_seconds", r.seconds}, {"steps", r.steps}};
        }
        row["config"] = best.record.at("config");
        row["date"] = std::time(nullptr);
        rows.push_back(row);
        save(nullptr);
        if (!a->plot_dir.empty()) {
          if (best.model == nullptr) {
            // Same configuration, seed and threads give the same weights: retrain for the picture.
            std::fprintf(stderr, "%s h=%d: retraining the chosen trial (reused from --out) for the plot\n",
                         d.name.c_str(), h);
            TrainReport r;
            best.model = train_trial(best.flags, best.options, r);
          }
          WriteTextAtomic(a->plot_dir + "/" + d.name + "_" + std::to_string(h) + ".svg",
                          TestForecastSvg(*best.model, data, d));
        }
      }
    }
  };
}

}  // namespace nhits::cli
