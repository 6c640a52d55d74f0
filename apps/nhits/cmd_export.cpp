// `nhits export --onnx`: the model as an ONNX graph, and optionally reference windows with this
// engine's forecasts for them, so another runtime's answers can be checked against ours.
#include <cstdio>
#include <memory>
#include <random>

#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "commands.h"
#include "io/onnx/onnx_export.h"
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
               "(identity, standard, minmax, minmax1)");
  app.add_flag("--fp16", a->fp16, "FP16 weights and activations inside the graph (float32 inputs/outputs)");
  app.add_flag("--int8", a->int8,
               "INT8 QDQ graph from the calibration `nhits quantize` recorded (static activation scales, the "
               "checkpoint's per-channel INT8 weights; FP32-kept layers stay FP32)");
  app.add_option("--tensorrt-cache", a->tensorrt_cache,
                 "Also write TensorRT's INT8 calibration cache for this graph (needs a quantised checkpoint)");
  app.add_option("--reference", a->reference,
                 "Also write PREFIX.bin (insample, mask, forecast as float32) and PREFIX.json: random windows "
                 "and this engine's forecasts for them, to check another runtime against");
  app.add_option("--reference-windows", a->windows, "Windows in the reference")->capture_default_str();
  return [a] {
    CheckOutputPath(a->onnx);
    if (!a->reference.empty()) CheckOutputPath(a->reference + ".bin");
    CheckpointInfo info;
    const Model model = Unwrap(LoadCheckpoint(a->model, &info));
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
    if (!a->tensorrt_cache.empty()) CheckOutputPath(a->tensorrt_cache);
    CheckOk(ExportOnnx(model, a->onnx, eo));
    const NhitsConfig& c = model.config();
    std::fprintf(stderr, "wrote %s: insample_y/insample_mask [batch, %d] -> forecast [batch, %d, %d]%s%s\n",
                 a->onnx.c_str(), c.input_size, c.h, c.outputs_per_step(),
                 a->with_scaler ? ", scaler inside" : ", scaled space (no scaler inside)", a->fp16 ? ", FP16" : a->int8 ? ", INT8 QDQ" : "");
    if (a->reference.empty()) return;
    if (a->windows < 1) Fail("--reference-windows must be >= 1");
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
    if (a->with_scaler) {
      model.PredictWindows(n, x.data(), m.data(), y.data());
    } else {
      Workspace<float> ws;
      model.network().Forward(n, x.data(), m.data(), y.data(), ws, false, nullptr);
    }
    std::string bytes;
    for (const auto* v : {&x, &m, &y}) bytes.append(reinterpret_cast<const char*>(v->data()), v->size() * sizeof(float));
    CheckOk(WriteFileAtomic(a->reference + ".bin", bytes));
    const nlohmann::json meta = {{"windows", n}, {"input_size", L}, {"h", c.h}, {"outputs", c.outputs_per_step()},
                                 {"with_scaler", a->with_scaler}, {"layout", "insample, mask, forecast; float32 LE"}};
    WriteTextAtomic(a->reference + ".json", meta.dump(1) + "\n");
    std::fprintf(stderr, "wrote %s.bin/.json: %d reference windows\n", a->reference.c_str(), n);
  };
}

}  // namespace nhits::cli
