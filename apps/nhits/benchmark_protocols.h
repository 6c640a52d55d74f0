// The training protocols and search spaces `nhits benchmark` can run, as presets over the shared
// model/training flags: what each published protocol fixes, and what one search trial sets.
#pragma once

#include <string>
#include <vector>

#include "cli_common.h"
#include "nhits/long_horizon.h"

namespace nhits::cli {

// The paper's model and training loop as its code ran them. Flags given on the command line win.
void ApplyPaperProtocol(const CLI::App& app, ModelFlags& m);
// The fixed part of neuralforecast's ETT reruns (its search draws the rest).
void ApplyNeuralforecastEttRerun(const CLI::App& app, ModelFlags& m, int& input_size_multiplier);
// neuralforecast's AutoNHITS with its default search space: what the space does not draw.
void ApplyNeuralforecastAuto(const CLI::App& app, ModelFlags& m);

// The flags of one search trial for horizon h: `base` with what the trial draws.
ModelFlags ApplySearchTrial(ModelFlags base, const SearchTrial& trial, int h);

// "1,2,3": how the flags and the printed trials spell a list.
std::string JoinInts(const std::vector<int>& v);

}  // namespace nhits::cli
