#include "nhits/forecast.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <tuple>

#include "nhits/inference.h"
#include "nhits/local_scaler.h"

namespace nhits {

void FillInsampleWindow(const std::vector<double>& y, int end, int input_size, float* insample, float* mask) {
  for (int t = 0; t < input_size; ++t) {
    const int src = end - input_size + t;
    const bool present = src >= 0 && src < static_cast<int>(y.size());
    insample[t] = present ? static_cast<float>(y[static_cast<std::size_t>(src)]) : 0.0f;
    mask[t] = present ? 1.0f : 0.0f;
  }
}

void FillInsampleWindow(const Series& series, int end, int input_size, float* insample, float* mask) {
  FillInsampleWindow(series.y, end, input_size, insample, mask);
  if (series.available.empty()) return;
  for (int t = 0; t < input_size; ++t)
    if (const int src = end - input_size + t; src >= 0 && src < static_cast<int>(series.available.size()))
      mask[t] = series.available[static_cast<std::size_t>(src)] != 0 ? mask[t] : 0.0f;
}

bool HasMissingPoints(const Panel& panel) {
  for (const Series& s : panel.series)
    if (std::find(s.available.begin(), s.available.end(), std::uint8_t{0}) != s.available.end()) return true;
  return false;
}

Result<ExogColumns> FindExogColumns(const NhitsConfig& c, const Panel& panel) {
  ExogColumns cols;
  auto find = [](const std::vector<std::string>& names, const std::string& name) {
    for (std::size_t i = 0; i < names.size(); ++i)
      if (names[i] == name) return static_cast<int>(i);
    return -1;
  };
  for (const auto& [list, dst, what] : {std::tuple{&c.hist_exog_list, &cols.hist, "hist_exog_list"},
                                        std::tuple{&c.futr_exog_list, &cols.futr, "futr_exog_list"}}) {
    for (const std::string& name : *list) {
      dst->push_back(find(panel.exog_names, name));
      if (dst->back() < 0)
        return Status::InvalidArgument(std::string("the model's ") + what + " names column '" + name +
                                       "', which the data was not read with (it must be a column of the data file)");
    }
  }
  for (const std::string& name : c.stat_exog_list) {
    cols.stat.push_back(find(panel.static_names, name));
    if (cols.stat.back() < 0)
      return Status::InvalidArgument("the model's stat_exog_list names column '" + name +
                                     "': give the static values with --static-data FILE (unique_id," + name + ",...)");
  }
  return cols;
}

void AppendExogWindow(const Series& s, const ExogColumns& cols, int end, int L, int H, int limit, ExogWindows* out) {
  auto value = [&](int col, int t) {
    const auto& v = s.exog[static_cast<std::size_t>(col)];
    return t >= 0 && t < limit && t < static_cast<int>(v.size()) ? static_cast<float>(v[static_cast<std::size_t>(t)]) : 0.0f;
  };
  for (int t = end - L; t < end; ++t)
    for (int col : cols.hist) out->hist.push_back(value(col, t));
  for (int t = end - L; t < end + H; ++t)
    for (int col : cols.futr) out->futr.push_back(value(col, t));
  for (int col : cols.stat) out->stat.push_back(static_cast<float>(s.static_values[static_cast<std::size_t>(col)]));
}

std::vector<float> ForecastFrom(const Model& model, const Panel& panel, const std::vector<ForecastOrigin>& origins,
                                const PrecisionPlan& precision) {
  const int L = model.config().input_size;
  const std::size_t n = origins.size();
  std::vector<float> insample(n * L), mask(n * L);
  for (std::size_t i = 0; i < n; ++i)
    FillInsampleWindow(panel.series[static_cast<std::size_t>(origins[i].series)], origins[i].end, L,
                       insample.data() + i * L, mask.data() + i * L);
  std::vector<float> out(n * static_cast<std::size_t>(model.config().h) * model.config().outputs_per_step());
  const NhitsConfig& c = model.config();
  ExogWindows exog;
  if (c.has_exog()) {
    const Result<ExogColumns> found = FindExogColumns(c, panel);
    if (!found.ok()) {  // a caller bug: commands check the columns when they load the data
      std::fprintf(stderr, "nhits: ForecastFrom: %s\n", found.status().message().c_str());
      std::abort();
    }
    for (const ForecastOrigin& o : origins) {
      const Series& s = panel.series[static_cast<std::size_t>(o.series)];
      for (int col : found->futr)
        if (static_cast<int>(s.exog[static_cast<std::size_t>(col)].size()) < o.end + c.h) {  // caller bug, as above
          std::fprintf(stderr, "nhits: ForecastFrom: series '%s' has no futr values up to step %d (AttachFutureCsv)\n",
                       s.unique_id.c_str(), o.end + c.h);
          std::abort();
        }
      AppendExogWindow(s, *found, o.end, L, c.h, std::numeric_limits<int>::max(), &exog);
    }
  }
  if (precision.precision == Precision::kFp32 || n == 0) {
    model.PredictWindows(static_cast<int>(n), insample.data(), mask.data(), exog.batch(), out.data());
    return out;
  }
  const int chunk = static_cast<int>(std::min<std::size_t>(n, 1024));
  const std::size_t hq = static_cast<std::size_t>(c.h) * c.outputs_per_step();
  const std::size_t X = c.hist_exog_list.size(), F = c.futr_exog_list.size(), S = c.stat_exog_list.size();
  InferenceSession session(model, chunk, 0, precision);
  for (std::size_t b = 0; b < n; b += static_cast<std::size_t>(chunk)) {
    const int m = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(chunk), n - b));
    const ExogBatch<float> e{exog.hist.data() + b * L * X, exog.futr.data() + b * (L + c.h) * F, exog.stat.data() + b * S};
    (void)session.Predict(m, insample.data() + b * L, mask.data() + b * L, e, out.data() + b * hq);
  }
  return out;
}

std::vector<float> ForecastFromHistories(const Model& model, const Panel& panel, const std::vector<ForecastOrigin>& origins) {
  const NhitsConfig& c = model.config();
  if (c.local_scaler_type == LocalScalerType::kNone) return ForecastFrom(model, panel, origins);
  // Each origin's history on its own (exogenous columns kept whole for their future values).
  Panel cut;
  cut.time_kind = panel.time_kind;
  cut.exog_names = panel.exog_names;
  cut.static_names = panel.static_names;
  std::vector<ForecastOrigin> at;
  for (const ForecastOrigin& o : origins) {
    Series s = panel.series[static_cast<std::size_t>(o.series)];
    s.y.resize(static_cast<std::size_t>(o.end));
    s.ds.resize(static_cast<std::size_t>(o.end));
    if (!s.available.empty()) s.available.resize(static_cast<std::size_t>(o.end));
    at.push_back({static_cast<int>(cut.series.size()), o.end});
    cut.series.push_back(std::move(s));
  }
  const std::vector<LocalScale> scales = ApplyLocalScaler(c.local_scaler_type, &cut, &c.categorical);
  std::vector<float> fc = ForecastFrom(model, cut, at);
  const std::size_t per_origin = static_cast<std::size_t>(c.h) * c.outputs_per_step();
  for (std::size_t i = 0; i < at.size(); ++i)
    for (std::size_t k = 0; k < per_origin; ++k)
      fc[i * per_origin + k] = static_cast<float>(scales[i].Invert(fc[i * per_origin + k]));
  return fc;
}

}  // namespace nhits
