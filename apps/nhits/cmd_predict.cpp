#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>

#include "cli_common.h"
#include "commands.h"
#include "insample.h"
#include "nhits/conformal.h"
#include "nhits/distribution.h"
#include "nhits/forecast.h"
#include "nhits/local_scaler.h"
#include "nhits/model.h"

namespace nhits::cli {

// CSV header unique_id,ds,<alias + suffix...> and a row per series and step of `values`
// [series, h, suffixes] (neuralforecast's layout), ds the series' next h timestamps. With a
// local scaler (one scale per series) every column is scaled back, as neuralforecast does.
std::string ColumnsCsv(const Panel& panel, const Frequency& freq, int h, const std::string& alias,
                       const std::vector<std::string>& suffixes, const std::vector<float>& values,
                       const std::vector<LocalScale>& local) {
  const std::size_t K = suffixes.size();
  std::string out = "unique_id,ds";
  for (const std::string& suffix : suffixes) out += "," + alias + suffix;
  out += '\n';
  for (std::size_t s = 0; s < panel.series.size(); ++s) {
    const Series& series = panel.series[s];
    const auto future = FutureTimestamps(series.ds.back(), freq, h);
    for (int j = 0; j < h; ++j) {
      out += CsvField(series.unique_id) + "," + FormatTimestamp(future[static_cast<std::size_t>(j)], panel.time_kind);
      for (std::size_t k = 0; k < K; ++k) {
        const double v = values[(s * h + j) * K + k];
        out += "," + FormatValue(local.empty() ? v : static_cast<float>(local[s].Invert(v)));
      }
      out += '\n';
    }
  }
  return out;
}

// The model's forecasts [series, h, Q] but for column `drop` (if any), then any interval columns
// [series, h, E] named by `extra_suffixes`, as ColumnsCsv.
std::string ForecastCsv(const Model& model, const Panel& panel, const Frequency& freq, const std::vector<float>& fc,
                        const std::string& alias, const std::vector<LocalScale>& local,
                        const std::vector<std::string>& extra_suffixes = {},
                        const std::vector<float>& extra = {}, int drop = -1) {
  const NhitsConfig& c = model.config();
  const int Q = c.outputs_per_step();
  const std::size_t E = extra_suffixes.size(), rows = panel.series.size() * static_cast<std::size_t>(c.h);
  std::vector<std::string> suffixes;
  const std::vector<std::string> names = c.output_names();
  for (int q = 0; q < Q; ++q)
    if (q != drop) suffixes.push_back(names[static_cast<std::size_t>(q)]);
  suffixes.insert(suffixes.end(), extra_suffixes.begin(), extra_suffixes.end());
  std::vector<float> values;
  values.reserve(rows * suffixes.size());
  for (std::size_t r = 0; r < rows; ++r) {
    for (int q = 0; q < Q; ++q)
      if (q != drop) values.push_back(fc[r * Q + static_cast<std::size_t>(q)]);
    for (std::size_t e = 0; e < E; ++e) values.push_back(extra[r * E + e]);
  }
  return ColumnsCsv(panel, freq, c.h, alias, suffixes, values, local);
}

// neuralforecast's predict(h=...) for another horizon than the model's: fewer steps are the
// first ones; for more, blocks of h are forecast one after the other, each block's point column
// (the point forecast, or the median of MQLoss and DistributionLoss) appended to the history
// first. As neuralforecast, a quantile list without 0.5 has no median to feed back: refused.
std::string RecursiveForecastCsv(const Model& model, Panel panel, const Frequency& freq, int steps,
                                 const PrecisionPlan& plan, const std::string& alias,
                                 const std::vector<LocalScale>& local) {
  const NhitsConfig& c = model.config();
  if (steps > c.h && c.has_quantile_list() && c.quantiles()[static_cast<std::size_t>(c.point_column())] != 0.5)
    Fail("--h " + std::to_string(steps) + ": forecasting past h=" + std::to_string(c.h) +
         " feeds each block's median back as history, and this model's quantiles have no 0.5 (as in neuralforecast)");
  const std::size_t C = static_cast<std::size_t>(c.outputs_per_step()), S = panel.series.size();
  std::vector<float> values(S * static_cast<std::size_t>(steps) * C);
  for (int done = 0; done < steps; done += c.h) {
    std::vector<ForecastOrigin> origins;
    for (std::size_t s = 0; s < S; ++s) origins.push_back({static_cast<int>(s), static_cast<int>(panel.series[s].y.size())});
    const std::vector<float> fc = ForecastFrom(model, panel, origins, plan);
    const int take = std::min(c.h, steps - done);
    for (std::size_t s = 0; s < S; ++s) {
      for (int j = 0; j < take; ++j)
        std::copy_n(&fc[(s * c.h + j) * C], C, &values[(s * steps + done + j) * C]);
      // y only: ds keeps its last real timestamp, which the output's dates count from
      for (int j = 0; j < c.h; ++j) panel.series[s].y.push_back(fc[(s * c.h + j) * C + c.point_column()]);
    }
  }
  return ColumnsCsv(panel, freq, steps, alias, c.output_names(), values, local);
}

// neuralforecast's predict(quantiles=...) of a DistributionLoss model: the mean, then each
// quantile as "_ql<q>", then the parameters if the model returns them. The quantiles come from
// the parameters of the forecast (the same weights decoded with return_params), so any precision
// works; the Student-t's through StudentTQuantile.
std::string QuantilesCsv(const Model& model, const Panel& panel, const Frequency& freq,
                         const std::vector<ForecastOrigin>& origins, const PrecisionPlan& plan,
                         const std::vector<double>& quantiles, const std::string& alias,
                         const std::vector<LocalScale>& local) {
  const NhitsConfig& c = model.config();
  const Model decoded = WithReturnedParams(model);
  const std::vector<float> fc = ForecastFrom(decoded, panel, origins, plan);
  const std::vector<std::string> suffixes = QuantileColumnSuffixes(c, quantiles);
  const std::size_t rows = fc.size() / static_cast<std::size_t>(decoded.config().outputs_per_step());
  std::vector<float> values(rows * suffixes.size());
  QuantileColumns(c, quantiles, fc.data(), rows, values.data());
  return ColumnsCsv(panel, freq, c.h, alias, suffixes, values, local);
}

namespace {

// Legal (neuralforecast zero-pads and masks the missing inputs too), but a forecast from a short
// history deserves a word: it is not what the model was trained on.
void WarnAboutShortSeries(const Panel& panel, int input_size) {
  std::size_t shorter = 0;
  const Series* shortest = nullptr;
  for (const Series& s : panel.series) {
    if (static_cast<int>(s.y.size()) >= input_size) continue;
    ++shorter;
    if (shortest == nullptr || s.y.size() < shortest->y.size()) shortest = &s;
  }
  if (shorter == 0) return;
  std::fprintf(stderr,
               "note: %zu of %zu series have fewer than input_size %d points (shortest: '%s', %zu); their inputs\n"
               "      are zero-padded at the start and masked, as neuralforecast does\n",
               shorter, panel.series.size(), input_size, shortest->unique_id.c_str(), shortest->y.size());
}

}  // namespace

Action RegisterPredict(CLI::App& app) {
  struct Args {
    std::string model, data, out, freq, alias, precision, futr_data, static_data, level, quantiles;
    int horizon = 0, insample_step = 0;
    bool insample = false;
  };
  auto a = std::make_shared<Args>();
  app.add_option("--model", a->model, "Checkpoint (.safetensors)")->required();
  app.add_option("--data", a->data, "Long-format CSV: each series is forecast from its last input_size points")
      ->required();
  app.add_option("--out", a->out, "Forecast CSV to write: unique_id,ds,NHITS[,NHITS-lo-90,...]")->required();
  app.add_option("--futr-data", a->futr_data,
                 "Models with futr_exog_list: CSV unique_id,ds,<futr columns> with each series' next h values\n"
                 "(neuralforecast's futr_df; with a longer --h, values for whole blocks of h)");
  app.add_option("--static-data", a->static_data, "Models with stat_exog_list: CSV unique_id,<static columns>");
  app.add_option("--level", a->level,
                 "Prediction intervals at these levels (e.g. 80,90), as neuralforecast's predict(level=...):\n"
                 "conformal ones for a model trained with --prediction-intervals (adds NHITS-lo-90,...,NHITS-hi-90),\n"
                 "or a DistributionLoss model's own quantiles at these levels instead of its trained ones");
  app.add_option("--quantiles", a->quantiles,
                 "DistributionLoss models: these quantiles in (0, 1) (e.g. 0.1,0.5,0.9) instead of the levels, as\n"
                 "neuralforecast's predict(quantiles=...): columns NHITS, NHITS_ql0.1, NHITS_ql0.5, NHITS_ql0.9");
  app.add_option("--h", a->horizon,
                 "Steps to forecast (default: the model's h). Fewer: the first ones; more: recursively, as\n"
                 "neuralforecast's predict(h=...): each block of h fed back (its first column) as history")
      ->check(AtLeast(1));
  app.add_option("--freq", a->freq, "Frequency of ds (default: inferred), e.g. D, B, W, ME, MS, h, 15min, 1");
  app.add_option("--alias", a->alias,
                 "Name of the forecast columns (default: the model's alias in neuralforecast, as converted, else NHITS)")
      ->check(CLI::Validator(
          [](std::string& alias) {
            // The header is unquoted CSV: an empty name, a comma or a quote would shift or split columns.
            if (alias.empty()) return std::string("an empty alias leaves the forecast columns unnamed");
            return alias.find_first_of(",\"\r\n") == std::string::npos
                       ? std::string()
                       : "'" + alias + "' holds a comma, quote or line break, which the CSV header cannot carry";
          },
          "NAME"));
  app.add_flag("--insample", a->insample,
               "neuralforecast's predict_insample(): forecasts over --data itself, a window every --step-size\n"
               "points, with their cutoff and the truth (unique_id,ds,cutoff,NHITS...,y), for residual checks");
  CLI::Option* step_size =
      app.add_option("--step-size", a->insample_step, "With --insample: points between windows (default 1)");
  app.add_option("--precision", a->precision,
                 "fp32, bf16 or int8 (default: the checkpoint's own; a quantised checkpoint keeps its FP32 layers)")
      ->transform(OneOf({"fp32", "bf16", "int8"}, "precision"));
  return [a, step_size] {
    CheckOutputPath({"--out", a->out},
                    {{"--data", a->data}, {"--model", a->model}, {"--futr-data", a->futr_data}, {"--static-data", a->static_data}});
    CheckpointInfo info;
    const Model model = Unwrap(LoadCheckpoint(a->model, &info));
    if (a->alias.empty()) a->alias = info.count("alias") ? info.at("alias") : "NHITS";
    PrecisionPlan plan = Unwrap(PrecisionPlanFromMetadata(info));
    if (!a->precision.empty()) {
      const Precision p = ParsePrecisionList(a->precision, "precision").front();
      if (p != plan.precision) plan = PrecisionPlan{p, {}, {}};
    }
    const NhitsConfig& config = model.config();
    Panel panel = LoadPanelFor(config, a->data, a->static_data);
    const Frequency freq = ResolveFrequency(panel, a->freq);
    NoteGaps(panel, freq);
    if (!a->insample) NoteMissingInputs(panel, config.input_size);
    if (step_size->count() > 0 && !a->insample) UsageFail("--step-size applies to --insample, which is not given");
    if (a->insample) {
      if (step_size->count() > 0 && a->insample_step <= 0) UsageFail("--step-size must be > 0");
      if (!a->futr_data.empty()) UsageFail("--insample forecasts inside --data, which holds the futr columns: drop --futr-data");
      if (a->horizon != 0 || !a->level.empty() || !a->quantiles.empty())
        UsageFail("--insample takes the model's own h and outputs (as neuralforecast's predict_insample): drop --h, --level, --quantiles");
      // NeuralForecast(local_scaler_type=...): the statistics of fit time, over each whole series.
      const std::vector<LocalScale> local =
          config.local_scaler_type == LocalScalerType::kNone ? std::vector<LocalScale>{}
                                                             : ApplyLocalScaler(config.local_scaler_type, &panel, &config.categorical);
      // As neuralforecast, a series shorter than h has no window; say which, and refuse an empty file.
      std::vector<std::string> short_ids;
      for (const Series& s : panel.series)
        if (static_cast<int>(s.y.size()) < config.h) short_ids.push_back(s.unique_id);
      const std::string h_text = "h=" + std::to_string(config.h);
      if (short_ids.size() == panel.series.size())
        Fail("--insample: no series has " + h_text + " points, so none has an in-sample window (longest: " +
             std::to_string(std::max_element(panel.series.begin(), panel.series.end(), [](const Series& x, const Series& y) {
                              return x.y.size() < y.y.size();
                            })->y.size()) + ")");
      WriteTextAtomic(a->out, InsampleCsv(model, panel, freq, step_size->count() > 0 ? a->insample_step : 1, plan,
                                          a->alias, local));
      if (!short_ids.empty())
        std::fprintf(stderr, "note: %zu series shorter than %s have no in-sample window (first: '%s')\n",
                     short_ids.size(), h_text.c_str(), short_ids.front().c_str());
      std::fprintf(stderr, "wrote in-sample forecasts of %zu series (freq %s, %s) to %s\n",
                   panel.series.size() - short_ids.size(), freq.ToString().c_str(), plan.Describe().c_str(),
                   a->out.c_str());
      return;
    }
    const int steps = a->horizon > 0 ? a->horizon : config.h;
    if (!config.hist_exog_list.empty() && steps > config.h)  // their future is unknown
      Fail("--h " + std::to_string(steps) + ": a model with hist exogenous columns forecasts at most its own h=" +
           std::to_string(config.h) + " (as neuralforecast: the columns' values after the data are unknown)");
    // A longer horizon runs whole blocks of h: futr columns need their values over all of them.
    const int blocks = (steps + config.h - 1) / config.h;
    AttachFutureFor(config, a->futr_data, freq, &panel, blocks * config.h);
    // NeuralForecast(local_scaler_type=...): statistics over each series' whole history in --data,
    // as neuralforecast's predict(df=...) fits them.
    const std::vector<LocalScale> local =
        config.local_scaler_type == LocalScalerType::kNone ? std::vector<LocalScale>{}
                                                           : ApplyLocalScaler(config.local_scaler_type, &panel, &config.categorical);
    std::vector<ForecastOrigin> origins;
    for (std::size_t s = 0; s < panel.series.size(); ++s)
      origins.push_back({static_cast<int>(s), static_cast<int>(panel.series[s].y.size())});
    WarnAboutShortSeries(panel, model.config().input_size);
    auto report = [&] {
      std::fprintf(stderr, "wrote %zu series x %d steps (freq %s, %s) to %s\n", panel.series.size(), steps,
                   freq.ToString().c_str(), plan.Describe().c_str(), a->out.c_str());
    };
    if (steps != config.h) {
      if (!a->level.empty() || !a->quantiles.empty())
        Fail("--h " + std::to_string(steps) + ": --level and --quantiles need the model's own h=" +
             std::to_string(config.h));
      WriteTextAtomic(a->out, RecursiveForecastCsv(model, panel, freq, steps, plan, a->alias, local));
      report();
      return;
    }
    if (!a->quantiles.empty()) {
      if (!config.distribution_loss())
        Fail("--quantiles: for DistributionLoss models (this one is trained with " + ToString(config.loss) +
             (config.multi_quantile() ? ", whose quantiles are fixed at training)" : "; use --level with conformal scores)"));
      if (!a->level.empty()) UsageFail("--level and --quantiles cannot be combined (as in neuralforecast)");
      const std::vector<double> qs = Unwrap(ParseQuantiles(a->quantiles, "quantiles"));
      if (Status st = ValidateQuantiles(qs); !st.ok()) Fail("--quantiles: " + st.message());
      WriteTextAtomic(a->out, QuantilesCsv(model, panel, freq, origins, plan, qs, a->alias, local));
      report();
      return;
    }
    if (config.distribution_loss() && !a->level.empty()) {
      // The distribution has every quantile: the same weights, decoded at the asked levels. As
      // neuralforecast's predict(level=...), sorted and de-duplicated, without the median column.
      NhitsConfig at_levels = config;
      at_levels.level = SortedLevels(Unwrap(ParseLevels(a->level, "level")));
      if (Status st = at_levels.Validate(); !st.ok()) Fail("--level: " + st.message());
      Model relevelled(at_levels);
      relevelled.mutable_network().params() = model.network().params();
      const std::vector<float> fc = ForecastFrom(relevelled, panel, origins, plan);
      WriteTextAtomic(a->out, ForecastCsv(relevelled, panel, freq, fc, a->alias, local, {}, {}, /*drop=median*/ 1));
      report();
      return;
    }
    const std::vector<float> fc = ForecastFrom(model, panel, origins, plan);
    // Conformal intervals around the point forecast, from the scores the checkpoint carries.
    std::vector<std::string> suffixes;
    std::vector<float> intervals;
    if (!a->level.empty()) {
      const auto it = info.find(kConformalKey);
      if (it == info.end())
        Fail("--level: " + a->model + " carries no conformity scores; train it with --prediction-intervals N" +
             (config.outputs_per_step() > 1 ? " (or use its own " + ToString(config.loss) + " quantile columns)" : std::string()));
      if (config.outputs_per_step() != 1 || config.single_quantile())
        Fail("--level: conformal intervals are for point losses; " + ToString(config.loss) + " forecasts quantiles itself");
      if (!local.empty())
        Fail("--level: conformal intervals of a model with local_scaler_type=" + ToString(config.local_scaler_type) +
             " are not supported: neuralforecast 3.3.0 adds its conformity scores (in the data's units) to the scaled\n"
             "forecasts and scales both back, which widens the intervals by each series' scale (docs/INTEROP.md)");
      const ConformalScores scores = Unwrap(ConformalFromJson(it->second, a->model));
      if (scores.h != config.h) Fail(a->model + ": its conformity scores are for h=" + std::to_string(scores.h));
      const std::vector<double> levels = Unwrap(ParseLevels(a->level, "level"));
      suffixes = ConformalColumnSuffixes(levels);
      for (std::size_t s = 0; s < panel.series.size(); ++s) {
        const std::vector<float> bounds =
            Unwrap(ConformalIntervals(scores, panel.series[s].unique_id, fc.data() + s * config.h, levels));
        intervals.insert(intervals.end(), bounds.begin(), bounds.end());
      }
    }
    WriteTextAtomic(a->out, ForecastCsv(model, panel, freq, fc, a->alias, local, suffixes, intervals));
    report();
  };
}

}  // namespace nhits::cli
