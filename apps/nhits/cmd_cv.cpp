#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>

#include "cli_common.h"
#include "commands.h"
#include "evaluation.h"
#include "nhits/conformal.h"
#include "nhits/forecast.h"
#include "nhits/local_scaler.h"
#include "nhits/model.h"
#include "nhits/train.h"

namespace nhits::cli {
namespace {

// The share of truths inside each conformal interval and its mean width: "| 80% | 78.5 | 41.2 |".
std::string IntervalCoverage(const Evaluation& e, const Panel& panel, int h, const std::vector<double>& given,
                             const std::vector<float>& bounds) {
  if (given.empty()) return "";
  const std::vector<double> levels = SortedLevels(given);  // ConformalIntervals' order: lo widest..narrowest, hi narrowest..widest
  const std::size_t n = levels.size(), B = 2 * n;
  std::string out = "\n| conformal interval | coverage % | mean width |\n|---|---|---|\n";
  for (std::size_t i = 0; i < n; ++i) {
    long inside = 0, points = 0;
    double width = 0;
    for (std::size_t w = 0; w < e.ends.size(); ++w) {
      if (!e.scored[w]) continue;
      for (int j = 0; j < h; ++j, ++points) {
        const float* b = bounds.data() + (w * h + static_cast<std::size_t>(j)) * B;
        const double lo = b[n - 1 - i], hi = b[n + i];  // level i (ascending)
        const double y = panel.series[static_cast<std::size_t>(e.series[w])].y[static_cast<std::size_t>(e.ends[w] + j)];
        inside += lo <= y && y <= hi;
        width += hi - lo;
      }
    }
    if (points == 0) return "";
    char row[128];
    std::snprintf(row, sizeof row, "| %g%% | %.1f | %.4g |\n", levels[i], 100.0 * inside / points, width / points);
    out += row;
  }
  return out;
}

}  // namespace

Action RegisterCrossValidation(CLI::App& app) {
  struct Args {
    ModelFlags model;
    std::string data, out, model_path, freq, static_data, pi_method, local_scaler_type;
    int n_windows = 1, step_size = 1, season_length = 0, refit = 0, prediction_intervals = 0, pi_step_size = 0;
  };
  auto a = std::make_shared<Args>();
  app.add_option("--data", a->data, "Long-format CSV with unique_id,ds,y (and any exogenous columns)")->required();
  app.add_option("--static-data", a->static_data, "CSV with unique_id and the --stat-exog-list columns");
  app.add_option("--out", a->out, "CSV to write: unique_id,ds,cutoff,NHITS[...],y")->required();
  app.add_option("--n-windows", a->n_windows, "Number of forecast windows per series")->capture_default_str();
  app.add_option("--step-size", a->step_size, "Points between consecutive cutoffs")->capture_default_str();
  app.add_option("--season-length", a->season_length, "SeasonalNaive/MASE season (default: from the frequency)")
      ->check(AtLeast(1));
  app.add_option("--freq", a->freq, "Frequency of ds (default: inferred)");
  app.add_option("--refit", a->refit,
                 "Retrain before every N-th window (neuralforecast's cross_validation(refit=N); 1 is refit=True): each\n"
                 "fit holds out its window and all later ones and, as neuralforecast's, continues from the previous\n"
                 "fit's weights for --max-steps more steps. 0 (default): one fit before the first window");
  app.add_option("--prediction-intervals", a->prediction_intervals,
                 "With --refit: each fit first calibrates conformal intervals on N windows of its own data, as\n"
                 "neuralforecast's cross_validation(refit=..., prediction_intervals=PredictionIntervals(n_windows=N)),\n"
                 "and every window gets NHITS-lo-*/hi-* columns at --level (default 80,90) and their coverage")
      ->check(AtLeast(2, "prediction intervals need at least 2 windows of conformity scores"));
  app.add_option("--local-scaler-type", a->local_scaler_type,
                 "NeuralForecast(local_scaler_type=...), with --refit: each fit scales every series over the data\n"
                 "before its window, and each window's history is scaled over itself as predict(df=...) does");
  app.add_option("--pi-method", a->pi_method, "conformal_distribution (default) or conformal_error");
  app.add_option("--pi-step-size", a->pi_step_size, "Points between the calibration windows (default 1)")
      ->check(AtLeast(1));
  a->model.Register(app, /*with_window_stride=*/false);
  app.footer(
      "Trains once on everything before the first cutoff (minus --val-size), then forecasts every window,\n"
      "like neuralforecast's cross_validation(refit=False). test_size = h + step_size*(n_windows-1).\n"
      "With --refit N it retrains before windows 0, N, 2N, ... on everything before that window.");
  return [a] {
    CheckOutputPath({"--out", a->out}, {{"--data", a->data}, {"--static-data", a->static_data}});
    if (a->n_windows <= 0) UsageFail("--n-windows must be > 0");
    if (a->step_size <= 0) UsageFail("--step-size must be > 0");
    if (a->refit < 0) UsageFail("--refit must be >= 0 (0: train once; N: retrain every N windows)");
    if (a->prediction_intervals == 0 && (!a->pi_method.empty() || a->pi_step_size != 0))
      UsageFail("--pi-method and --pi-step-size apply to --prediction-intervals N, which is not given");
    const std::string pi_method = a->pi_method.empty() ? "conformal_distribution" : a->pi_method;
    const int pi_step = a->pi_step_size == 0 ? 1 : a->pi_step_size;
    std::vector<double> levels;
    if (a->prediction_intervals != 0) {
      if (a->refit == 0)  // as neuralforecast, which calibrates inside each fit
        UsageFail("--prediction-intervals needs --refit N (neuralforecast: 'only supported with refit=True')");
      CheckOk(ValidateConformalSettings(pi_method, a->prediction_intervals, pi_step));
      levels = Unwrap(ParseLevels(a->model.level, "level"));
    }
    NhitsConfig config = a->model.Config(a->data, a->static_data);
    a->model.RequireValSizeForValidationFlags();
    if (!a->local_scaler_type.empty()) {
      config.local_scaler_type = Unwrap(ParseLocalScalerType(a->local_scaler_type, "--local-scaler-type"));
      // A single fit would scale by statistics over the windows it then scores.
      if (config.local_scaler_type != LocalScalerType::kNone && a->refit == 0)
        UsageFail("--local-scaler-type needs --refit N, so that each fit scales by the data before its window only (--refit " +
             std::to_string(a->n_windows) + " is a single fit)");
      if (config.local_scaler_type != LocalScalerType::kNone && a->prediction_intervals != 0)
        UsageFail("--prediction-intervals with --local-scaler-type is not supported (nhits predict --level refuses the pair)");
    }
    if (a->prediction_intervals == 0 && a->model.level_flag->count() > 0 && !config.multi_quantile() &&
        !config.distribution_loss())
      UsageFail("--level sets the levels of an MQLoss, HuberMQLoss or DistributionLoss model, or of conformal intervals "
           "(--prediction-intervals N with --refit M); the loss is " + ToString(config.loss) + " and neither is given");
    if (!levels.empty() && config.outputs_per_step() != 1)
      UsageFail("--prediction-intervals: conformal intervals are for point losses; " + ToString(config.loss) +
           " forecasts quantiles itself");
    // a sample_weight column weighs the training windows, as in neuralforecast's cross_validation
    const Panel panel = LoadPanelFor(config, a->data, a->static_data, /*with_sample_weight=*/true);
    if (!a->model.quiet) NoteSampleWeights(panel), NoteMissingPoints(panel);
    if (HasMissingPoints(panel) && !levels.empty())
      RefuseMissingPoints(panel, a->data, "conformal intervals score residuals against every target, so they need observed ones");
    Result<Frequency> freq = a->freq.empty() ? InferFrequency(panel) : ParseFrequency(a->freq, panel.time_kind);
    const int m = a->season_length > 0 ? a->season_length : (freq.ok() ? SeasonLength(*freq) : 1);
    if (freq.ok() && !a->model.quiet) NoteGaps(panel, *freq);
    const int test_size = config.h + a->step_size * (a->n_windows - 1);
    Model model(config);
    TrainOptions options = a->model.train;
    NoteOversubscribedThreads(options.num_threads);
    options.verbose = !a->model.quiet;
    int fits = 0, steps = 0;
    double seconds = 0;
    const int total_fits = a->refit == 0 ? 1 : (a->n_windows + a->refit - 1) / a->refit;
    std::vector<ConformalScores> scores;  // per fit, with --prediction-intervals
    double calibration_seconds = 0;
    auto fit = [&](int held_out) {
      if (total_fits > 1 && options.verbose)
        std::fprintf(stderr, "fit %d of %d: on all but the last %d points of each series\n", fits + 1, total_fits, held_out);
      if (!levels.empty()) {  // neuralforecast's fit(prediction_intervals=...): calibrate, then fit on
        const auto t0 = std::chrono::steady_clock::now();
        scores.push_back(Unwrap(ComputeConformalScores(config, options, WithoutLast(panel, held_out), pi_method,
                                                       a->prediction_intervals, pi_step, &model)));
        calibration_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        options.warm_start = true;
      }
      TrainReport report;
      if (config.local_scaler_type == LocalScalerType::kNone) {
        report = Unwrap(Train(model, panel, options, held_out));
      } else {  // neuralforecast's fit(df=train): the scaler's statistics over the training data
        Panel train = WithoutLast(panel, held_out);
        ApplyLocalScaler(config.local_scaler_type, &train, &config.categorical);
        report = Unwrap(Train(model, train, options));
      }
      options.warm_start = true;  // neuralforecast's refits continue from the fitted weights
      ++fits, steps += report.steps, seconds += report.seconds;
    };
    if (a->refit == 0) fit(test_size);
    const Evaluation e = EvaluateRollingOrigin(model, panel, a->n_windows, a->step_size, m, a->refit, fit);
    const int H = config.h, Q = config.outputs_per_step();
    const std::vector<std::string> suffixes = levels.empty() ? std::vector<std::string>{} : ConformalColumnSuffixes(levels);
    const std::size_t B = suffixes.size();
    std::vector<float> bounds;  // [windows, h, B]: each window's intervals from the scores of its fit
    for (std::size_t w = 0; w < e.ends.size() && B > 0; ++w) {
      const Series& s = panel.series[static_cast<std::size_t>(e.series[w])];
      const int window = (e.ends[w] - (static_cast<int>(s.y.size()) - test_size)) / a->step_size;
      const std::vector<float> b = Unwrap(ConformalIntervals(scores[static_cast<std::size_t>(window / a->refit)], s.unique_id,
                                                             e.model_forecast.data() + w * H, levels));
      bounds.insert(bounds.end(), b.begin(), b.end());
    }
    std::string csv = "unique_id,ds,cutoff";
    for (const auto& n : config.output_names()) csv += ",NHITS" + n;
    for (const auto& n : suffixes) csv += ",NHITS" + n;
    csv += ",y\n";
    for (std::size_t w = 0; w < e.ends.size(); ++w) {
      const Series& s = panel.series[static_cast<std::size_t>(e.series[w])];
      const std::string cutoff = FormatTimestamp(s.ds[static_cast<std::size_t>(e.ends[w] - 1)], panel.time_kind);
      for (int j = 0; j < H; ++j) {
        const std::size_t t = static_cast<std::size_t>(e.ends[w] + j);
        csv += CsvField(s.unique_id) + "," + FormatTimestamp(s.ds[t], panel.time_kind) + "," + cutoff;
        for (int q = 0; q < Q; ++q) csv += "," + FormatValue(e.model_forecast[(w * H + j) * Q + q]);
        for (std::size_t k = 0; k < B; ++k) csv += "," + FormatValue(bounds[(w * H + j) * B + k]);
        csv += "," + (s.observed(t) ? FormatValue(s.y[t]) : std::string()) + "\n";  // a missing truth stays empty
      }
    }
    WriteTextAtomic(a->out, csv);
    const std::string calibration =
        scores.empty() ? "" : ", each after a calibration fit (" + FormatValue(std::round(calibration_seconds * 10) / 10) + "s in all)";
    // A placeholder is no truth: windows with a missing target are written, not scored.
    std::string scores_text;
    const long unscored = std::count(e.scored.begin(), e.scored.end(), 0);
    if (unscored > 0)
      scores_text = std::to_string(unscored) + " of " + std::to_string(e.ends.size()) +
                    " windows have a missing target (available_mask 0) and are not scored; the CSV leaves their y empty.\n";
    if (HasMissingPoints(panel))
      scores_text += "Where a history has missing points, the baselines and MASE's scale read their filled values.\n";
    if (unscored < static_cast<long>(e.ends.size()))
      scores_text += MetricsTable(e, m) + QuantileCalibration(config, e, panel) + DistributionScore(model, e, panel) +
                     IntervalCoverage(e, panel, H, levels, bounds);
    std::printf("cross-validation: %zu window%s (%d per series, step %d), %d fit%s, %d steps in %.1fs%s\n\n%s\nwrote %s\n",
                e.ends.size(), e.ends.size() == 1 ? "" : "s", a->n_windows, a->step_size, fits, fits == 1 ? "" : "s", steps,
                seconds, calibration.c_str(), scores_text.c_str(), a->out.c_str());
  };
}

}  // namespace nhits::cli
