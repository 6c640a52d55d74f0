#include "nhits/plot.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace nhits {
namespace {

std::size_t Count(const std::string& s, const std::string& needle) {
  std::size_t n = 0;
  for (auto p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) ++n;
  return n;
}

// Minimal well-formedness check for our output: tags balance and nest, and no raw '&' that is
// not an entity. Enough because the renderer emits no comments, CDATA or processing instructions.
bool WellFormed(const std::string& s, std::string* why) {
  std::vector<std::string> stack;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '&') {
      const auto semi = s.find(';', i);
      if (semi == std::string::npos || semi - i > 6)
        return *why = "bare & at " + std::to_string(i), false;
      continue;
    }
    if (s[i] != '<') continue;
    const auto end = s.find('>', i);
    if (end == std::string::npos) return *why = "unterminated tag", false;
    std::string tag = s.substr(i + 1, end - i - 1);
    i = end;
    if (tag.empty()) return *why = "empty tag", false;
    if (tag.back() == '/') continue;
    if (tag[0] == '/') {
      const std::string name = tag.substr(1);
      if (stack.empty() || stack.back() != name) return *why = "mismatched </" + name + ">", false;
      stack.pop_back();
    } else {
      stack.push_back(tag.substr(0, tag.find_first_of(" \n\t")));
    }
  }
  if (!stack.empty()) return *why = "unclosed <" + stack.back() + ">", false;
  return true;
}

PlotSeries Sample() {
  PlotSeries s;
  s.title = "AirPassengers <monthly> & \"more\"";
  for (int i = 0; i < 24; ++i) {
    s.history_x.push_back("1959-" + std::to_string(i % 12 + 1));
    s.history_y.push_back(300 + 50 * std::sin(i / 2.0));
  }
  for (int i = 0; i < 6; ++i) {
    s.future_x.push_back("1961-" + std::to_string(i + 1));
    s.forecast.push_back(320 + 5 * i);
    s.actual.push_back(318 + 6 * i);
  }
  PlotInterval i80{80, {}, {}}, i95{95, {}, {}};
  for (double f : s.forecast) {
    i80.lo.push_back(f - 10);
    i80.hi.push_back(f + 10);
    i95.lo.push_back(f - 20);
    i95.hi.push_back(f + 20);
  }
  s.intervals = {i80, i95};
  s.baselines = {{"Naive", std::vector<double>(6, s.history_y.back())},
                 {"SeasonalNaive", std::vector<double>(6, 310)}};
  return s;
}

void ExpectClean(const std::string& svg) {
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  ASSERT_GE(svg.size(), 6u);
  EXPECT_EQ(svg.substr(svg.size() - 6), "</svg>");
  std::string why;
  EXPECT_TRUE(WellFormed(svg, &why)) << why;
  EXPECT_EQ(svg.find("nan"), std::string::npos);
  EXPECT_EQ(svg.find("NaN"), std::string::npos);
  EXPECT_EQ(svg.find("inf"), std::string::npos);
}

TEST(PlotTest, RendersOnePathPerSeriesElement) {
  const std::string svg = RenderForecastSvg({Sample()}, "NHITS");
  ExpectClean(svg);
  EXPECT_NE(svg.find("AirPassengers &lt;monthly&gt; &amp; &quot;more&quot;"), std::string::npos);
  // history + forecast + 2 intervals + actual + 2 baselines
  EXPECT_EQ(Count(svg, "<path"), 7u);
  EXPECT_EQ(Count(svg, "class=\"interval\""), 2u);
  EXPECT_EQ(Count(svg, "<circle"), 6u + 1u);  // forecast markers + legend marker
  EXPECT_NE(svg.find("MAE"), std::string::npos);
  EXPECT_NE(svg.find("SeasonalNaive"), std::string::npos);
  EXPECT_NE(svg.find("95% interval"), std::string::npos);
}

TEST(PlotTest, WidestIntervalDrawnFirst) {
  const std::string svg = RenderForecastSvg({Sample()}, "NHITS");
  EXPECT_LT(svg.find("95% interval"), svg.find("80% interval"));
  const auto first_band = svg.find("class=\"interval\"");
  // The 95% band spans +-20, so its first point is lower on screen than the 80% one's; simplest
  // observable: the first band is the lighter one.
  EXPECT_LT(svg.find("fill-opacity=\"0.14\"", first_band),
            svg.find("fill-opacity=\"0.24\"", first_band));
}

TEST(PlotTest, NoCaptionWithoutActuals) {
  PlotSeries s = Sample();
  s.actual.clear();
  const std::string svg = RenderForecastSvg({s}, "NHITS");
  ExpectClean(svg);
  EXPECT_EQ(svg.find("MAE"), std::string::npos);
  EXPECT_EQ(Count(svg, "<path"), 6u);
}

TEST(PlotTest, ConstantSeriesAndMultiplePanels) {
  PlotSeries c;
  c.title = "flat";
  c.history_y = std::vector<double>(10, 5.0);
  c.forecast = std::vector<double>(3, 5.0);
  PlotSeries z;
  z.title = "zeros";
  z.history_y = std::vector<double>(4, 0.0);
  z.forecast = std::vector<double>(1, 0.0);
  const std::string svg = RenderForecastSvg({c, z}, "m");
  ExpectClean(svg);
  EXPECT_NE(svg.find("height=\"720\""), std::string::npos);
  EXPECT_EQ(Count(svg, "<path"), 4u);
  EXPECT_EQ(Count(svg, "class=\"panel\""), 2u);
}

TEST(PlotTest, NonFiniteValuesAndDegenerateInputs) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  PlotSeries s;
  s.title = "gaps";
  s.history_y = {1, nan, 3, std::numeric_limits<double>::infinity(), 2};
  s.forecast = {nan, 2};
  s.intervals = {{90, {nan, 1}, {nan, 3}}};
  s.actual = {nan, nan};
  ExpectClean(RenderForecastSvg({s}, "m"));

  PlotSeries all_nan;
  all_nan.history_y = {nan, nan};
  ExpectClean(RenderForecastSvg({all_nan, PlotSeries{}}, ""));
  ExpectClean(RenderForecastSvg({}, "m"));

  PlotSeries single;
  single.forecast = {1e12};
  ExpectClean(RenderForecastSvg({single}, "m"));
}

// Titles come from series ids: UTF-8 passes through, bytes that are not UTF-8 (a Latin-1
// "caf\xe9") become U+FFFD, so the file stays well-formed XML for any id.
TEST(PlotTest, NonUtf8TitlesBecomeReplacementCharacters) {
  PlotSeries s;
  s.title = "caf\xe9 | caf\xc3\xa9 | \xed\xa0\x80 | \xf4\x90\x80\x80 | \xc3";
  s.history_y = {1, 2, 3};
  s.forecast = {4};
  const std::string svg = RenderForecastSvg({s}, "m");
  ExpectClean(svg);
  EXPECT_NE(svg.find("caf\xef\xbf\xbd | caf\xc3\xa9 | "), std::string::npos) << "Latin-1 byte replaced, UTF-8 kept";
  EXPECT_EQ(svg.find("\xe9 |"), std::string::npos);
  EXPECT_EQ(svg.find("\xed\xa0"), std::string::npos) << "a UTF-16 surrogate is not UTF-8";
  EXPECT_EQ(svg.find("\xf4\x90"), std::string::npos) << "past U+10FFFF";
}

}  // namespace
}  // namespace nhits
