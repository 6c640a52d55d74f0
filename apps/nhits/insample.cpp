#include "insample.h"

#include "cli_common.h"
#include "nhits/forecast.h"

namespace nhits::cli {

std::string InsampleCsv(const Model& model, const Panel& panel, const Frequency& freq, int step_size,
                        const PrecisionPlan& plan, const std::string& alias, const std::vector<LocalScale>& local) {
  const NhitsConfig& c = model.config();
  const int H = c.h, Q = c.outputs_per_step();
  Panel trimmed = panel;
  std::vector<ForecastOrigin> origins;
  std::vector<int> offset;  // per series: points trimmed at its start
  for (std::size_t s = 0; s < panel.series.size(); ++s) {
    Series& t = trimmed.series[s];
    const int T = static_cast<int>(t.y.size());
    const int off = T >= H ? (T - H) % step_size : 0;
    offset.push_back(off);
    t.y.erase(t.y.begin(), t.y.begin() + off);
    t.ds.erase(t.ds.begin(), t.ds.begin() + off);
    if (!t.available.empty()) t.available.erase(t.available.begin(), t.available.begin() + off);
    for (std::vector<double>& column : t.exog) column.erase(column.begin(), column.begin() + off);
    for (int end = 0; end + H <= T - off; end += step_size) origins.push_back({static_cast<int>(s), end});
  }
  const std::vector<float> fc = ForecastFrom(model, trimmed, origins, plan);
  std::string out = "unique_id,ds,cutoff";
  for (const std::string& name : c.output_names()) out += "," + alias + name;
  out += ",y\n";
  for (std::size_t w = 0; w < origins.size(); ++w) {
    const std::size_t s = static_cast<std::size_t>(origins[w].series);
    const Series& t = trimmed.series[s];
    const Series& whole = panel.series[s];
    const int end = origins[w].end, off = offset[s];
    const Timestamp cutoff = end > 0   ? t.ds[static_cast<std::size_t>(end - 1)]
                             : off > 0 ? whole.ds[static_cast<std::size_t>(off - 1)]
                                       : PreviousTimestamp(whole.ds.front(), freq);
    const std::string prefix = CsvField(t.unique_id) + ",";
    const std::string suffix = "," + FormatTimestamp(cutoff, panel.time_kind);
    for (int j = 0; j < H; ++j) {
      const std::size_t at = static_cast<std::size_t>(end + j);
      out += prefix + FormatTimestamp(t.ds[at], panel.time_kind) + suffix;
      for (int q = 0; q < Q; ++q) {
        const double v = fc[(w * H + static_cast<std::size_t>(j)) * Q + static_cast<std::size_t>(q)];
        out += "," + FormatValue(local.empty() ? v : local[s].Invert(v));
      }
      if (!t.observed(at)) {  // a missing truth stays empty
        out += ",\n";
        continue;
      }
      out += "," + FormatValue(local.empty() ? t.y[at] : local[s].Invert(t.y[at])) + "\n";
    }
  }
  return out;
}

}  // namespace nhits::cli
