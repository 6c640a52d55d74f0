#include "nhits/long_horizon.h"

#include <zlib.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <random>
#include <set>
#include <tuple>
#include <sstream>

#include "nhits/forecast.h"

namespace nhits {

const std::vector<LongHorizonDataset>& LongHorizonDatasets() {
  // Splits: Informer's Dataset_ETT_* borders for ETT, Autoformer's Dataset_Custom (70/10/20) for
  // the rest. Paper figures: NHITS (AAAI 2023) multivariate table; MAE is published for ETTm2 only.
  static const std::vector<LongHorizonDataset> kDatasets = {
      {"ETTh1", "raw/ETTh1.csv.gz", {8640, 2880, 2880}, 24, {96, 192, 336, 720}, {}, {}},
      {"ETTh2", "raw/ETTh2.csv.gz", {8640, 2880, 2880}, 24, {96, 192, 336, 720}, {}, {}},
      {"ETTm2", "raw/ETTm2.csv.gz", {34560, 11520, 11520}, 96, {96, 192, 336, 720},
       {0.176, 0.245, 0.295, 0.401}, {0.255, 0.305, 0.346, 0.413}},
      {"Exchange", "raw/exchange_rate.csv", {}, 7, {96, 192, 336, 720}, {0.092, 0.208, 0.371, 0.888}, {}},
      {"ILI", "raw/national_illness.csv", {}, 52, {24, 36, 48, 60}, {1.862, 2.071, 2.346, 2.560}, {}},
      {"Weather", "raw/weather.csv.gz", {}, 144, {96, 192, 336, 720}, {0.158, 0.211, 0.274, 0.351}, {}},
  };
  return kDatasets;
}

Result<LongHorizonDataset> FindLongHorizonDataset(const std::string& name) {
  std::string known;
  for (const auto& d : LongHorizonDatasets()) {
    if (d.name == name) return d;
    known += (known.empty() ? "" : ", ") + d.name;
  }
  return Status::InvalidArgument("unknown dataset '" + name + "' (known: " + known + ")");
}

namespace {

Result<std::string> ReadMaybeGzip(const std::string& path) {
  if (path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0) {
    gzFile f = gzopen(path.c_str(), "rb");
    if (f == nullptr) return Status::NotFound(path + ": cannot open");
    std::string out;
    char buf[1 << 16];
    int n = 0;
    while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
    const bool failed = n < 0;
    gzclose(f);
    if (failed) return Status::Corruption(path + ": gzip stream is corrupt");
    return out;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(path + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

Result<WideTable> ReadWideCsv(const std::string& path) {
  Result<std::string> text = ReadMaybeGzip(path);
  if (!text.ok()) return text.status();
  WideTable table;
  std::string_view rest(*text);
  int line_no = 0;
  while (!rest.empty()) {
    const std::size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    std::vector<std::string_view> fields;
    for (std::size_t pos = 0;;) {
      const std::size_t c = line.find(',', pos);
      fields.push_back(line.substr(pos, c == std::string_view::npos ? std::string_view::npos : c - pos));
      if (c == std::string_view::npos) break;
      pos = c + 1;
    }
    if (line_no == 1) {
      if (fields.size() < 2) return Status::InvalidArgument(path + ":1: need a date column and at least one channel");
      for (std::size_t i = 1; i < fields.size(); ++i) table.channels.emplace_back(fields[i]);
      table.values.resize(table.channels.size());
      continue;
    }
    if (fields.size() != table.channels.size() + 1)
      return Status::InvalidArgument(path + ":" + std::to_string(line_no) + ": " + std::to_string(fields.size()) +
                                     " fields, the header has " + std::to_string(table.channels.size() + 1));
    for (std::size_t i = 1; i < fields.size(); ++i) {
      double v = 0;
      const auto [p, ec] = std::from_chars(fields[i].data(), fields[i].data() + fields[i].size(), v);
      if (ec != std::errc() || p != fields[i].data() + fields[i].size() || !std::isfinite(v))
        return Status::InvalidArgument(path + ":" + std::to_string(line_no) + ": field '" + table.channels[i - 1] +
                                       "': '" + std::string(fields[i]) + "' is not a finite number");
      table.values[i - 1].push_back(v);
    }
  }
  if (table.channels.empty() || table.values[0].empty()) return Status::InvalidArgument(path + ": no data rows");
  return table;
}

Result<PreparedData> PrepareLongHorizon(const WideTable& table, const LongHorizonDataset& d) {
  const int n = static_cast<int>(table.values[0].size());
  PreparedData out;
  out.split = d.split;
  if (out.split.train == 0) {  // Autoformer's Dataset_Custom
    out.split.train = static_cast<int>(n * 0.7);
    out.split.test = static_cast<int>(n * 0.2);
    out.split.val = n - out.split.train - out.split.test;
  }
  if (out.split.train < 1 || out.split.val < 1 || out.split.test < 1)
    return Status::InvalidArgument(d.name + ": " + std::to_string(n) + " rows are too few to split into train, validation "
                                   "and test");
  const int used = out.split.train + out.split.val + out.split.test;
  if (used > n)
    return Status::InvalidArgument(d.name + ": the split needs " + std::to_string(used) + " rows, the file has " +
                                   std::to_string(n));
  out.panel.time_kind = TimeKind::kInteger;
  for (std::size_t c = 0; c < table.channels.size(); ++c) {
    const auto& v = table.values[c];
    double mean = 0, var = 0;
    for (int t = 0; t < out.split.train; ++t) mean += v[static_cast<std::size_t>(t)];
    mean /= out.split.train;
    for (int t = 0; t < out.split.train; ++t) var += (v[static_cast<std::size_t>(t)] - mean) * (v[static_cast<std::size_t>(t)] - mean);
    const double sd = std::sqrt(var / out.split.train);  // StandardScaler: population std
    Series s;
    s.unique_id = table.channels[c];
    for (int t = 0; t < used; ++t) {
      s.ds.push_back({t});
      s.y.push_back((v[static_cast<std::size_t>(t)] - mean) / (sd > 0 ? sd : 1.0));
    }
    out.panel.series.push_back(std::move(s));
  }
  return out;
}

LongHorizonScores EvaluateBaselineWindows(const PreparedData& data, int first, int last_end, int h, int m,
                                          int stride) {
  double nse = 0, nae = 0, sse = 0, sae = 0;
  long points = 0, windows = 0;
  std::vector<double> series_naive_mse;
  for (const Series& s : data.panel.series) {
    double series_nse = 0;
    long series_points = 0;
    for (int t0 = first; t0 + h <= last_end; t0 += stride) {
      const double naive = s.y[static_cast<std::size_t>(t0 - 1)];
      for (int j = 0; j < h; ++j) {
        const double y = s.y[static_cast<std::size_t>(t0 + j)];
        const int sidx = t0 - m + (j % m);
        const double seasonal = sidx >= 0 ? s.y[static_cast<std::size_t>(sidx)] : naive;
        nse += (naive - y) * (naive - y), nae += std::abs(naive - y), series_nse += (naive - y) * (naive - y);
        sse += (seasonal - y) * (seasonal - y), sae += std::abs(seasonal - y);
      }
      points += h, series_points += h;
      ++windows;
    }
    series_naive_mse.push_back(series_points > 0 ? series_nse / series_points : 0.0);
  }
  LongHorizonScores r;
  if (points == 0) return r;
  r.naive_mse = nse / points, r.naive_mae = nae / points;
  r.snaive_mse = sse / points, r.snaive_mae = sae / points;
  r.windows = windows;
  r.series_naive_mse = std::move(series_naive_mse);
  return r;
}

LongHorizonScores EvaluateWindows(const Model& model, const PreparedData& data, int first, int last_end, int m,
                                  int stride) {
  const NhitsConfig& c = model.config();
  const int L = c.input_size, H = c.h, Q = c.outputs_per_step();
  constexpr int kChunk = 2048;
  std::vector<float> insample, mask, fc;
  double se = 0, ae = 0;
  long points = 0;
  std::vector<double> series_mse;
  for (const Series& s : data.panel.series) {
    double series_se = 0;
    long series_points = 0;
    std::vector<int> starts;
    for (int t0 = first; t0 + H <= last_end; t0 += stride) starts.push_back(t0);
    for (std::size_t b = 0; b < starts.size(); b += kChunk) {
      const int n = static_cast<int>(std::min<std::size_t>(kChunk, starts.size() - b));
      insample.resize(static_cast<std::size_t>(n) * L);
      mask.resize(insample.size());
      for (int i = 0; i < n; ++i)
        FillInsampleWindow(s.y, starts[b + i], L, insample.data() + static_cast<std::size_t>(i) * L,
                           mask.data() + static_cast<std::size_t>(i) * L);
      fc.resize(static_cast<std::size_t>(n) * H * Q);
      model.PredictWindows(n, insample.data(), mask.data(), fc.data());
      for (int i = 0; i < n; ++i) {
        const int t0 = starts[b + i];
        for (int j = 0; j < H; ++j) {
          const double e = fc[(static_cast<std::size_t>(i) * H + j) * Q + c.point_column()] - s.y[static_cast<std::size_t>(t0 + j)];
          se += e * e, ae += std::abs(e), series_se += e * e;
        }
        points += H, series_points += H;
      }
    }
    series_mse.push_back(series_points > 0 ? series_se / series_points : 0.0);
  }
  LongHorizonScores r = EvaluateBaselineWindows(data, first, last_end, H, m, stride);
  if (points == 0) return r;
  r.mse = se / points, r.mae = ae / points;
  r.series_mse = std::move(series_mse);
  return r;
}

LongHorizonScores EvaluateTestWindows(const Model& model, const PreparedData& data, int m, int stride) {
  const int first = data.split.train + data.split.val;
  return EvaluateWindows(model, data, first, first + data.split.test, m, stride);
}

LongHorizonScores EvaluateValidationWindows(const Model& model, const PreparedData& data, int m, int stride) {
  return EvaluateWindows(model, data, data.split.train, data.split.train + data.split.val, m, stride);
}

LongHorizonScores EvaluateValidationBaselines(const PreparedData& data, int h, int m, int stride) {
  return EvaluateBaselineWindows(data, data.split.train, data.split.train + data.split.val, h, m, stride);
}

std::vector<SearchTrial> DrawPaperSearchTrials(int n, unsigned seed) {
  static const std::vector<std::vector<int>> kPool = {{1, 1, 1}, {2, 2, 2}, {4, 4, 4}, {8, 8, 8}, {8, 4, 1}, {16, 8, 1}};
  static const std::vector<std::vector<int>> kDownsample = {
      {168, 24, 1}, {24, 12, 1}, {180, 60, 1}, {60, 8, 1}, {40, 20, 1}};
  constexpr int kSeeds = 10;
  const int space = static_cast<int>(kPool.size() * kDownsample.size()) * kSeeds;
  n = std::clamp(n, 0, space);
  // The raw engine's output is fixed by the standard, unlike the distributions': same trials
  // on every platform.
  std::mt19937 rng(seed);
  std::set<std::tuple<std::size_t, std::size_t, int>> seen;
  std::vector<SearchTrial> trials;
  while (static_cast<int>(trials.size()) < n) {
    const std::size_t p = rng() % kPool.size(), d = rng() % kDownsample.size();
    const int s = 1 + static_cast<int>(rng() % kSeeds);
    if (!seen.insert({p, d, s}).second) continue;
    trials.push_back({kPool[p], kDownsample[d], s});
  }
  return trials;
}

std::vector<SearchTrial> DrawNeuralforecastEttSearchTrials(int n, unsigned seed) {
  static const std::vector<std::vector<int>> kPool = {{2, 2, 2}, {16, 8, 1}};
  static const std::vector<std::vector<int>> kDownsample = {{336, 48, 1}, {84, 12, 1}, {1, 1, 1}};
  static const int kSteps[] = {200, 1000};
  std::mt19937 rng(seed);
  // Drawn from raw engine output, not std::uniform_real_distribution: same trials everywhere.
  const auto unit = [&] { return static_cast<double>(rng()) / 4294967296.0; };
  std::vector<SearchTrial> trials;
  for (int i = 0; i < std::max(n, 0); ++i) {
    SearchTrial t;
    t.learning_rate = std::exp(std::log(1e-5) + unit() * (std::log(5e-3) - std::log(1e-5)));
    t.max_steps = kSteps[rng() % 2];
    t.n_pool_kernel_size = kPool[rng() % kPool.size()];
    t.n_freq_downsample = kDownsample[rng() % kDownsample.size()];
    t.random_seed = 1 + static_cast<int>(rng() % 9);
    trials.push_back(std::move(t));
  }
  return trials;
}

std::vector<SearchTrial> DrawNeuralforecastAutoSearchTrials(int n, unsigned seed, int h) {
  static const std::vector<std::vector<int>> kPool = {{2, 2, 1}, {1, 1, 1}, {2, 2, 2},
                                                      {4, 4, 4}, {8, 4, 1}, {16, 8, 1}};
  static const std::vector<std::vector<int>> kDownsample = {{168, 24, 1}, {24, 12, 1}, {180, 60, 1},
                                                            {60, 8, 1},   {40, 20, 1},  {1, 1, 1}};
  static const char* const kScaler[] = {"identity", "robust", "standard"};
  static const int kBatch[] = {32, 64, 128, 256}, kWindows[] = {128, 256, 512, 1024};
  std::mt19937 rng(seed);
  // Raw engine output only (see above): the same trials on every platform.
  const auto unit = [&] { return static_cast<double>(rng()) / 4294967296.0; };
  std::vector<SearchTrial> trials;
  for (int i = 0; i < std::max(n, 0); ++i) {
    SearchTrial t;
    t.input_size_multiplier = 1 + static_cast<int>(rng() % 5);
    t.step_size = rng() % 2 == 0 ? 1 : std::max(h, 1);
    t.n_pool_kernel_size = kPool[rng() % kPool.size()];
    t.n_freq_downsample = kDownsample[rng() % kDownsample.size()];
    t.learning_rate = std::exp(std::log(1e-4) + unit() * (std::log(1e-1) - std::log(1e-4)));
    t.scaler_type = kScaler[rng() % 3];
    t.max_steps = 500 + 100 * static_cast<int>(rng() % 11);
    t.batch_size = kBatch[rng() % 4];
    t.windows_batch_size = kWindows[rng() % 4];
    t.random_seed = 1 + static_cast<int>(rng() % 19);
    trials.push_back(std::move(t));
  }
  return trials;
}

}  // namespace nhits
