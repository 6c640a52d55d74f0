// nhits: train, evaluate and serve-from-the-command-line NHITS forecasting models.
#include <cstdio>
#include <exception>
#include <map>
#include <string>

#include "cli_common.h"
#include "commands.h"
#ifdef NHITS_WITH_CUDA
#include "backend/cuda/engine_backend.h"
#endif

int main(int argc, char** argv) {
#ifdef NHITS_WITH_CUDA
  nhits::cuda::RegisterEngineBackend();  // models served with --device cuda:N
#endif
  CLI::App app{
      "nhits: a C++ engine for the NHITS forecasting model (neuralforecast-compatible).\n"
      "Data is long-format CSV (unique_id,ds,y); models are safetensors files with\n"
      "neuralforecast's parameter names. Run `nhits <command> --help` for details."};
  app.require_subcommand(1);
  std::map<CLI::App*, nhits::cli::Action> actions;
  auto add = [&](const char* name, const char* help, nhits::cli::Action (*reg)(CLI::App&)) {
    CLI::App* sub = app.add_subcommand(name, help);
    actions[sub] = reg(*sub);
  };
  add("train", "Train a model on a long-format CSV and write a safetensors checkpoint", nhits::cli::RegisterTrain);
  add("predict", "Forecast h steps after the end of every series", nhits::cli::RegisterPredict);
  add("cv", "Rolling-origin cross-validation with metrics against Naive and SeasonalNaive",
      nhits::cli::RegisterCrossValidation);
  add("info", "Show a checkpoint's configuration, parameter count and FLOPs per forecast", nhits::cli::RegisterInfo);
  add("plot", "Draw history, forecast and intervals as an SVG", nhits::cli::RegisterPlot);
  add("benchmark", "Long-horizon accuracy protocol of the NHITS paper (ETT, Exchange, ILI, Weather)",
      nhits::cli::RegisterBenchmark);
  add("bench", "Inference latency/throughput sweep with the machine's roofline", nhits::cli::RegisterBench);
  add("quantize", "Write a BF16/INT8 checkpoint, calibrated on data, and report its accuracy change",
      nhits::cli::RegisterQuantize);
  add("serve", "Serve models over HTTP: KServe v2 REST API, /v1/forecast, Prometheus /metrics",
      nhits::cli::RegisterServe);
  add("loadgen", "Load-test an engine in-process or a server over HTTP: throughput, p50/p95/p99, errors",
      nhits::cli::RegisterLoadgen);
  add("batch", "Forecast a universe of assets by class and correlation group, degrading bad series to baselines",
      nhits::cli::RegisterBatch);
  add("export", "Write the model as an ONNX graph (ONNX Runtime, TensorRT), optionally with reference forecasts",
      nhits::cli::RegisterExport);
  add("hw", "Detected CPU features and the resolved runtime profile", nhits::cli::RegisterHw);
  add("demo", "Train on AirPassengers, forecast the last 12 months, compare, plot", nhits::cli::RegisterDemo);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  for (auto& [sub, action] : actions) {
    if (!sub->parsed()) continue;
    try {
      action();
      return 0;
    } catch (const nhits::cli::CommandError& e) {
      std::fprintf(stderr, "nhits %s: error: %s\n", sub->get_name().c_str(), e.message.c_str());
      return 1;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "nhits %s: internal error: %s\n", sub->get_name().c_str(), e.what());
      return 3;
    }
  }
  return 2;
}
