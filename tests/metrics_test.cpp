#include "nhits/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace nhits {
namespace {

using V = std::vector<double>;

TEST(MetricsTest, HandComputedSingleWindow) {
  // Errors 1, 0, 1, 2.
  const V y{1, 2, 0, 4}, yhat{2, 2, 1, 2}, insample{1, 3, 2, 6};
  MetricsAccumulator acc;
  acc.Add(y, yhat, insample, 1);
  const Metrics m = acc.Result();
  EXPECT_EQ(m.count, 4);
  EXPECT_DOUBLE_EQ(m.mae, 1.0);
  EXPECT_DOUBLE_EQ(m.mse, 1.5);
  EXPECT_DOUBLE_EQ(m.rmse, std::sqrt(1.5));
  // MAPE skips y == 0: (1/1 + 0/2 + 2/4) / 3.
  EXPECT_DOUBLE_EQ(m.mape, 0.5);
  // sMAPE: (2/3 + 0 + 2 + 4/6) / 4.
  EXPECT_DOUBLE_EQ(m.smape, (2.0 / 3 + 0 + 2 + 4.0 / 6) / 4);
  // Scale: mean(|3-1|, |2-3|, |6-2|) = 7/3.
  EXPECT_DOUBLE_EQ(m.mase, 3.0 / 7);
}

TEST(MetricsTest, SeasonalMaseScale) {
  MetricsAccumulator acc;
  // m = 2: mean(|2-1|, |6-3|) = 2; window MAE 1.
  acc.Add(V{1, 2, 0, 4}, V{2, 2, 1, 2}, V{1, 3, 2, 6}, 2);
  EXPECT_DOUBLE_EQ(acc.Result().mase, 0.5);
}

TEST(MetricsTest, SmapeBothZeroCountsAsZero) {
  MetricsAccumulator acc;
  acc.Add(V{0, 1}, V{0, 3}, V{}, 1);
  const Metrics m = acc.Result();
  EXPECT_DOUBLE_EQ(m.smape, (0 + 2.0 * 2 / 4) / 2);
  EXPECT_DOUBLE_EQ(m.mape, 2.0);    // only y = 1 enters
  EXPECT_TRUE(std::isnan(m.mase));  // insample too short: no window had a scale
}

TEST(MetricsTest, AllZeroActualsLeaveMapeUndefined) {
  MetricsAccumulator acc;
  acc.Add(V{0, 0}, V{1, 1}, V{1, 2, 3}, 1);
  const Metrics m = acc.Result();
  EXPECT_TRUE(std::isnan(m.mape));
  EXPECT_DOUBLE_EQ(m.mae, 1.0);
}

TEST(MetricsTest, PointMeansAndWindowMeanMase) {
  MetricsAccumulator acc;
  acc.Add(V{1, 2, 0, 4}, V{2, 2, 1, 2}, V{1, 3, 2, 6}, 1);  // abs errors sum 4, MASE 3/7
  acc.Add(V{10}, V{13}, V{5, 5}, 1);                        // scale 0: no MASE
  acc.Add(V{10, 10}, V{12, 10}, V{0, 4, 8}, 1);             // scale 4, MAE 1 -> 0.25
  const Metrics m = acc.Result();
  EXPECT_EQ(m.count, 7);
  EXPECT_DOUBLE_EQ(m.mae, (4.0 + 3 + 2) / 7);
  EXPECT_DOUBLE_EQ(m.mse, (6.0 + 9 + 4) / 7);
  EXPECT_DOUBLE_EQ(m.mase, (3.0 / 7 + 0.25) / 2);
}

TEST(MetricsTest, EmptyAccumulatorIsZero) {
  const Metrics m = MetricsAccumulator().Result();
  EXPECT_EQ(m.count, 0);
  EXPECT_EQ(m.mae, 0);
  EXPECT_EQ(m.rmse, 0);
}

TEST(BaselinesTest, Naive) {
  EXPECT_EQ(NaiveForecast(V{1, 2, 3}, 3), (V{3, 3, 3}));
  EXPECT_TRUE(NaiveForecast(V{1, 2, 3}, 0).empty());
  const V none = NaiveForecast(V{}, 2);
  ASSERT_EQ(none.size(), 2u);
  EXPECT_TRUE(std::isnan(none[0]));
}

TEST(BaselinesTest, SeasonalNaive) {
  // T = 5, m = 2: step j repeats history[3 + j % 2].
  EXPECT_EQ(SeasonalNaiveForecast(V{1, 2, 3, 4, 5}, 5, 2), (V{4, 5, 4, 5, 4}));
  EXPECT_EQ(SeasonalNaiveForecast(V{1, 2, 3, 4}, 2, 4), (V{1, 2}));
  EXPECT_EQ(SeasonalNaiveForecast(V{1, 2, 3}, 2, 1), (V{3, 3}));
}

TEST(BaselinesTest, SeasonalNaiveFallsBackToNaive) {
  EXPECT_EQ(SeasonalNaiveForecast(V{1, 2}, 3, 4), (V{2, 2, 2}));
  EXPECT_EQ(SeasonalNaiveForecast(V{1, 2}, 2, 0), (V{2, 2}));
}

}  // namespace
}  // namespace nhits
