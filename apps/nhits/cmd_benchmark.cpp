// `nhits benchmark`: the long-horizon accuracy protocol of the NHITS paper on one or all
// datasets, one row per (dataset, horizon) with the paper's figure and the baselines beside ours.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>

#include <nlohmann/json.hpp>

#include "benchmark_cell.h"
#include "benchmark_protocols.h"
#include "cli_common.h"
#include "commands.h"
#include "finished_trials.h"
#include "nhits/long_horizon.h"

namespace nhits::cli {

namespace {

// ../shared/data/long_horizon from the current folder (the README runs from the repository root),
// else from the repository of this binary (build/<preset>/bin/nhits), so that `nhits benchmark`
// finds the data from any folder.
std::string DefaultLongHorizonDir() {
  if (const char* env = std::getenv("NHITS_DATA_DIR")) return env;
  const std::string relative = "../shared/data/long_horizon";
  std::error_code ec;
  if (std::filesystem::is_directory(relative, ec)) return relative;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const std::filesystem::path beside = exe.parent_path().parent_path().parent_path().parent_path() / relative;
    if (std::filesystem::is_directory(beside, ec)) return beside.lexically_normal().string();
  }
  return relative;
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
  a->data_dir = DefaultLongHorizonDir();
  app.add_option("--dataset", a->dataset, "ETTh1, ETTh2, ETTm2, Exchange, ILI, Weather or all")
      ->check(CLI::Validator(
          [](std::string& name) {
            if (name == "all") return std::string();
            const auto found = FindLongHorizonDataset(name);
            return found.ok() ? std::string() : found.status().message() + ", or all";
          },
          "DATASET"))
      ->capture_default_str();
  app.add_option("--data-dir", a->data_dir,
                 "Folder of the long-horizon CSVs (default: env NHITS_DATA_DIR, else ../shared/data/long_horizon from\n"
                 "the current folder or, failing that, from the repository this binary was built in)")
      ->capture_default_str();
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
      ->check(AtLeast(0))
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
  app.add_option("--plot-dir", a->plot_dir,
                 "Write DATASET_H.svg there (made when missing): the first test window of three channels");
  a->model.Register(app, /*with_window_stride=*/true, /*with_horizon=*/false, /*with_exog=*/false);
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
    if (!a->out.empty()) CheckOutputPath({"--out", a->out});
    if (a->resume && a->out.empty()) UsageFail("--resume continues from the file given by --out; add --out FILE");
    // Its rows may be hours of search: never replace them by accident.
    if (!a->resume && !a->out.empty() && std::filesystem::exists(a->out))
      Fail("--out " + a->out + " exists: add --resume to keep its rows and add these, or remove the file to start over");
    if (a->test_stride <= 0) UsageFail("--test-stride must be > 0");
    const bool searching = a->search > 0, nf_space = a->search_space == "neuralforecast-ett",
               auto_space = a->search_space == "neuralforecast-auto";
    if (nf_space || auto_space) {
      const std::string space = "--search-space " + a->search_space;
      if (!searching) UsageFail(space + " needs --search N (N > 0)");
      if (self->count("--protocol") && a->protocol == "paper")
        UsageFail(space + " runs neuralforecast's loop; drop --protocol paper");
      a->protocol = "neuralforecast";
      if (nf_space) ApplyNeuralforecastEttRerun(*self, a->model, a->input_size_multiplier);
      else ApplyNeuralforecastAuto(*self, a->model);
    }
    if (auto_space)
      for (const char* drawn : {"--input-size", "--input-size-multiplier", "--step-size", "--batch-size",
                                "--windows-batch-size", "--scaler-type", "--learning-rate", "--max-steps"})
        if (self->count(drawn)) UsageFail(std::string("--search-space neuralforecast-auto draws ") + drawn + " itself; drop it");
    if (a->protocol == "paper") ApplyPaperProtocol(*self, a->model);
    if (searching && (self->count("--n-pool-kernel-size") || self->count("--n-freq-downsample") ||
                      self->count("--random-seed")))
      UsageFail("--search draws --n-pool-kernel-size, --n-freq-downsample and --random-seed itself; drop them");
    if (nf_space && (self->count("--learning-rate") || self->count("--max-steps")))
      UsageFail("--search-space neuralforecast-ett draws --learning-rate and --max-steps itself; drop them");
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
      if (!searching) UsageFail("--list-trials lists the trials of a search; add --search N");
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
      for (int h : horizons_of(d)) {
        if (h <= 0) UsageFail("--horizons: " + std::to_string(h) + " is not > 0");
        cells.emplace_back(d.name, h);
      }
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
    for (const LongHorizonDataset& d : datasets) {  // before the plot folder and the table's header
      std::error_code ec;
      if (!std::filesystem::is_regular_file(a->data_dir + "/" + d.file, ec))
        Fail("--data-dir " + a->data_dir + ": no " + d.file + " (the folder of the long-horizon datasets, with raw/; "
             "env NHITS_DATA_DIR sets it too)");
    }
    if (!a->plot_dir.empty()) {
      // A folder of plots, unlike an output file, is made when missing (here: past every check).
      std::error_code ec;
      std::filesystem::create_directories(a->plot_dir, ec);
      if (ec) Fail("--plot-dir " + a->plot_dir + ": cannot create the folder: " + ec.message());
      CheckOutputPath({"--plot-dir", a->plot_dir + "/x.svg"});
    }
    const BenchmarkSettings settings{a->protocol, a->search_space, a->search_seed, a->test_stride,
                                     searching,   auto_space,      a->refit_with_val};
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
        const std::string budget = auto_space ? "input and steps drawn per trial"
                                   : nf_space ? "input " + std::to_string(base.input_size) + ", steps drawn per trial"
                                              : "input " + std::to_string(base.input_size) + ", " +
                                                    std::to_string(base.train.max_steps) + " steps";
        std::fprintf(stderr, "%s h=%d: %s; rows train %d / validation %d / test %d, %zu channels\n", d.name.c_str(), h,
                     budget.c_str(), data.split.train, data.split.val, data.split.test, data.panel.series.size());
        BenchmarkCell cell(settings, d, data, h, base, draw_trials(h));
        rows.push_back(cell.Run(finished, [&](const nlohmann::ordered_json& partial) { save(&partial); }));
        save(nullptr);
        if (!a->plot_dir.empty()) cell.WritePlot(a->plot_dir);
      }
    }
  };
}

}  // namespace nhits::cli
