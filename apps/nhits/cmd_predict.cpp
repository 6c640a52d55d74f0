#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>

#include "cli_common.h"
#include "commands.h"
#include "nhits/conformal.h"
#include "nhits/forecast.h"
#include "nhits/model.h"

namespace nhits::cli {

// CSV header and rows of forecasts [series, h, Q] for the panel's series (neuralforecast layout)
// but for column `drop` (if any), then any interval columns [series, h, E] named by
// `extra_suffixes`.
std::string ForecastCsv(const Model& model, const Panel& panel, const Frequency& freq, const std::vector<float>& fc,
                        const std::string& alias, const std::vector<std::string>& extra_suffixes = {},
                        const std::vector<float>& extra = {}, int drop = -1) {
  const NhitsConfig& c = model.config();
  const int Q = c.outputs_per_step();
  const std::size_t E = extra_suffixes.size();
  std::string out = "unique_id,ds";
  const std::vector<std::string> names = c.output_names();
  for (int q = 0; q < Q; ++q)
    if (q != drop) out += "," + alias + names[static_cast<std::size_t>(q)];
  for (const std::string& suffix : extra_suffixes) out += "," + alias + suffix;
  out += '\n';
  for (std::size_t s = 0; s < panel.series.size(); ++s) {
    const Series& series = panel.series[s];
    const auto future = FutureTimestamps(series.ds.back(), freq, c.h);
    for (int j = 0; j < c.h; ++j) {
      out += series.unique_id + "," + FormatTimestamp(future[static_cast<std::size_t>(j)], panel.time_kind);
      for (int q = 0; q < Q; ++q)
        if (q != drop) out += "," + FormatValue(fc[(s * c.h + j) * Q + q]);
      for (std::size_t e = 0; e < E; ++e) out += "," + FormatValue(extra[(s * c.h + j) * E + e]);
      out += '\n';
    }
  }
  return out;
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
    std::string model, data, out, freq, alias = "NHITS", precision, futr_data, static_data, level;
  };
  auto a = std::make_shared<Args>();
  app.add_option("--model", a->model, "Checkpoint (.safetensors)")->required();
  app.add_option("--data", a->data, "Long-format CSV: each series is forecast from its last input_size points")
      ->required();
  app.add_option("--out", a->out, "Forecast CSV to write: unique_id,ds,NHITS[,NHITS-lo-90,...]")->required();
  app.add_option("--futr-data", a->futr_data,
                 "Models with futr_exog_list: CSV unique_id,ds,<futr columns> with each series' next h values\n"
                 "(neuralforecast's futr_df)");
  app.add_option("--static-data", a->static_data, "Models with stat_exog_list: CSV unique_id,<static columns>");
  app.add_option("--level", a->level,
                 "Prediction intervals at these levels (e.g. 80,90), as neuralforecast's predict(level=...):\n"
                 "conformal ones for a model trained with --prediction-intervals (adds NHITS-lo-90,...,NHITS-hi-90),\n"
                 "or a DistributionLoss model's own quantiles at these levels instead of its trained ones");
  app.add_option("--freq", a->freq, "Frequency of ds (default: inferred), e.g. D, B, W, ME, MS, h, 15min, 1");
  app.add_option("--alias", a->alias, "Name of the forecast column")->capture_default_str();
  app.add_option("--precision", a->precision,
                 "fp32, bf16 or int8 (default: the checkpoint's own; a quantised checkpoint keeps its FP32 layers)");
  return [a] {
    CheckOutputPath(a->out);
    CheckpointInfo info;
    const Model model = Unwrap(LoadCheckpoint(a->model, &info));
    PrecisionPlan plan = Unwrap(PrecisionPlanFromMetadata(info));
    if (!a->precision.empty()) {
      const Precision p = ParsePrecisionList(a->precision, "precision").front();
      if (p != plan.precision) plan = PrecisionPlan{p, {}, {}};
    }
    const NhitsConfig& config = model.config();
    Panel panel = LoadPanelFor(config, a->data, a->static_data);
    const Frequency freq = ResolveFrequency(panel, a->freq);
    AttachFutureFor(config, a->futr_data, freq, &panel);
    std::vector<ForecastOrigin> origins;
    for (std::size_t s = 0; s < panel.series.size(); ++s)
      origins.push_back({static_cast<int>(s), static_cast<int>(panel.series[s].y.size())});
    WarnAboutShortSeries(panel, model.config().input_size);
    if (config.distribution_loss() && !a->level.empty()) {
      // The distribution has every quantile: the same weights, decoded at the asked levels. As
      // neuralforecast's predict(level=...), sorted and de-duplicated, without the median column.
      std::vector<int> levels = ParseIntList(a->level, "level");
      std::sort(levels.begin(), levels.end());
      levels.erase(std::unique(levels.begin(), levels.end()), levels.end());
      NhitsConfig at_levels = config;
      at_levels.level = levels;
      if (Status st = at_levels.Validate(); !st.ok()) Fail("--level: " + st.message());
      Model relevelled(at_levels);
      relevelled.mutable_network().params() = model.network().params();
      const std::vector<float> fc = ForecastFrom(relevelled, panel, origins, plan);
      WriteTextAtomic(a->out, ForecastCsv(relevelled, panel, freq, fc, a->alias, {}, {}, /*drop=median*/ 1));
      std::fprintf(stderr, "wrote %zu series x %d steps (freq %s, %s) to %s\n", panel.series.size(), config.h,
                   freq.ToString().c_str(), plan.Describe().c_str(), a->out.c_str());
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
      const ConformalScores scores = Unwrap(ConformalFromJson(it->second, a->model));
      if (scores.h != config.h) Fail(a->model + ": its conformity scores are for h=" + std::to_string(scores.h));
      const std::vector<int> levels = ParseIntList(a->level, "level");
      suffixes = ConformalColumnSuffixes(levels);
      for (std::size_t s = 0; s < panel.series.size(); ++s) {
        const std::vector<float> bounds =
            Unwrap(ConformalIntervals(scores, panel.series[s].unique_id, fc.data() + s * config.h, levels));
        intervals.insert(intervals.end(), bounds.begin(), bounds.end());
      }
    }
    WriteTextAtomic(a->out, ForecastCsv(model, panel, freq, fc, a->alias, suffixes, intervals));
    std::fprintf(stderr, "wrote %zu series x %d steps (freq %s, %s) to %s\n", panel.series.size(), model.config().h,
                 freq.ToString().c_str(), plan.Describe().c_str(), a->out.c_str());
  };
}

}  // namespace nhits::cli
