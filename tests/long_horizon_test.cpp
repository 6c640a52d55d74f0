// The long-horizon protocol's pieces: wide CSV reading, the split and standardisation, which
// windows validation and test score, and the paper's hyperparameter search draws.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>
#include <string>

#include "nhits/long_horizon.h"

namespace nhits {
namespace {

std::string WriteTemp(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

TEST(WideCsvTest, ReadsChannelsAndNamesBadFields) {
  const std::string ok = WriteTemp("wide_ok.csv", "date,a,b\n2020,1,2\r\n2021,3,4\n");
  Result<WideTable> t = ReadWideCsv(ok);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->channels, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(t->values[1], (std::vector<double>{2, 4}));

  const std::string bad = WriteTemp("wide_bad.csv", "date,a,b\n2020,1,2\n2021,3,x\n");
  Result<WideTable> b = ReadWideCsv(bad);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().ToString().find(bad + ":3: field 'b': 'x'"), std::string::npos) << b.status().ToString();

  const std::string short_row = WriteTemp("wide_short.csv", "date,a,b\n2020,1\n");
  Result<WideTable> s = ReadWideCsv(short_row);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().ToString().find(":2: 2 fields, the header has 3"), std::string::npos) << s.status().ToString();
}

// A dataset of `n` rows split 70/10/20 with channel c = c + t^1.5 / n (a trend, so training
// and test statistics differ).
PreparedData MakeData(int n, int channels) {
  WideTable table;
  for (int c = 0; c < channels; ++c) {
    std::string name = "c";
    name += std::to_string(c);  // not "c" + to_string: GCC 12 warns falsely (-Wrestrict) on that
    table.channels.push_back(name);
    std::vector<double> v;
    for (int t = 0; t < n; ++t) v.push_back(c + std::pow(t, 1.5) / n + 0.3 * std::sin(t));
    table.values.push_back(v);
  }
  LongHorizonDataset d;
  d.name = "synthetic";
  Result<PreparedData> p = PrepareLongHorizon(table, d);
  EXPECT_TRUE(p.ok());
  return *p;
}

TEST(PrepareLongHorizonTest, AutoformerSplitAndTrainingStatistics) {
  const PreparedData data = MakeData(1000, 2);
  EXPECT_EQ(data.split.train, 700);
  EXPECT_EQ(data.split.test, 200);
  EXPECT_EQ(data.split.val, 100);
  for (const Series& s : data.panel.series) {
    double mean = 0, var = 0;
    for (int t = 0; t < 700; ++t) mean += s.y[static_cast<std::size_t>(t)];
    mean /= 700;
    for (int t = 0; t < 700; ++t) var += std::pow(s.y[static_cast<std::size_t>(t)] - mean, 2);
    EXPECT_NEAR(mean, 0, 1e-12);
    EXPECT_NEAR(var / 700, 1, 1e-12);  // population std, as StandardScaler
    double test_mean = 0;
    for (int t = 800; t < 1000; ++t) test_mean += s.y[static_cast<std::size_t>(t)] / 200;
    EXPECT_GT(test_mean, 1.0);  // standardised by training statistics only: the trend shows
  }
}

// The paper scored standardised values it read from its own data files, so our standardisation
// must give the same numbers. Its ETTm2 HUFL series begins -0.041413, -0.185467, -0.257495,
// -0.577510 (quoted from that file in cchallu/n-hits issue #6); the first 34560 rows' mean and
// population std reproduce them, the whole file's or a sample std would not.
TEST(PrepareLongHorizonTest, Ettm2MatchesThePapersDataFile) {
  const std::string path = std::string(NHITS_SHARED_DATA_DIR) + "/long_horizon/raw/ETTm2.csv.gz";
  if (!std::ifstream(path)) GTEST_SKIP() << "no " << path;
  Result<WideTable> table = ReadWideCsv(path);
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  Result<LongHorizonDataset> dataset = FindLongHorizonDataset("ETTm2");
  ASSERT_TRUE(dataset.ok());
  Result<PreparedData> data = PrepareLongHorizon(*table, *dataset);
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  const Series& hufl = data->panel.series.at(0);
  EXPECT_EQ(hufl.unique_id, "HUFL");
  const double papers[] = {-0.041413, -0.185467, -0.257495, -0.577510};
  for (int t = 0; t < 4; ++t) EXPECT_NEAR(hufl.y[static_cast<std::size_t>(t)], papers[t], 1e-6) << "row " << t;

  // The tolerance tells the candidates apart: a sample std, or the whole file's statistics,
  // would miss the paper's fourth value by more than it.
  const std::vector<double>& raw = table->values[0];
  auto standardised = [&](std::size_t rows, bool sample) {
    double mean = 0, ss = 0;
    for (std::size_t t = 0; t < rows; ++t) mean += raw[t] / static_cast<double>(rows);
    for (std::size_t t = 0; t < rows; ++t) ss += (raw[t] - mean) * (raw[t] - mean);
    return (raw[3] - mean) / std::sqrt(ss / static_cast<double>(sample ? rows - 1 : rows));
  };
  EXPECT_GT(std::abs(standardised(34560, true) - papers[3]), 5e-6);
  EXPECT_GT(std::abs(standardised(raw.size(), false) - papers[3]), 0.1);
}

TEST(PrepareLongHorizonTest, SplitLargerThanFileFails) {
  WideTable table{{"a"}, {{1, 2, 3}}};
  LongHorizonDataset d;
  d.name = "tiny";
  d.split = {2, 1, 1};
  Result<PreparedData> p = PrepareLongHorizon(table, d);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().ToString().find("needs 4 rows, the file has 3"), std::string::npos);
}

// Validation scores the windows whose targets lie in the validation split, test those in the
// test split; the baselines are checked against a direct float64 computation.
TEST(EvaluateWindowsTest, WindowCountsAndBaselinesPerSplit) {
  const PreparedData data = MakeData(1000, 2);
  NhitsConfig config;
  config.h = 12;
  config.input_size = 24;
  const Model model(config);
  const int m = 7;
  const LongHorizonScores val = EvaluateValidationWindows(model, data, m, 1);
  const LongHorizonScores test = EvaluateTestWindows(model, data, m, 1);
  const LongHorizonScores test_strided = EvaluateTestWindows(model, data, m, 5);
  EXPECT_EQ(val.windows, 2 * (100 - 12 + 1));
  EXPECT_EQ(test.windows, 2 * (200 - 12 + 1));
  EXPECT_EQ(test_strided.windows, 2 * ((200 - 12) / 5 + 1));

  const auto direct = [&](int first, int end) {
    double naive = 0, seasonal = 0;
    long points = 0;
    for (const Series& s : data.panel.series)
      for (int t0 = first; t0 + 12 <= end; ++t0)
        for (int j = 0; j < 12; ++j, ++points) {
          const double y = s.y[static_cast<std::size_t>(t0 + j)];
          naive += std::pow(s.y[static_cast<std::size_t>(t0 - 1)] - y, 2);
          seasonal += std::pow(s.y[static_cast<std::size_t>(t0 - m + j % m)] - y, 2);
        }
    return std::pair(naive / points, seasonal / points);
  };
  const auto [val_naive, val_seasonal] = direct(700, 800);
  const auto [test_naive, test_seasonal] = direct(800, 1000);
  EXPECT_NEAR(val.naive_mse, val_naive, 1e-9);
  EXPECT_NEAR(val.snaive_mse, val_seasonal, 1e-9);
  EXPECT_NEAR(test.naive_mse, test_naive, 1e-9);
  EXPECT_NEAR(test.snaive_mse, test_seasonal, 1e-9);
  EXPECT_NE(val.mse, test.mse);
  // Every series scores as many points, so the mean is the mean of the per-series MSEs.
  ASSERT_EQ(test.series_mse.size(), 2u);
  EXPECT_NEAR((test.series_mse[0] + test.series_mse[1]) / 2, test.mse, 1e-12);
  EXPECT_NE(test.series_mse[0], test.series_mse[1]);
  ASSERT_EQ(test.series_naive_mse.size(), 2u);
  EXPECT_NEAR((test.series_naive_mse[0] + test.series_naive_mse[1]) / 2, test_naive, 1e-9);

  // Without a model: the same windows, the same baselines, no model score.
  const LongHorizonScores val_baselines = EvaluateValidationBaselines(data, 12, m, 1);
  EXPECT_EQ(val_baselines.windows, val.windows);
  EXPECT_NEAR(val_baselines.snaive_mse, val_seasonal, 1e-9);
  EXPECT_NEAR(val_baselines.naive_mse, val_naive, 1e-9);
  EXPECT_EQ(val_baselines.snaive_mae, val.snaive_mae);
  EXPECT_EQ(val_baselines.naive_mae, val.naive_mae);
  EXPECT_EQ(val_baselines.mse, 0.0);
  const LongHorizonScores strided = EvaluateBaselineWindows(data, 800, 1000, 12, m, 5);
  EXPECT_EQ(strided.windows, test_strided.windows);
  EXPECT_EQ(strided.snaive_mae, test_strided.snaive_mae);
  // A horizon longer than the split leaves no window, and no division by zero.
  EXPECT_EQ(EvaluateBaselineWindows(data, 700, 800, 101, m, 1).windows, 0);
}

TEST(PaperSearchTest, DrawsDistinctTrialsFromThePapersSpace) {
  const std::set<std::vector<int>> pools = {{1, 1, 1}, {2, 2, 2}, {4, 4, 4}, {8, 8, 8}, {8, 4, 1}, {16, 8, 1}};
  const std::set<std::vector<int>> downsamples = {{168, 24, 1}, {24, 12, 1}, {180, 60, 1}, {60, 8, 1}, {40, 20, 1}};
  const std::vector<SearchTrial> a = DrawPaperSearchTrials(10, 1);
  ASSERT_EQ(a.size(), 10u);
  std::set<std::tuple<std::vector<int>, std::vector<int>, int>> seen;
  std::set<int> seeds;
  for (const SearchTrial& t : a) {
    EXPECT_TRUE(pools.count(t.n_pool_kernel_size));
    EXPECT_TRUE(downsamples.count(t.n_freq_downsample));
    EXPECT_GE(t.random_seed, 1);
    EXPECT_LE(t.random_seed, 10);
    EXPECT_TRUE(seen.insert({t.n_pool_kernel_size, t.n_freq_downsample, t.random_seed}).second);
    seeds.insert(t.random_seed);
  }
  EXPECT_GT(seeds.size(), 1u);
  // Reproducible from the seed; another seed draws another list.
  const std::vector<SearchTrial> again = DrawPaperSearchTrials(10, 1);
  const std::vector<SearchTrial> other = DrawPaperSearchTrials(10, 2);
  bool differs = false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].n_pool_kernel_size, again[i].n_pool_kernel_size);
    EXPECT_EQ(a[i].n_freq_downsample, again[i].n_freq_downsample);
    EXPECT_EQ(a[i].random_seed, again[i].random_seed);
    differs |= a[i].random_seed != other[i].random_seed || a[i].n_pool_kernel_size != other[i].n_pool_kernel_size;
  }
  EXPECT_TRUE(differs);
  // The whole space is 6 x 5 x 10 configurations: asking for more returns each once.
  EXPECT_EQ(DrawPaperSearchTrials(1000, 3).size(), 300u);
  EXPECT_TRUE(DrawPaperSearchTrials(0, 3).empty());
}

TEST(NeuralforecastEttSearchTest, DrawsFromTheRerunSpace) {
  const std::set<std::vector<int>> pools = {{2, 2, 2}, {16, 8, 1}};
  const std::set<std::vector<int>> downsamples = {{336, 48, 1}, {84, 12, 1}, {1, 1, 1}};
  const std::vector<SearchTrial> a = DrawNeuralforecastEttSearchTrials(200, 1);
  ASSERT_EQ(a.size(), 200u);
  std::set<int> steps, seeds;
  double lo = 1, hi = 0, below_1e3 = 0;
  for (const SearchTrial& t : a) {
    EXPECT_TRUE(pools.count(t.n_pool_kernel_size));
    EXPECT_TRUE(downsamples.count(t.n_freq_downsample));
    EXPECT_GE(t.random_seed, 1);
    EXPECT_LE(t.random_seed, 9);
    EXPECT_GE(t.learning_rate, 1e-5);
    EXPECT_LE(t.learning_rate, 5e-3);
    lo = std::min(lo, t.learning_rate);
    hi = std::max(hi, t.learning_rate);
    below_1e3 += t.learning_rate < 1e-3;
    steps.insert(t.max_steps);
    seeds.insert(t.random_seed);
  }
  EXPECT_EQ(steps, (std::set<int>{200, 1000}));
  EXPECT_EQ(seeds.size(), 9u);
  // Log-uniform: the range is covered and log(1e-3) sits at 74% of [log 1e-5, log 5e-3].
  EXPECT_LT(lo, 3e-5);
  EXPECT_GT(hi, 3e-3);
  EXPECT_NEAR(below_1e3 / a.size(), std::log(100.0) / std::log(500.0), 0.1);
  const std::vector<SearchTrial> again = DrawNeuralforecastEttSearchTrials(3, 1);
  for (std::size_t i = 0; i < again.size(); ++i) EXPECT_EQ(again[i].learning_rate, a[i].learning_rate);
  EXPECT_TRUE(DrawNeuralforecastEttSearchTrials(0, 1).empty());
}

TEST(NeuralforecastAutoSearchTest, DrawsFromAutoNhitsDefaultSpace) {
  const std::set<std::vector<int>> pools = {{2, 2, 1}, {1, 1, 1}, {2, 2, 2}, {4, 4, 4}, {8, 4, 1}, {16, 8, 1}};
  const std::set<std::vector<int>> downsamples = {{168, 24, 1}, {24, 12, 1}, {180, 60, 1},
                                                  {60, 8, 1},   {40, 20, 1},  {1, 1, 1}};
  const int h = 96;
  const std::vector<SearchTrial> a = DrawNeuralforecastAutoSearchTrials(400, 1, h);
  ASSERT_EQ(a.size(), 400u);
  std::set<int> multipliers, strides, steps, batches, windows, seeds;
  std::set<std::string> scalers;
  std::set<std::vector<int>> seen_pools, seen_downsamples;
  double below_1e2 = 0;
  for (const SearchTrial& t : a) {
    EXPECT_TRUE(pools.count(t.n_pool_kernel_size));
    EXPECT_TRUE(downsamples.count(t.n_freq_downsample));
    EXPECT_GE(t.learning_rate, 1e-4);
    EXPECT_LE(t.learning_rate, 1e-1);
    below_1e2 += t.learning_rate < 1e-2;
    multipliers.insert(t.input_size_multiplier);
    strides.insert(t.step_size);
    steps.insert(t.max_steps);
    batches.insert(t.batch_size);
    windows.insert(t.windows_batch_size);
    seeds.insert(t.random_seed);
    scalers.insert(t.scaler_type);
    seen_pools.insert(t.n_pool_kernel_size);
    seen_downsamples.insert(t.n_freq_downsample);
  }
  EXPECT_EQ(multipliers, (std::set<int>{1, 2, 3, 4, 5}));
  EXPECT_EQ(strides, (std::set<int>{1, h}));
  EXPECT_EQ(steps, (std::set<int>{500, 600, 700, 800, 900, 1000, 1100, 1200, 1300, 1400, 1500}));
  EXPECT_EQ(batches, (std::set<int>{32, 64, 128, 256}));
  EXPECT_EQ(windows, (std::set<int>{128, 256, 512, 1024}));
  EXPECT_EQ(scalers, (std::set<std::string>{"identity", "robust", "standard"}));
  EXPECT_EQ(seen_pools, pools);
  EXPECT_EQ(seen_downsamples, downsamples);
  EXPECT_EQ(*seeds.begin(), 1);
  EXPECT_EQ(*seeds.rbegin(), 19);  // Ray's randint(1, 20) excludes 20
  // Log-uniform over [1e-4, 1e-1]: two thirds of the draws below 1e-2.
  EXPECT_NEAR(below_1e2 / a.size(), 2.0 / 3.0, 0.08);
  for (const std::string& s : scalers) EXPECT_TRUE(ParseScalerType(s).ok()) << s;
  const std::vector<SearchTrial> again = DrawNeuralforecastAutoSearchTrials(5, 1, h);
  for (std::size_t i = 0; i < again.size(); ++i) {
    EXPECT_EQ(again[i].learning_rate, a[i].learning_rate);
    EXPECT_EQ(again[i].scaler_type, a[i].scaler_type);
  }
  EXPECT_NE(DrawNeuralforecastAutoSearchTrials(5, 2, h)[0].learning_rate, a[0].learning_rate);
  EXPECT_TRUE(DrawNeuralforecastAutoSearchTrials(0, 1, h).empty());
}

}  // namespace
}  // namespace nhits
