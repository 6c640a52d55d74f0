// nhits: train, evaluate and serve-from-the-command-line NHITS forecasting models.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "cli_common.h"
#include "commands.h"
#ifdef NHITS_WITH_CUDA
#include "backend/cuda/engine_backend.h"
#endif

namespace {

// Levenshtein distance, to suggest the command a typo meant (`nhits trian` -> train).
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t substitute = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      diagonal = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, substitute});
    }
  }
  return row[b.size()];
}

// CLI11 answers both `nhits` and `nhits trian` with "A subcommand is required", which names
// neither the commands nor the typo; say which commands exist and which one was probably meant.
// Returns an exit code, or -1 to let CLI11 parse.
int ExplainMissingOrUnknownCommand(CLI::App& app, int argc, char** argv) {
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands({})) names.push_back(sub->get_name());
  if (argc < 2) {
    std::fprintf(stderr, "%s", app.help().c_str());
    std::fprintf(stderr, "\nnhits: a command is required (one of the subcommands above)\n");
    return 2;
  }
  const std::string first = argv[1];
  if (first.empty() || first[0] == '-') return -1;
  if (std::find(names.begin(), names.end(), first) != names.end()) return -1;
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  std::fprintf(stderr, "nhits: unknown command '%s'", first.c_str());
  const auto closest = std::min_element(names.begin(), names.end(), [&](const auto& x, const auto& y) {
    return EditDistance(first, x) < EditDistance(first, y);
  });
  // At most 2 edits, and at most half the word: `nhits x` is no typo of `cv`.
  if (closest != names.end() && EditDistance(first, *closest) <= std::min<size_t>(2, first.size() / 2)) {
    std::fprintf(stderr, "; did you mean '%s'?", closest->c_str());
  }
  std::fprintf(stderr, "\ncommands: %s (`nhits --help` describes each)\n", list.c_str());
  return 2;
}

// CLI11 reports a mistyped flag as "The following arguments were not expected: 3 --horizon" (its
// value first); name the flag, the closest one the command has, and where the list is.
// Returns an exit code, or -1 when no argument is an unknown flag of the command.
int ExplainUnknownOption(CLI::App& app, int argc, char** argv) {
  if (argc < 2) return -1;
  const CLI::App* sub = nullptr;
  for (const CLI::App* s : app.get_subcommands({}))
    if (s->get_name() == argv[1]) sub = s;
  if (sub == nullptr) return -1;
  std::vector<std::string> names;
  for (const CLI::Option* o : sub->get_options())
    for (const std::string& n : o->get_lnames()) names.push_back("--" + n);
  for (int i = 2; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag.rfind("--", 0) != 0 || flag.size() == 2) continue;
    flag = flag.substr(0, flag.find('='));
    if (std::find(names.begin(), names.end(), flag) != names.end()) continue;
    std::fprintf(stderr, "nhits %s: error: unknown option '%s'", argv[1], flag.c_str());
    const auto closest = std::min_element(names.begin(), names.end(), [&](const auto& x, const auto& y) {
      return EditDistance(flag, x) < EditDistance(flag, y);
    });
    // neuralforecast's and other tools' names for the horizon, which is --h here as in neuralforecast's h=.
    const bool horizon = (flag == "--horizon" || flag == "--H" || flag == "--fh") &&
                         std::find(names.begin(), names.end(), "--h") != names.end();
    if (horizon)
      std::fprintf(stderr, "; the horizon is --h (neuralforecast's h)");
    else if (closest != names.end() && EditDistance(flag, *closest) <= std::max<std::size_t>(2, flag.size() / 4))
      std::fprintf(stderr, "; did you mean '%s'?", closest->c_str());
    std::fprintf(stderr, "\n(`nhits %s --help` lists its options)\n", argv[1]);
    return 2;  // a usage error, as every other one (main)
  }
  return -1;
}

// `-h 12` reads like the horizon, but -h is help: CLI11 would print the help and exit 0 with
// nothing forecast, which a script takes for success. Returns an exit code, or -1.
int RefuseShortHWithAValue(CLI::App& app, int argc, char** argv) {
  if (argc < 3) return -1;
  bool has_h = false;
  for (const CLI::App* s : app.get_subcommands({}))
    if (s->get_name() == argv[1]) has_h = s->get_option_no_throw("--h") != nullptr;
  if (!has_h) return -1;
  for (int i = 2; i + 1 < argc; ++i) {
    if (std::string(argv[i]) != "-h") continue;
    const std::string value = argv[i + 1];
    if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos) continue;
    std::fprintf(stderr, "nhits %s: error: '-h %s' asks for help; the horizon is --h %s\n", argv[1], value.c_str(),
                 value.c_str());
    return 2;
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
#ifdef NHITS_WITH_CUDA
  nhits::cuda::RegisterEngineBackend();  // models served with --device cuda:N
#endif
  CLI::App app{
      "nhits: a C++ engine for the NHITS forecasting model (neuralforecast-compatible).\n"
      "Data is long-format CSV (unique_id,ds,y); models are safetensors files with\n"
      "neuralforecast's parameter names. Run `nhits <command> --help` for details."};
  app.name("nhits");  // the usage line, before argv[0] is known
  app.set_version_flag("--version", std::string("nhits ") + NHITS_VERSION +
#ifdef NHITS_WITH_CUDA
                                        " (CUDA backend compiled in)"
#else
                                        " (CPU only: built without nvcc)"
#endif
  );
  app.require_subcommand(1);
  app.footer("Exit status: 0 done; 1 the command failed (a file, the data or the model); 2 the command line\n"
             "is wrong (an unknown flag, a flag's value, flags that do not go together); 3 an internal error.");
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
  if (const int rc = ExplainMissingOrUnknownCommand(app, argc, argv); rc >= 0) return rc;
  if (const int rc = RefuseShortHWithAValue(app, argc, argv); rc >= 0) return rc;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    // Every usage error the same way, as the commands' own errors ("nhits train: error: ..."),
    // with exit status 2 (a usage error, as getopt tools use it; 1 is a failed command), so a
    // script can tell them apart without CLI11's internal codes (105, 109, 114, ...).
    const std::string sub = argc >= 2 && argv[1][0] != '-' ? std::string(" ") + argv[1] : std::string();
    // CLI11 says "--h: At Most 1 required but received 2" for a repeated flag.
    const std::string what = e.what(), marker = ": At Most 1 required but received ";
    if (const std::size_t at = what.find(marker); at != std::string::npos) {
      std::fprintf(stderr, "nhits%s: error: %s is given %s times; give it once\n", sub.c_str(), what.substr(0, at).c_str(),
                   what.substr(at + marker.size()).c_str());
      return 2;
    }
    if (const int rc = ExplainUnknownOption(app, argc, argv); rc >= 0) return rc;
    std::fprintf(stderr, "nhits%s: error: %s\n(`nhits%s --help` lists its options)\n", sub.c_str(), what.c_str(),
                 sub.c_str());
    return 2;
  } catch (const nhits::cli::CommandError& e) {  // an option's own callback refused its value
    const std::string sub = argc >= 2 && argv[1][0] != '-' ? std::string(" ") + argv[1] : std::string();
    std::fprintf(stderr, "nhits%s: error: %s\n", sub.c_str(), e.message.c_str());
    return e.exit_code;
  }
  for (auto& [sub, action] : actions) {
    if (!sub->parsed()) continue;
    try {
      action();
      return 0;
    } catch (const nhits::cli::CommandError& e) {
      std::fprintf(stderr, "nhits %s: error: %s\n", sub->get_name().c_str(), e.message.c_str());
      return e.exit_code;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "nhits %s: internal error: %s\n", sub->get_name().c_str(), e.what());
      return 3;
    }
  }
  return 2;
}
