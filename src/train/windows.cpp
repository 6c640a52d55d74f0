#include "train/windows.h"

#include <algorithm>

namespace nhits {

std::vector<std::vector<WindowRef>> TrainingWindows(const NhitsConfig& c, const TrainOptions& o,
                                                    const std::vector<int>& usable, const Panel* panel) {
  const int L = c.input_size, H = c.h;
  const int longest = usable.empty() ? 0 : *std::max_element(usable.begin(), usable.end());
  const int left_pad = o.start_padding_enabled ? L - 1 : 0;
  const int padded = longest + left_pad + H;
  // neuralforecast: max(1, int(input_size * fraction)), the product in double as Python has it.
  const int need_in = std::max(1, static_cast<int>(static_cast<double>(L) * o.min_insample_fraction));
  const int need_out = std::max(1, static_cast<int>(static_cast<double>(H) * o.min_outsample_fraction));
  std::vector<std::vector<WindowRef>> windows(usable.size());
  std::vector<int> seen;  // seen[t]: observed points among the series' first t
  for (std::size_t s = 0; s < usable.size(); ++s) {
    const int T = usable[s];
    seen.assign(static_cast<std::size_t>(T) + 1, 0);
    for (int t = 0; t < T; ++t) {
      const bool observed = panel == nullptr || panel->series[s].observed(static_cast<std::size_t>(t));
      seen[static_cast<std::size_t>(t) + 1] = seen[static_cast<std::size_t>(t)] + (observed ? 1 : 0);
    }
    auto observed_in = [&](int from, int to) {  // observed points of [from, to), clipped to the series
      from = std::clamp(from, 0, T);
      to = std::clamp(to, 0, T);
      return seen[static_cast<std::size_t>(to)] - seen[static_cast<std::size_t>(from)];
    };
    const int offset = longest - T + left_pad;  // padded position of the series' first point
    for (int p = 0; p + L + H <= padded; p += o.step_size) {
      const int start = p - offset;
      if (observed_in(start, start + L) >= need_in && observed_in(start + L, start + L + H) >= need_out)
        windows[s].push_back({static_cast<int>(s), start});
    }
  }
  return windows;
}

std::vector<WindowRef> ValidationWindows(const NhitsConfig& c, const TrainOptions& o, const std::vector<int>& usable) {
  std::vector<WindowRef> refs;
  if (o.val_size <= 0) return refs;
  const int L = c.input_size, H = c.h;
  for (std::size_t s = 0; s < usable.size(); ++s) {
    const int T = usable[s];
    // A series shorter than val_size is left-padded, as neuralforecast pads its validation batch:
    // a window whose horizon reaches its data counts those points (GatherWindows masks the rest).
    for (int first = T - o.val_size; first + H <= T; first += o.val_step_size > 0 ? o.val_step_size : o.step_size)
      if (first + H > 0) refs.push_back({static_cast<int>(s), first - L});
  }
  return refs;
}

void GatherWindows(const Panel& panel, const std::vector<WindowRef>& refs, const std::vector<int>& limit,
                   int L, int H, WindowBatch* out) {
  const std::size_t n = refs.size();
  out->insample.resize(n * L);
  out->insample_mask.resize(n * L);
  out->outsample.resize(n * H);
  out->outsample_mask.resize(n * H);
  for (std::size_t i = 0; i < n; ++i) {
    const Series& series = panel.series[static_cast<std::size_t>(refs[i].series)];
    const auto& y = series.y;
    const int T = limit[static_cast<std::size_t>(refs[i].series)];
    for (int t = 0; t < L + H; ++t) {
      const int src = refs[i].start + t;
      const bool inside = src >= 0 && src < T;
      const bool present = inside && series.observed(static_cast<std::size_t>(src));
      const float v = inside ? static_cast<float>(y[static_cast<std::size_t>(src)]) : 0.0f;
      if (t < L) {
        out->insample[i * L + t] = v;
        out->insample_mask[i * L + t] = present ? 1.0f : 0.0f;
      } else {
        out->outsample[i * H + (t - L)] = v;
        out->outsample_mask[i * H + (t - L)] = present ? 1.0f : 0.0f;
      }
    }
    const auto& weights = series.sample_weight;
    if (!weights.empty()) {  // neuralforecast: the window's mean weight scales its outsample mask
      double sum = 0;
      for (int t = L; t < L + H; ++t)
        if (const int src = refs[i].start + t; src >= 0 && src < T) sum += weights[static_cast<std::size_t>(src)];
      const float w = static_cast<float>(sum / H);
      for (int j = 0; j < H; ++j) out->outsample_mask[i * H + j] *= w;
    }
  }
}

}  // namespace nhits
