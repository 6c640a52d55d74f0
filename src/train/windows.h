// Training and validation windows as neuralforecast's _create_windows builds them.
#pragma once

#include <random>
#include <vector>

#include "nhits/config.h"
#include "nhits/data.h"

namespace nhits {

// A window of L + h points of one series; `start` is the index of its first point in the series
// (negative when the window begins in the left zero padding).
struct WindowRef {
  int series = 0;
  int start = 0;
};

// Training windows of every series: the series truncated to `usable[i]` points, left-padded to
// the longest usable length (plus input_size - 1 zeros when start_padding_enabled), right-padded
// with h zeros, unfolded with stride step_size; a window is kept when its insample part holds at
// least max(1, int(L * min_insample_fraction)) observed points and its outsample part
// max(1, int(h * min_outsample_fraction)). Observed: within the series and, with `panel`, not
// masked by its available_mask. Result grouped by series.
std::vector<std::vector<WindowRef>> TrainingWindows(const NhitsConfig& config, const TrainOptions& options,
                                                    const std::vector<int>& usable, const Panel* panel = nullptr);

// Validation windows: the outsample part slides over the last val_size points before `usable`
// (stride step_size).
std::vector<WindowRef> ValidationWindows(const NhitsConfig& config, const TrainOptions& options,
                                         const std::vector<int>& usable);

// Raw values and masks of windows: insample [n, L], outsample [n, h] (points at or after
// `limit[series]` or before 0 are zero with mask 0; points the series' available_mask marks
// keep their value with mask 0, as neuralforecast's windows do).
struct WindowBatch {
  std::vector<float> insample, insample_mask, outsample, outsample_mask;
};
void GatherWindows(const Panel& panel, const std::vector<WindowRef>& refs, const std::vector<int>& limit,
                   int input_size, int h, WindowBatch* out);

}  // namespace nhits
