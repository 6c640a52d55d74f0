// NeuralForecast(local_scaler_type=...): the per-series statistics against coreforecast's own
// (LocalStandardScaler, LocalRobustScaler("mad"/"iqr"), LocalMinMaxScaler: values printed by
// coreforecast 0.0.20, as neuralforecast 3.3.0 installs it), and how a panel is scaled.
#include <gtest/gtest.h>

#include <vector>

#include "nhits/config.h"
#include "nhits/local_scaler.h"

namespace nhits {
namespace {

struct Expected {
  LocalScalerType type;
  double offset_a, scale_a, offset_b, scale_b;
};

TEST(LocalScaler, StatisticsMatchCoreforecast) {
  const std::vector<double> a{1, 2, 4, 8, 16}, b{3, 1, 2, 7, 9, 10};
  // stats_ of coreforecast's scalers fitted on GroupedArray([a..., b...], indptr [0, 5, 11])
  const Expected cases[] = {
      {LocalScalerType::kStandard, 6.2, 5.455272678794343, 5.333333333333333, 3.496029493900505},
      {LocalScalerType::kRobust, 4.0, 3.0, 5.0, 3.5},
      {LocalScalerType::kRobustIqr, 4.0, 6.0, 5.0, 6.25},
      {LocalScalerType::kMinMax, 1.0, 15.0, 1.0, 9.0},
  };
  for (const Expected& e : cases) {
    const LocalScale sa = FitLocalScale(e.type, a), sb = FitLocalScale(e.type, b);
    EXPECT_NEAR(sa.offset, e.offset_a, 1e-12) << ToString(e.type);
    EXPECT_NEAR(sa.scale, e.scale_a, 1e-12) << ToString(e.type);
    EXPECT_NEAR(sb.offset, e.offset_b, 1e-12) << ToString(e.type);
    EXPECT_NEAR(sb.scale, e.scale_b, 1e-12) << ToString(e.type);
  }
}

TEST(LocalScaler, ConstantSeriesIsShiftedOnly) {
  // coreforecast: stats [5, 0]; transform(7) = 2, inverse(2) = 7 (a zero spread acts as 1)
  for (LocalScalerType t : {LocalScalerType::kStandard, LocalScalerType::kRobust, LocalScalerType::kRobustIqr,
                            LocalScalerType::kMinMax}) {
    const LocalScale s = FitLocalScale(t, std::vector<double>{5, 5, 5});
    EXPECT_DOUBLE_EQ(s.Apply(7), 2.0) << ToString(t);
    EXPECT_DOUBLE_EQ(s.Invert(2), 7.0) << ToString(t);
  }
  // coreforecast on float32 data (neuralforecast's): a spread below float32's epsilon counts as 0,
  // stats [2e-8, 8.16e-9] transform 1e-8 to -1e-8
  const LocalScale tiny = FitLocalScale(LocalScalerType::kStandard, std::vector<double>{1e-8, 2e-8, 3e-8});
  EXPECT_DOUBLE_EQ(tiny.scale, 1.0);
  EXPECT_NEAR(tiny.Apply(1e-8), -1e-8, 1e-20);
  const LocalScale none = FitLocalScale(LocalScalerType::kNone, std::vector<double>{1, 2, 3});
  EXPECT_DOUBLE_EQ(none.Apply(42), 42.0);
}

TEST(LocalScaler, PanelColumnsUseTheirHistoryStatistics) {
  Panel p;
  p.exog_names = {"promo"};
  Series s;
  s.unique_id = "a";
  for (int t = 0; t < 4; ++t) s.ds.push_back(Timestamp{t});
  s.y = {10, 20, 30, 40};
  s.exog = {{0, 2, 4, 6, 100, 200}};  // two future values past y (a futr column)
  p.series.push_back(s);
  const std::vector<LocalScale> scales = ApplyLocalScaler(LocalScalerType::kMinMax, &p);
  ASSERT_EQ(scales.size(), 1u);
  EXPECT_DOUBLE_EQ(scales[0].offset, 10.0);
  EXPECT_DOUBLE_EQ(scales[0].scale, 30.0);
  EXPECT_EQ(p.series[0].y, (std::vector<double>{0, 1.0 / 3, 2.0 / 3, 1}));
  // the column's own min and range over the first 4 values (0 and 6), applied to the future too
  EXPECT_EQ(p.series[0].exog[0], (std::vector<double>{0, 2.0 / 6, 4.0 / 6, 1, 100.0 / 6, 200.0 / 6}));
  EXPECT_DOUBLE_EQ(scales[0].Invert(p.series[0].y[2]), 30.0);
  // kNone: nothing changes, no scales
  Panel untouched = p;
  EXPECT_TRUE(ApplyLocalScaler(LocalScalerType::kNone, &untouched).size() == 1);
  EXPECT_EQ(untouched.series[0].y, p.series[0].y);
}

TEST(LocalScaler, ConfigKeepsItAndRejectsUnknownNames) {
  NhitsConfig c;
  c.h = 4;
  c.input_size = 8;
  EXPECT_EQ(ConfigToJson(c).find("local_scaler_type"), std::string::npos);  // absent when unused
  c.local_scaler_type = LocalScalerType::kRobustIqr;
  const std::string json = ConfigToJson(c);
  EXPECT_NE(json.find("\"local_scaler_type\":\"robust-iqr\""), std::string::npos) << json;
  const Result<NhitsConfig> back = ConfigFromJson(json, "test");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->local_scaler_type, LocalScalerType::kRobustIqr);
  std::string boxcox = json;
  boxcox.replace(boxcox.find("robust-iqr"), 10, "boxcox");
  const Result<NhitsConfig> bad = ConfigFromJson(boxcox, "m.safetensors");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("local_scaler_type"), std::string::npos) << bad.status().message();
}

}  // namespace
}  // namespace nhits
