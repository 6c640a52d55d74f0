#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>

#include "cli_common.h"
#include "commands.h"
#include "nhits/conformal.h"
#include "nhits/forecast.h"
#include "nhits/local_scaler.h"
#include "nhits/model.h"
#include "nhits/train.h"

namespace nhits::cli {

Action RegisterTrain(CLI::App& app) {
  struct Args {
    ModelFlags model;
    std::string data, out, static_data, pi_method, local_scaler_type;
    int prediction_intervals = 0, pi_step_size = 0;
  };
  auto a = std::make_shared<Args>();
  app.add_option("--data", a->data,
                 "Long-format CSV with unique_id,ds,y (and any exogenous columns); a sample_weight column, as in\n"
                 "neuralforecast, weighs each training window's loss by the mean weight of its h target points")
      ->required();
  app.add_option("--static-data", a->static_data, "CSV with unique_id and the --stat-exog-list columns");
  app.add_option("--prediction-intervals", a->prediction_intervals,
                 "Calibrate conformal prediction intervals on N cross-validation windows (neuralforecast's\n"
                 "PredictionIntervals(n_windows=N); N >= 2, point losses): a model is first trained without\n"
                 "each series' last h + step*(N-1) points, and the final fit continues from it, as neuralforecast's\n"
                 "does; then `nhits predict --level 80,90` adds the intervals")
      ->check(AtLeast(2, "prediction intervals need at least 2 windows of conformity scores"));
  app.add_option("--pi-method", a->pi_method, "conformal_distribution (default) or conformal_error");
  app.add_option("--pi-step-size", a->pi_step_size, "Points between the calibration windows (default 1)")
      ->check(AtLeast(1));
  app.add_option("--local-scaler-type", a->local_scaler_type,
                 "NeuralForecast(local_scaler_type=...): standard, robust, robust-iqr or minmax (none: off). Each series (y and its\n"
                 "temporal exogenous columns) is scaled with its own statistics over the whole data before training;\n"
                 "the checkpoint keeps the setting and `nhits predict` scales its input and forecasts the same way");
  app.add_option("--out", a->out, "Checkpoint to write (.safetensors)")->required();
  a->model.Register(app, /*with_window_stride=*/true);
  app.footer(
      "Example:\n  nhits train --data data/air_passengers.csv --h 12 --input-size 24 --max-steps 500 \\\n"
      "    --scaler-type robust --out model.safetensors\n"
      "With exogenous inputs (neuralforecast's futr/hist/stat_exog_list):\n"
      "  nhits train --data sales.csv --h 7 --futr-exog-list promo --hist-exog-list traffic \\\n"
      "    --stat-exog-list store_size --static-data stores.csv --out model.safetensors\n"
      "With label columns (cat_exog_list: each a learned embedding; the vocabulary comes from the data):\n"
      "  nhits train --data sales.csv --h 7 --futr-exog-list promo,weekday --stat-exog-list region \\\n"
      "    --static-data stores.csv --cat-exog-list weekday,region --out model.safetensors");
  return [a] {
    CheckOutputPath({"--out", a->out}, {{"--data", a->data}, {"--static-data", a->static_data}});
    NhitsConfig config = a->model.Config(a->data, a->static_data);
    a->model.RequireValSizeForValidationFlags();
    if (a->model.level_flag->count() > 0 && !config.multi_quantile() && !config.distribution_loss())
      UsageFail("--level sets the levels an MQLoss, HuberMQLoss or DistributionLoss model trains (the loss is " +
           ToString(config.loss) + "); conformal intervals take theirs at predict time: nhits predict --level " +
           a->model.level);
    if (!a->local_scaler_type.empty()) {
      config.local_scaler_type = Unwrap(ParseLocalScalerType(a->local_scaler_type, "--local-scaler-type"));
      if (a->prediction_intervals != 0 && config.local_scaler_type != LocalScalerType::kNone)
        UsageFail("--prediction-intervals with --local-scaler-type is not supported yet (nhits predict --level refuses the pair)");
    }
    Panel panel = LoadPanelFor(config, a->data, a->static_data, /*with_sample_weight=*/true);
    if (!a->model.quiet) NoteSampleWeights(panel), NoteMissingPoints(panel);
    ApplyLocalScaler(config.local_scaler_type, &panel, &config.categorical);  // as NeuralForecast.fit: over all of --data, codes left alone
    NoteLargeStaticValues(panel);
    Model model(config);
    TrainOptions options = a->model.train;
    NoteOversubscribedThreads(options.num_threads);
    options.verbose = !a->model.quiet;
    std::string conformal;
    if (a->prediction_intervals == 0 && (!a->pi_method.empty() || a->pi_step_size != 0))
      UsageFail("--pi-method and --pi-step-size apply to --prediction-intervals N, which is not given");
    if (a->prediction_intervals != 0) {
      RefuseMissingPoints(panel, a->data, "conformal intervals score residuals against every target, so they need observed ones");
      const std::string method = a->pi_method.empty() ? "conformal_distribution" : a->pi_method;
      const int step = a->pi_step_size == 0 ? 1 : a->pi_step_size;
      CheckOk(ValidateConformalSettings(method, a->prediction_intervals, step));
      CheckOk(CheckConformalLoss(config));
      std::fprintf(stderr, "calibrating %s intervals on %d windows per series (a cross-validation fit first)\n",
                   method.c_str(), a->prediction_intervals);
      conformal = ConformalToJson(
          Unwrap(ComputeConformalScores(config, options, panel, method, a->prediction_intervals, step, &model)));
      options.warm_start = true;  // neuralforecast's final fit continues from the cross-validation weights
    }
    std::fprintf(stderr, "training NHITS on %zu series from %s: %lld parameters, %s\n", panel.series.size(),
                 a->data.c_str(), static_cast<long long>(model.ParameterCount()), ConfigToJson(config).c_str());
    const TrainReport report = Unwrap(Train(model, panel, options));
    CheckpointInfo info{{"data", a->data},
                        {"steps", std::to_string(report.steps)},
                        {"train_loss", FormatValue(report.train_loss)},
                        {"seconds", FormatValue(report.seconds)}};
    if (!std::isnan(report.best_val_loss)) info["best_val_loss"] = FormatValue(report.best_val_loss);
    if (!conformal.empty()) info[kConformalKey] = conformal;
    if (std::any_of(panel.series.begin(), panel.series.end(), [](const Series& s) { return !s.sample_weight.empty(); }))
      info["sample_weight"] = "the sample_weight column of " + a->data;  // it changed the weights: say so in `nhits info`
    CheckOk(SaveCheckpoint(a->out, model, &options, info));
    // train_loss: the mean over the steps since the last validation check (in the loss's units:
    // scaled windows when a scaler is set).
    // The trainer averages the loss between validation checks (every val_check_steps steps).
    const int averaged = report.steps - (report.steps - 1) / options.val_check_steps * options.val_check_steps;
    std::printf("steps %d  train_loss %.6g (mean of the last %d steps)", report.steps, report.train_loss, averaged);
    if (!std::isnan(report.best_val_loss)) std::printf("  best_val_loss %.6g", report.best_val_loss);
    // What early stopping and --restore-best-weights followed, and where its best was (the first
    // of equal values: Lightning's strict improvement).
    const auto best = std::min_element(report.monitored_history.begin(), report.monitored_history.end(),
                                       [](const auto& x, const auto& y) { return x.second < y.second; });
    if (best != report.monitored_history.end() && std::isfinite(best->second) &&
        (options.monitor_train_loss || options.restore_best_weights))
      std::printf("  %s best %.6g at step %d%s", options.monitor_train_loss ? "monitored train_loss" : "validation",
                  best->second, best->first, options.restore_best_weights ? " (its weights kept)" : "");
    std::printf("  %.1fs (%.1f steps/s)%s\nwrote %s\n", report.seconds, report.steps / report.seconds,
                report.early_stopped ? "  early stopped" : "", a->out.c_str());
    if ((options.min_insample_fraction > 0 || options.min_outsample_fraction > 0 || HasMissingPoints(panel)) &&
        !a->model.quiet)
      std::fprintf(stderr, "note: %ld training windows hold enough observed points (--training-data-availability-threshold)\n",
                   report.windows_available);
    if (report.diverged_at_step > 0)
      std::fprintf(stderr, "warning: the validation loss was not finite at step %d (the model diverged); lower "
                   "--learning-rate or use a --scaler-type\n", report.diverged_at_step);
  };
}

}  // namespace nhits::cli
