// `nhits export --onnx`: the model as an ONNX graph, and optionally reference windows with this
// engine's forecasts for them, so another runtime's answers can be checked against ours.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <random>

#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "commands.h"
#include "io/onnx/onnx_export.h"
#include "nhits/conformal.h"
#include "nhits/distribution.h"
#include "nhits/model.h"
#include "nhits/safetensors.h"

namespace nhits::cli {

Action RegisterExport(CLI::App& app) {
  struct Args {
    std::string model, onnx, reference, tensorrt_cache;
    bool with_scaler = false, fp16 = false, int8 = false;
    int windows = 64;
  };
  auto a = std::make_shared<Args>();
  app.add_option("--model", a->model, "Checkpoint (.safetensors)")->required();
  app.add_option("--onnx", a->onnx, "ONNX file to write (opset 17, dynamic batch)")->required();
  app.add_flag("--with-scaler", a->with_scaler,
               "Put the model's temporal scaler in the graph: raw values in, original scale out "
               "(identity, standard, minmax, minmax1, revin; robust and invariant need a median, which ONNX lacks)");
  auto* fp16 = app.add_flag("--fp16", a->fp16, "FP16 weights and activations inside the graph (float32 inputs/outputs)");
  app.add_flag("--int8", a->int8,
               "INT8 QDQ graph from the calibration `nhits quantize` recorded (static activation scales, the "
               "checkpoint's per-channel INT8 weights; layers the checkpoint keeps in FP32 or BF16 are FP32 there)")
      ->excludes(fp16);
  app.add_option("--tensorrt-cache", a->tensorrt_cache,
                 "Also write TensorRT's INT8 calibration cache for this graph (needs a quantised checkpoint)");
  app.add_option("--reference", a->reference,
                 "Also write PREFIX.bin (insample, mask, any exogenous inputs, forecast as float32) and PREFIX.json:\n"
                 "random windows and this engine's forecasts for them, to check another runtime against");
  auto* windows = app.add_option("--reference-windows", a->windows, "Windows in the reference (1..65536)")
                      ->check(CLI::Range(1, 65536))
                      ->capture_default_str();
  return [a, windows] {
    if (a->reference.empty() && windows->count() > 0) UsageFail("--reference-windows applies to --reference, which is not given");
    CheckOutputPath({"--onnx", a->onnx}, {{"--model", a->model}});
    if (!a->reference.empty()) {
      CheckOutputPath({"--reference", a->reference + ".bin"}, {{"--model", a->model}, {"--onnx", a->onnx}});
      CheckOutputPath({"--reference", a->reference + ".json"}, {{"--model", a->model}, {"--onnx", a->onnx}});
    }
    CheckpointInfo info;
    const Model model = Unwrap(LoadCheckpoint(a->model, &info));
    if (!model.config().categorical.empty())
      std::fprintf(stderr,
                   "note: %s has categorical columns (cat_exog_list): their values in hist_exog/futr_exog/stat_exog are\n"
                   "      codes, 1 + the label's position in the vocabulary (`nhits info`), 0 for a label it lacks\n",
                   a->model.c_str());
    if (model.config().scaler_type == ScalerType::kRevin && !a->with_scaler)
      std::fprintf(stderr,
                   "note: %s uses scaler_type revin: without --with-scaler the graph forecasts in the scaled space, and\n"
                   "      scaling back needs y's learned pair: shift + revin_bias[0], scale * (relu(revin_weight[0]) + 1e-6)\n",
                   a->model.c_str());
    if (model.config().local_scaler_type != LocalScalerType::kNone)
      std::fprintf(stderr,
                   "note: %s has local_scaler_type=%s: the graph takes each series' values scaled as neuralforecast's\n"
                   "      local scaler does (statistics over the series' whole history) and forecasts in those units\n",
                   a->model.c_str(), ToString(model.config().local_scaler_type).c_str());
    if (info.count(kConformalKey) != 0)
      std::fprintf(stderr,
                   "note: %s carries conformity scores (--prediction-intervals); the graph forecasts the point only:\n"
                   "      the intervals come from `nhits predict --level` or the server's /v1/forecast \"level\"\n",
                   a->model.c_str());
    OnnxExportOptions eo;
    eo.with_scaler = a->with_scaler;
    eo.fp16 = a->fp16;
    eo.int8_qdq = a->int8;
    eo.plan = Unwrap(PrecisionPlanFromMetadata(info));
    eo.tensorrt_cache = a->tensorrt_cache;
    if (auto it = info.find(kActivationAmaxKey); it != info.end()) eo.activation_amax = Unwrap(ActivationRangesFromJson(it->second));
    if (eo.plan.precision != Precision::kFp32 && !a->int8)
      std::fprintf(stderr, "note: %s is quantised; the graph carries its dequantised weights in %s (--int8 for QDQ)\n",
                   a->model.c_str(), a->fp16 ? "FP16" : "FP32");
    if (!a->tensorrt_cache.empty()) CheckOutputPath({"--tensorrt-cache", a->tensorrt_cache}, {{"--model", a->model}, {"--onnx", a->onnx}});
    CheckOk(ExportOnnx(model, a->onnx, eo));
    const NhitsConfig& c = model.config();
    std::string columns;  // the last axis, as the graph's forecast_columns metadata names it
    for (const std::string& n : c.output_names()) columns += (columns.empty() ? "NHITS" : ", NHITS") + n;
    std::fprintf(stderr, "wrote %s: insample_y/insample_mask [batch, %d]%s -> forecast [batch, %d, %d]%s%s\n"
                 "forecast columns (last axis, also in the graph's forecast_columns metadata): %s\n",
                 a->onnx.c_str(), c.input_size, c.has_exog() ? " (+ hist_exog/futr_exog/stat_exog)" : "", c.h,
                 c.outputs_per_step(),
                 a->with_scaler ? ", scaler inside" : ", scaled space (no scaler inside)", a->fp16 ? ", FP16" : a->int8 ? ", INT8 QDQ" : "",
                 columns.c_str());
    if (a->reference.empty()) return;
    const int n = a->windows, L = c.input_size, HQ = c.h * c.outputs_per_step();
    std::mt19937 rng(17);
    std::normal_distribution<float> nd(0, 1);
    std::vector<float> x(static_cast<std::size_t>(n) * L), m(x.size(), 1.0f), y(static_cast<std::size_t>(n) * HQ);
    for (int b = 0; b < n; ++b) {
      // Raw-looking random walks for the scaler; unit-scale ones when the graph expects scaled input.
      float v = a->with_scaler ? 50.0f + 10.0f * b : 0.0f;
      const float step = a->with_scaler ? 2.0f : 0.3f;
      for (int t = 0; t < L; ++t) x[static_cast<std::size_t>(b) * L + t] = v += step * nd(rng);
      if (b % 4 == 3)  // a padded window, as for a series shorter than input_size
        for (int t = 0; t < std::min(L - 1, 1 + L / 3); ++t) x[static_cast<std::size_t>(b) * L + t] = 0, m[static_cast<std::size_t>(b) * L + t] = 0;
    }
    // Exogenous inputs: raw-looking levels with the scaler in the graph, unit-scale ones without.
    const std::size_t X = c.hist_exog_list.size(), F = c.futr_exog_list.size(), S = c.stat_exog_list.size();
    std::vector<float> hist(static_cast<std::size_t>(n) * L * X), futr(static_cast<std::size_t>(n) * (L + c.h) * F),
        stat(static_cast<std::size_t>(n) * S);
    for (auto* v : {&hist, &futr, &stat})
      for (std::size_t i = 0; i < v->size(); ++i) (*v)[i] = (a->with_scaler ? 20.0f + 5.0f * (i % 7) : 0.0f) + nd(rng);
    // Categorical columns: codes 0..cardinality + 1 (the first and the last unseen ones).
    for (const auto& [v, list] : {std::pair{&hist, &c.hist_exog_list}, {&futr, &c.futr_exog_list}, {&stat, &c.stat_exog_list}})
      for (std::size_t k = 0; k < list->size(); ++k)
        if (const CategoricalColumn* col = c.FindCategorical((*list)[k]))
          for (std::size_t i = k; i < v->size(); i += list->size())
            (*v)[i] = static_cast<float>(rng() % static_cast<unsigned>(col->cardinality + 2));
    const ExogBatch<float> raw_exog{hist.data(), futr.data(), stat.data()};
    // The network's own inputs: the codes' embedding rows (scaled space; PredictWindows embeds itself).
    Model::EmbeddedExog embedded;
    const ExogBatch<float> net_exog = model.NetworkExog(n, raw_exog, &embedded);
    // In scaled space the network sees what the graph passes it: zeros for y under exclude_insample_y.
    std::vector<float> net_x = x;
    if (c.exclude_insample_y) std::fill(net_x.begin(), net_x.end(), 0.0f);
    if (a->with_scaler) {
      model.PredictWindows(n, x.data(), m.data(), raw_exog, y.data());
    } else if (!c.distribution_loss()) {  // the graph's scaled space: the network itself
      Workspace<float> ws;
      model.network().Forward(n, net_x.data(), m.data(), net_exog, y.data(), ws, false, nullptr);
    } else {  // the same, its parameters decoded with shift 0 and scale 1
      Workspace<float> ws;
      const std::size_t HP = static_cast<std::size_t>(c.h) * c.network_outputs_per_step();
      std::vector<float> raw(static_cast<std::size_t>(n) * HP);
      model.network().Forward(n, net_x.data(), m.data(), net_exog, raw.data(), ws, false, nullptr);
      for (int b = 0; b < n; ++b)
        DecodeForecast(c, ScaleStats{}, raw.data() + static_cast<std::size_t>(b) * HP, y.data() + static_cast<std::size_t>(b) * HQ);
    }
    std::string bytes;
    for (const auto* v : {&x, &m, &hist, &futr, &stat, &y})
      bytes.append(reinterpret_cast<const char*>(v->data()), v->size() * sizeof(float));
    CheckOk(WriteFileAtomic(a->reference + ".bin", bytes));
    const nlohmann::json meta = {{"windows", n}, {"input_size", L}, {"h", c.h}, {"outputs", c.outputs_per_step()},
                                 {"hist_exog", X}, {"futr_exog", F}, {"stat_exog", S},
                                 {"with_scaler", a->with_scaler},
                                 {"precision", a->fp16 ? "fp16 graph" : a->int8 ? "int8 qdq graph" : "fp32 graph"},
                                 {"layout", "one array after another, each for all windows: insample [windows, input_size], "
                                            "mask [windows, input_size], hist_exog [windows, input_size, hist_exog], "
                                            "futr_exog [windows, input_size + h, futr_exog], stat_exog [windows, stat_exog] "
                                            "(each exog array only when the model has it), forecast [windows, h, outputs]; "
                                            "float32 little-endian. The forecasts are this engine's in FP32, whatever "
                                            "the graph's precision"}};
    WriteTextAtomic(a->reference + ".json", meta.dump(1) + "\n");
    std::fprintf(stderr, "wrote %s.bin/.json: %d reference windows\n", a->reference.c_str(), n);
  };
}

}  // namespace nhits::cli
