// `nhits quantize`: writes a BF16 or INT8 checkpoint and says what it costs in accuracy.
// Calibration windows (the earlier part of each series) rank the layers by how much quantising
// each alone moves the forecast; layers are kept in FP32, most sensitive first, until the
// calibration error is within --max-error. Held-out windows (the later part, never used for the
// choice) then report the error against FP32 and the MAE against the actuals for both.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <numeric>

#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "commands.h"
#include "nhits/forecast.h"
#include "nhits/inference.h"
#include "nhits/local_scaler.h"
#include "nhits/model.h"

namespace nhits::cli {
namespace {

struct Windows {
  int count = 0;
  std::vector<float> insample, mask, actual;  // [n, L], [n, L], [n, h]
  std::vector<double> scale;                  // std of the window's series (1 if flat)
  ExogWindows exog;                           // the model's exogenous inputs, when it has any
};

// Evenly spaced full windows whose forecast origin lies in [lo, hi) of the series' points.
void AddWindows(const Series& s, const ExogColumns& cols, int L, int h, double lo, double hi, int per_series,
                Windows* w) {
  const int n = static_cast<int>(s.y.size());
  const int first = std::max(L, static_cast<int>(lo * n)), last = std::min(n - h, static_cast<int>(hi * n));
  if (last < first) return;
  // The series' scale, not the window's: a flat stretch would make any error look enormous.
  double mean = 0, var = 0;
  for (double v : s.y) mean += v / n;
  for (double v : s.y) var += (v - mean) * (v - mean) / n;
  const double scale = var > 1e-12 ? std::sqrt(var) : 1.0;
  const int span = last - first + 1, take = std::min(per_series, span);
  for (int k = 0; k < take; ++k) {
    const int end = first + static_cast<int>(static_cast<long long>(k) * span / take);
    const std::size_t at = w->insample.size();
    w->insample.resize(at + L);
    w->mask.resize(at + L);
    FillInsampleWindow(s, end, L, w->insample.data() + at, w->mask.data() + at);
    for (int j = 0; j < h; ++j) w->actual.push_back(static_cast<float>(s.y[static_cast<std::size_t>(end + j)]));
    AppendExogWindow(s, cols, end, L, h, n, &w->exog);  // futr values of the forecast steps from the data
    w->scale.push_back(scale);
    ++w->count;
  }
}

std::vector<float> Run(const Model& model, const PrecisionPlan& plan, const Windows& w) {
  const NhitsConfig& c = model.config();
  const int HQ = c.h * c.outputs_per_step(), chunk = std::min(w.count, 512);
  InferenceSession session(model, chunk, 0, plan);
  std::vector<float> out(static_cast<std::size_t>(w.count) * HQ);
  const std::size_t L = static_cast<std::size_t>(c.input_size), X = c.hist_exog_list.size(),
                    F = c.futr_exog_list.size(), S = c.stat_exog_list.size();
  for (int b = 0; b < w.count; b += chunk) {
    const int n = std::min(chunk, w.count - b);
    const std::size_t at = static_cast<std::size_t>(b) * L, B = static_cast<std::size_t>(b);
    const ExogBatch<float> exog{w.exog.hist.data() + B * L * X, w.exog.futr.data() + B * (L + c.h) * F,
                                w.exog.stat.data() + B * S};
    CheckOk(session.Predict(n, w.insample.data() + at, w.mask.data() + at, exog, out.data() + B * HQ));
  }
  return out;
}

struct Error {
  double max_over_scale = 0, mean_over_scale = 0;
};

// The largest forecast change per window over the series' scale. A Student-t's df column (with
// return_params) has no unit of the series, so it is left out.
Error Compare(const std::vector<float>& got, const std::vector<float>& ref, const Windows& w, const NhitsConfig& c) {
  const int hq = c.h * c.outputs_per_step(), columns = c.outputs_per_step();
  const int unitless = c.distribution_loss() && c.return_params && c.distribution == DistributionType::kStudentT
                           ? columns - 3
                           : -1;
  Error e;
  for (int b = 0; b < w.count; ++b) {
    double worst = 0;
    for (int i = 0; i < hq; ++i)
      if (i % columns != unitless)
        worst = std::max(worst, std::abs(static_cast<double>(got[static_cast<std::size_t>(b) * hq + i]) -
                                       ref[static_cast<std::size_t>(b) * hq + i]));
    e.max_over_scale = std::max(e.max_over_scale, worst / w.scale[b]);
    e.mean_over_scale += worst / w.scale[b] / w.count;
  }
  return e;
}

// MAE of the point forecast (the only output, MQLoss's median: point_column) against the actuals.
double Mae(const Model& model, const std::vector<float>& fc, const Windows& w) {
  const NhitsConfig& c = model.config();
  const int Q = c.outputs_per_step();
  double sum = 0;
  for (int b = 0; b < w.count; ++b)
    for (int j = 0; j < c.h; ++j)
      sum += std::abs(fc[(static_cast<std::size_t>(b) * c.h + j) * Q + c.point_column()] - w.actual[static_cast<std::size_t>(b) * c.h + j]);
  return w.count ? sum / (static_cast<double>(w.count) * c.h) : 0;
}

}  // namespace

Action RegisterQuantize(CLI::App& app) {
  struct Args {
    std::string model, calibration, out, precision = "int8", report, fallback = "bf16", static_data;
    double max_error = 0.01, holdout = 0.2;
    int windows = 512;
  };
  auto a = std::make_shared<Args>();
  app.add_option("--model", a->model, "FP32 checkpoint to quantise")->required();
  app.add_option("--calibration", a->calibration,
                 "Long-format CSV (unique_id,ds,y) of representative data: windows from the earlier part of each "
                 "series calibrate, windows from the last --holdout fraction are held out to report accuracy")
      ->required();
  app.add_option("--out", a->out, "Quantised checkpoint to write (.safetensors)")->required();
  app.add_option("--static-data", a->static_data,
                 "Models with stat_exog_list: CSV unique_id,<static columns> (hist/futr columns come from --calibration)");
  app.add_option("--precision", a->precision, "int8 or bf16")
      ->transform(OneOf({"int8", "bf16", "fp32"}, "precision"))  // fp32: refused below, saying why
      ->capture_default_str();
  app.add_option("--max-error", a->max_error,
                 "Largest calibration error allowed, as max |quantised - fp32| / the series' std; the most "
                 "sensitive layers move to --fallback until it holds")
      ->capture_default_str();
  CLI::Option* fallback_flag = app.add_option("--fallback", a->fallback,
                 "INT8 only: where a sensitive layer goes, bf16 (half the bytes of fp32, ~0.2% error) or fp32; with "
                 "bf16, layers move on to fp32 only if every layer in bf16 still misses --max-error (a BF16 checkpoint's "
                 "sensitive layers always go to fp32)")
      ->transform(OneOf({"bf16", "fp32"}, "fallback"))
      ->capture_default_str();
  app.add_option("--holdout", a->holdout, "Fraction of each series held out for the report")->capture_default_str();
  app.add_option("--windows", a->windows, "Calibration windows (as many again are held out)")->capture_default_str();
  app.add_option("--report", a->report, "Also write the report as JSON");
  return [a, fallback_flag] {
    const std::vector<FlagPath> inputs{{"--model", a->model}, {"--calibration", a->calibration}, {"--static-data", a->static_data}};
    CheckOutputPath({"--out", a->out}, inputs);
    if (!a->report.empty()) {
      std::vector<FlagPath> taken = inputs;
      taken.push_back({"--out", a->out});
      CheckOutputPath({"--report", a->report}, taken);
    }
    const Precision precision = Unwrap(ParsePrecision(a->precision));
    if (precision == Precision::kFp32) UsageFail("--precision: fp32 is the model as it is; choose int8 or bf16");
    if (precision == Precision::kBf16 && a->fallback == "bf16" && fallback_flag->count() > 0)
      UsageFail("--fallback bf16 with --precision bf16: a BF16 checkpoint's sensitive layers go to fp32");
    const bool bf16_fallback = precision == Precision::kInt8 && a->fallback == "bf16";
    if (!(a->holdout > 0 && a->holdout < 1)) UsageFail("--holdout: must be between 0 and 1 (exclusive)");
    if (!(a->max_error > 0)) UsageFail("--max-error: must be > 0");
    if (a->windows < 1) UsageFail("--windows: must be >= 1");
    CheckpointInfo info;
    const Model model = Unwrap(LoadCheckpoint(a->model, &info));
    if (Unwrap(PrecisionPlanFromMetadata(info)).precision != Precision::kFp32)
      Fail(a->model + " is already quantised (" + info[kPrecisionKey] + "); quantise the FP32 checkpoint");
    const NhitsConfig& c = model.config();
    Panel panel = LoadPanelFor(c, a->calibration, a->static_data);
    RefuseMissingPoints(panel, a->calibration, "calibration scores forecasts against every target, so it needs observed ones");
    // local_scaler_type: the windows the model sees at predict time are the locally scaled ones
    ApplyLocalScaler(c.local_scaler_type, &panel, &c.categorical);
    const ExogColumns cols = Unwrap(FindExogColumns(c, panel));
    const int per_series = std::max(1, a->windows / static_cast<int>(panel.series.size()));
    Windows calib, held;
    for (const Series& s : panel.series) {
      AddWindows(s, cols, c.input_size, c.h, 0.0, 1.0 - a->holdout, per_series, &calib);
      AddWindows(s, cols, c.input_size, c.h, 1.0 - a->holdout, 1.0, per_series, &held);
    }
    if (calib.count == 0 || held.count == 0) {
      std::size_t longest = 0;
      for (const Series& s : panel.series) longest = std::max(longest, s.y.size());
      // Both windows need h targets of their own: below 2h points no --holdout helps.
      Fail(a->calibration + ": no series is long enough for both a calibration and a held-out window of h=" +
           std::to_string(c.h) + " points (the longest has " + std::to_string(longest) + ")" +
           (longest < 2 * static_cast<std::size_t>(c.h) ? "; give series of at least 2h = " + std::to_string(2 * c.h) + " points"
                                                         : "; change --holdout (now " + std::to_string(a->holdout) +
                                                               ") or give longer series"));
    }
    std::fprintf(stderr, "calibrating on %d windows, holding out %d, from %zu series\n", calib.count, held.count,
                 panel.series.size());

    const std::vector<float> ref = Run(model, {}, calib);
    // Sensitivity: the calibration error with one layer quantised and all others FP32.
    const auto& blocks = model.network().layout().blocks;
    std::vector<std::pair<int, int>> all;
    for (std::size_t b = 0; b < blocks.size(); ++b)
      for (std::size_t l = 0; l < blocks[b].layers.size(); ++l) all.emplace_back(static_cast<int>(b), static_cast<int>(l));
    nlohmann::ordered_json sensitivity = nlohmann::json::array();
    std::vector<std::pair<double, std::pair<int, int>>> ranked;
    for (const auto& layer : all) {
      PrecisionPlan only{precision, {}};
      for (const auto& other : all)
        if (other != layer) only.fp32_layers.push_back(other);
      const Error e = Compare(Run(model, only, calib), ref, calib, c);
      ranked.push_back({e.max_over_scale, layer});
      sensitivity.push_back({{"layer", std::to_string(layer.first) + "." + std::to_string(layer.second)},
                             {"max_error_over_scale", e.max_over_scale}});
    }
    std::sort(ranked.begin(), ranked.end(), [](const auto& x, const auto& y) { return x.first > y.first; });
    // Most sensitive first: each layer moves to the fallback until the bound holds; with a BF16
    // fallback that is not enough, the BF16 layers then move on to FP32 in the same order.
    PrecisionPlan plan{precision, {}};
    Error calib_error = Compare(Run(model, plan, calib), ref, calib, c);
    for (const auto& [err, layer] : ranked) {
      if (calib_error.max_over_scale <= a->max_error) break;
      (bf16_fallback ? plan.bf16_layers : plan.fp32_layers).push_back(layer);
      calib_error = Compare(Run(model, plan, calib), ref, calib, c);
    }
    for (const auto& [err, layer] : ranked) {
      if (calib_error.max_over_scale <= a->max_error || !bf16_fallback) break;
      std::erase(plan.bf16_layers, layer);
      plan.fp32_layers.push_back(layer);
      calib_error = Compare(Run(model, plan, calib), ref, calib, c);
    }
    std::sort(plan.fp32_layers.begin(), plan.fp32_layers.end());
    std::sort(plan.bf16_layers.begin(), plan.bf16_layers.end());
    if (plan.fp32_layers.size() == all.size())  // a file tagged with the precision but FP32 throughout would mislead
      Fail("--max-error " + std::to_string(a->max_error) + " keeps every layer in fp32, so there is nothing quantised to "
           "write; the least sensitive layer alone gives " + std::to_string(ranked.back().first) + " of the series' std: "
           "raise --max-error above that");

    const std::vector<float> held_fp32 = Run(model, {}, held), held_q = Run(model, plan, held);
    const Error held_error = Compare(held_q, held_fp32, held, c);
    const double mae_fp32 = Mae(model, held_fp32, held), mae_q = Mae(model, held_q, held);
    CheckpointInfo out_info = info;
    // Static activation ranges beside the plan: ONNX QDQ export and TensorRT caches use them.
    out_info[kActivationAmaxKey] =
        ActivationRangesToJson(CalibrateActivationRanges(model, calib.insample.data(), calib.mask.data(), calib.count,
                                                         calib.exog.batch()));
    out_info["quantized_from"] = a->model;
    out_info["quantization_calibration"] = a->calibration;
    // SaveCheckpoint records no training settings without TrainOptions: keep the source's for `nhits info`.
    if (const std::string training = StoredTrainingSettings(a->model); !training.empty()) out_info["training"] = training;
    CheckOk(SaveCheckpoint(a->out, model, nullptr, out_info, plan));
    const InferenceSession probe(model, 1, 1, plan);

    std::printf("precision            %s\n", plan.Describe().c_str());
    std::printf("weights streamed     %.2f MB (fp32 %.2f MB)\n", probe.memory().packed_weight_bytes / 1e6,
                model.ParameterCount() * 4.0 / 1e6);
    std::printf("calibration error    max %.4f%%, mean %.4f%% of the series' std (bound %.4f%%)\n",
                100 * calib_error.max_over_scale, 100 * calib_error.mean_over_scale, 100 * a->max_error);
    std::printf("held-out error       max %.4f%%, mean %.4f%% of the series' std (%d windows)\n",
                100 * held_error.max_over_scale, 100 * held_error.mean_over_scale, held.count);
    // The bound is met on calibration windows only; say so when later windows miss it.
    if (held_error.max_over_scale > a->max_error)
      std::printf("note                 the held-out maximum is above --max-error %.4g (met on calibration windows only); a lower "
                  "--max-error moves more layers to %s\n",
                  a->max_error, bf16_fallback ? "bf16" : "fp32");
    std::printf("held-out MAE         fp32 %.6g  %s %.6g  (%+.3f%%)\n", mae_fp32, ToString(precision), mae_q,
                mae_fp32 > 0 ? 100 * (mae_q - mae_fp32) / mae_fp32 : 0.0);
    std::printf("                     (held out from calibration: the last %.0f%% of each series; if the model trained on\n"
                "                     them, this MAE is in-sample: calibrate on data it has not seen for out-of-sample)\n",
                100 * a->holdout);
    if (c.local_scaler_type != LocalScalerType::kNone)
      std::printf("                     (in the units of local_scaler_type=%s, as the model sees the series)\n",
                  ToString(c.local_scaler_type).c_str());
    std::printf("wrote                %s\n", a->out.c_str());
    if (!a->report.empty()) {
      nlohmann::ordered_json r = {{"model", a->model},
                                  {"calibration", a->calibration},
                                  {"out", a->out},
                                  {"precision", ToString(precision)},
                                  {"plan", plan.Describe()},
                                  {"max_error_bound", a->max_error},
                                  {"calibration_windows", calib.count},
                                  {"heldout_windows", held.count},
                                  {"calibration_max_error_over_scale", calib_error.max_over_scale},
                                  {"heldout_max_error_over_scale", held_error.max_over_scale},
                                  {"heldout_mean_error_over_scale", held_error.mean_over_scale},
                                  {"heldout_mae_fp32", mae_fp32},
                                  {"heldout_mae_quantized", mae_q},
                                  {"packed_weight_bytes", probe.memory().packed_weight_bytes},
                                  {"layer_sensitivity", sensitivity}};
      WriteTextAtomic(a->report, r.dump(1) + "\n");
    }
  };
}

}  // namespace nhits::cli
