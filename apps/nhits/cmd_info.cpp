#include <cstdio>
#include <map>
#include <memory>

#include "cli_common.h"
#include "commands.h"
#include "nhits/conformal.h"
#include "nhits/model.h"
#include "nhits/precision.h"
#include "serve/hash128.h"

namespace nhits::cli {

Action RegisterInfo(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  app.add_option("--model", *path, "Checkpoint (.safetensors)")->required();
  return [path] {
    CheckpointInfo info;
    const Model model = Unwrap(LoadCheckpoint(*path, &info));
    const NhitsConfig& c = model.config();
    std::printf("model        %s\n", path->c_str());
    std::printf("config       %s\n", ConfigToJson(c).c_str());
    // The training settings this engine stored beside the architecture (neuralforecast's names).
    if (const std::string training = StoredTrainingSettings(*path); !training.empty())
      std::printf("training     %s\n", training.c_str());
    std::printf("parameters   %lld (%.2f MB as float32)\n", static_cast<long long>(model.ParameterCount()),
                model.ParameterCount() * 4.0 / 1e6);
    std::printf("FLOPs        %lld per forecast (%.3f MFLOP)\n", static_cast<long long>(model.FlopsPerForecast()),
                model.FlopsPerForecast() / 1e6);
    const PrecisionPlan plan = Unwrap(PrecisionPlanFromMetadata(info));
    std::printf("precision    %s\n", plan.Describe().c_str());
    // Where the weights came from, and a hash of them (not of the file: metadata may change).
    std::string origin = info.count("source") ? "imported from " + info.at("source") +
                                                    (info.count("neuralforecast_version") ? " " + info.at("neuralforecast_version") : "")
                         : info.count("steps") ? "trained here (" + info.at("steps") + " steps)"
                                               : "unknown (no training or import record)";
    if (info.count("alias")) origin += ", alias '" + info.at("alias") + "' (predict's column names)";
    if (plan.precision != Precision::kFp32)
      origin += ", quantised to " + std::string(ToString(plan.precision)) +
                (info.count("quantized_from") ? " from " + info.at("quantized_from") : "");
    std::printf("origin       %s\n", origin.c_str());
    const auto& params = model.network().params();
    const serve::Hash128 hash = serve::HashBytes(params.data(), params.size() * sizeof(float));
    std::printf("weights hash %016llx%016llx (128-bit, of the %s, not of the file)\n",
                static_cast<unsigned long long>(hash.hi), static_cast<unsigned long long>(hash.lo),
                plan.precision == Precision::kFp32 ? "float32 parameters" : "dequantised parameters: differs from the source's");
    std::string outputs;
    for (const auto& n : c.output_names()) outputs += (outputs.empty() ? "" : ", ") + ("NHITS" + n);
    std::printf("outputs      %s\n", outputs.c_str());
    if (c.has_exog())
      std::printf("exogenous    futr [%s], hist [%s], stat [%s]: MLP input y | hist | futr | stat\n",
                  JoinNames(c.futr_exog_list).c_str(), JoinNames(c.hist_exog_list).c_str(),
                  JoinNames(c.stat_exog_list).c_str());
    for (const CategoricalColumn& col : c.categorical)  // labels, embedded after each stream's numbers
      std::printf("categorical  %s: %zu labels seen in the fit (cardinality %d), embedding of %d\n", col.name.c_str(),
                  col.vocabulary.size(), col.cardinality, col.emb_dim);
    if (c.scaler_type == ScalerType::kRevin)  // learned with a DistributionLoss, 0 and 1 with a point loss
      std::printf("revin        y: shift + %g, scale * (relu(%g) + 1e-6), on the way back only\n",
                  c.revin_bias.empty() ? 0.0 : c.revin_bias[0], c.revin_weight.empty() ? 1.0 : c.revin_weight[0]);
    std::printf("blocks       stack  pool  Lp   in    knots  n_theta  params\n");
    const auto& layout = model.network().layout();
    for (std::size_t b = 0; b < layout.blocks.size(); ++b) {
      const BlockLayout& blk = layout.blocks[b];
      long params = 0;
      for (const auto& l : blk.layers) params += static_cast<long>(l.in) * l.out + l.out;
      std::printf("  blocks.%-3zu %5d  %4d  %-4d %-5d %5d  %7d  %ld\n", b, blk.stack, blk.pool_kernel, blk.pooled_size,
                  blk.in_features, blk.knots, blk.n_theta, params);
    }
    for (const auto& [k, v] : info) {
      // Said above (precision, origin, training) or internal to the file format.
      if (k == "format" || k == "training" || k == "quantized_from" || k == kPrecisionKey || k == kFp32LayersKey ||
          k == kBf16LayersKey)
        continue;
      if (k == kActivationAmaxKey) {  // numbers for QDQ export, not for reading
        const auto ranges = ActivationRangesFromJson(v);
        std::size_t layers = 0;
        if (ranges.ok())
          for (const auto& block : *ranges) layers += block.size();
        std::printf("activations  %s\n", ranges.ok() ? ("calibrated ranges of " + std::to_string(layers) + " layer inputs in " +
                                                         std::to_string(ranges->size()) + " blocks (`nhits export --int8` uses them)")
                                                            .c_str()
                                                      : ("unreadable: " + ranges.status().message()).c_str());
        continue;
      }
      if (k == "quantization_calibration") {
        std::printf("calibrated   on %s\n", v.c_str());
        continue;
      }
      if (k == kConformalKey) {  // thousands of scores: say what they are instead
        const Result<ConformalScores> s = ConformalFromJson(v, *path);
        if (s.ok())
          std::printf("intervals    %s on %d windows (step %d) for %zu series: nhits predict --level 80,90\n",
                      s->method.c_str(), s->n_windows, s->step_size, s->by_series.size());
        else
          std::printf("intervals    unreadable: %s\n", s.status().message().c_str());
        continue;
      }
      std::printf("%-12s %s\n", k.c_str(), v.c_str());
    }
  };
}

}  // namespace nhits::cli
