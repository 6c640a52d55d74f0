#include <cstdio>
#include <memory>

#include "cli_common.h"
#include "commands.h"
#include "evaluation.h"
#include "nhits/model.h"
#include "nhits/train.h"

namespace nhits::cli {

Action RegisterCrossValidation(CLI::App& app) {
  struct Args {
    ModelFlags model;
    std::string data, out, model_path, freq, static_data;
    int n_windows = 1, step_size = 1, season_length = 0, refit = 0;
  };
  auto a = std::make_shared<Args>();
  app.add_option("--data", a->data, "Long-format CSV with unique_id,ds,y (and any exogenous columns)")->required();
  app.add_option("--static-data", a->static_data, "CSV with unique_id and the --stat-exog-list columns");
  app.add_option("--out", a->out, "CSV to write: unique_id,ds,cutoff,NHITS[...],y")->required();
  app.add_option("--n-windows", a->n_windows, "Number of forecast windows per series")->capture_default_str();
  app.add_option("--step-size", a->step_size, "Points between consecutive cutoffs")->capture_default_str();
  app.add_option("--season-length", a->season_length, "SeasonalNaive/MASE season (default: from the frequency)");
  app.add_option("--freq", a->freq, "Frequency of ds (default: inferred)");
  app.add_option("--refit", a->refit,
                 "Retrain before every N-th window (neuralforecast's cross_validation(refit=N); 1 is refit=True): each\n"
                 "fit holds out its window and all later ones and, as neuralforecast's, continues from the previous\n"
                 "fit's weights for --max-steps more steps. 0 (default): one fit before the first window");
  a->model.Register(app, /*with_window_stride=*/false);
  app.footer(
      "Trains once on everything before the first cutoff (minus --val-size), then forecasts every window,\n"
      "like neuralforecast's cross_validation(refit=False). test_size = h + step_size*(n_windows-1).\n"
      "With --refit N it retrains before windows 0, N, 2N, ... on everything before that window.");
  return [a] {
    CheckOutputPath(a->out);
    if (a->n_windows <= 0) Fail("--n-windows must be > 0");
    if (a->step_size <= 0) Fail("--step-size must be > 0");
    if (a->refit < 0) Fail("--refit must be >= 0 (0: train once; N: retrain every N windows)");
    const NhitsConfig config = a->model.Config(a->data, a->static_data);
    // a sample_weight column weighs the training windows, as in neuralforecast's cross_validation
    const Panel panel = LoadPanelFor(config, a->data, a->static_data, /*with_sample_weight=*/true);
    if (!a->model.quiet) NoteSampleWeights(panel);
    Result<Frequency> freq = a->freq.empty() ? InferFrequency(panel) : ParseFrequency(a->freq, panel.time_kind);
    const int m = a->season_length > 0 ? a->season_length : (freq.ok() ? SeasonLength(*freq) : 1);
    const int test_size = config.h + a->step_size * (a->n_windows - 1);
    Model model(config);
    TrainOptions options = a->model.train;
    options.verbose = !a->model.quiet;
    int fits = 0, steps = 0;
    double seconds = 0;
    const int total_fits = a->refit == 0 ? 1 : (a->n_windows + a->refit - 1) / a->refit;
    auto fit = [&](int held_out) {
      if (total_fits > 1 && options.verbose)
        std::fprintf(stderr, "fit %d of %d: on all but the last %d points of each series\n", fits + 1, total_fits, held_out);
      const TrainReport report = Unwrap(Train(model, panel, options, held_out));
      options.warm_start = true;  // neuralforecast's refits continue from the fitted weights
      ++fits, steps += report.steps, seconds += report.seconds;
    };
    if (a->refit == 0) fit(test_size);
    const Evaluation e = EvaluateRollingOrigin(model, panel, a->n_windows, a->step_size, m, a->refit, fit);
    const int H = config.h, Q = config.outputs_per_step();
    std::string csv = "unique_id,ds,cutoff";
    for (const auto& n : config.output_names()) csv += ",NHITS" + n;
    csv += ",y\n";
    for (std::size_t w = 0; w < e.ends.size(); ++w) {
      const Series& s = panel.series[static_cast<std::size_t>(e.series[w])];
      const std::string cutoff = FormatTimestamp(s.ds[static_cast<std::size_t>(e.ends[w] - 1)], panel.time_kind);
      for (int j = 0; j < H; ++j) {
        const std::size_t t = static_cast<std::size_t>(e.ends[w] + j);
        csv += s.unique_id + "," + FormatTimestamp(s.ds[t], panel.time_kind) + "," + cutoff;
        for (int q = 0; q < Q; ++q) csv += "," + FormatValue(e.model_forecast[(w * H + j) * Q + q]);
        csv += "," + FormatValue(s.y[t]) + "\n";
      }
    }
    WriteTextAtomic(a->out, csv);
    std::printf("cross-validation: %zu windows (%d per series, step %d), %d fit%s, %d steps in %.1fs\n\n%s%s%s\nwrote %s\n",
                e.ends.size(), a->n_windows, a->step_size, fits, fits == 1 ? "" : "s", steps, seconds, MetricsTable(e, m).c_str(),
                QuantileCalibration(config, e, panel).c_str(), DistributionScore(model, e, panel).c_str(),
                a->out.c_str());
  };
}

}  // namespace nhits::cli
