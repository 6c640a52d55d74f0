#include <cstdio>
#include <filesystem>
#include <memory>

#include "cli_common.h"
#include "commands.h"
#include "evaluation.h"
#include "nhits/model.h"
#include "nhits/train.h"
#include "plotting.h"

namespace nhits::cli {

// The demo trains on everything but the last 12 months of AirPassengers, forecasts them, and
// compares with the seasonal naive forecast every forecaster must beat.
Action RegisterDemo(CLI::App& app) {
  struct Args {
    std::string data = "data/air_passengers.csv", out_dir = "out/demo";
    int max_steps = 500, seed = 1, threads = 0;
  };
  auto a = std::make_shared<Args>();
  app.add_option("--data", a->data, "AirPassengers in long format")->capture_default_str();
  app.add_option("--out-dir", a->out_dir, "Where to write the model and the plot of its forecasts")->capture_default_str();
  app.add_option("--max-steps", a->max_steps, "Training steps")->capture_default_str();
  app.add_option("--random-seed", a->seed, "Seed")->capture_default_str();
  app.add_option("--threads", a->threads, "CPU threads (0: all cores)")->capture_default_str();
  return [a] {
    if (!std::filesystem::exists(a->data))
      Fail(a->data + " not found: run the demo from the repository root (make demo) or pass --data");
    std::filesystem::create_directories(a->out_dir);
    const Panel panel = LoadPanel(a->data);
    RefuseMissingPoints(panel, a->data, "the demo scores and draws every point");
    const Frequency freq = ResolveFrequency(panel, "");
    NhitsConfig config;
    config.h = 12;
    config.input_size = 36;
    config.scaler_type = ScalerType::kRobust;
    config.loss = LossType::kMQLoss;
    config.level = {80, 90};
    // One short series: a smaller, regularised network keeps the quantiles from collapsing onto
    // the training windows, so the intervals mean something.
    config.mlp_units = {{128, 128}, {128, 128}, {128, 128}};
    config.dropout_prob_theta = 0.3;
    TrainOptions options;
    options.max_steps = a->max_steps;
    options.windows_batch_size = 256;
    options.random_seed = a->seed;
    options.num_threads = a->threads;
    std::printf("NHITS demo: AirPassengers (%zu months, freq %s), h=12, input_size=36, mlp_units=3*[[128,128]], "
                "dropout 0.3, robust scaler, MQLoss(level=[80,90]); the last 12 months are held out\n",
                panel.series[0].y.size(), freq.ToString().c_str());
    std::fflush(stdout);  // before the progress bar, which goes to stderr
    Model model(config);
    const TrainReport report = Unwrap(Train(model, panel, options, /*test_size=*/config.h));
    const std::string model_path = a->out_dir + "/model.safetensors";
    CheckOk(SaveCheckpoint(model_path, model, &options, {{"data", a->data}, {"steps", std::to_string(report.steps)}}));
    const int m = SeasonLength(freq);
    const Evaluation e = EvaluateRollingOrigin(model, panel, 1, 1, m);
    std::printf("\nTest: the last 12 months (%.1fs of training, %.1f steps/s)\n\n%s\n", report.seconds,
                report.steps / report.seconds, MetricsTable(e, m).c_str());
    std::printf("NHITS MAE is %.1f%% of SeasonalNaive's\n", 100.0 * e.model.mae / e.seasonal_naive.mae);
    std::printf("%s", QuantileCalibration(model.config(), e, panel).c_str());
    const auto panels = MakePlotPanels(model, panel, {0}, /*holdout=*/true, freq, m, 96);
    WriteTextAtomic(a->out_dir + "/plot.svg", RenderForecastSvg(panels, "NHITS"));
    std::printf("wrote %s and %s/plot.svg\n", model_path.c_str(), a->out_dir.c_str());
  };
}

}  // namespace nhits::cli
