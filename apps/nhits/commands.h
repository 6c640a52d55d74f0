// The `nhits` subcommands. Each registers its flags on `app` and returns the action to run
// once parsing succeeded.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace nhits::cli {

using Action = std::function<void()>;

Action RegisterTrain(CLI::App& app);
Action RegisterPredict(CLI::App& app);
Action RegisterCrossValidation(CLI::App& app);
Action RegisterInfo(CLI::App& app);
Action RegisterPlot(CLI::App& app);
Action RegisterDemo(CLI::App& app);
Action RegisterBenchmark(CLI::App& app);
Action RegisterBench(CLI::App& app);
Action RegisterHw(CLI::App& app);
Action RegisterQuantize(CLI::App& app);
Action RegisterServe(CLI::App& app);
Action RegisterLoadgen(CLI::App& app);
Action RegisterBatch(CLI::App& app);
Action RegisterExport(CLI::App& app);

}  // namespace nhits::cli
