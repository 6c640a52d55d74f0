// Tests for the data module: timestamps, frequencies and the long-format CSV reader.
#include "nhits/data.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace nhits {
namespace {

// ---------------------------------------------------------------------------------- helpers

Timestamp Date(const std::string& text) {
  TimeKind kind;
  Result<Timestamp> t = ParseTimestamp(text, &kind);
  EXPECT_TRUE(t.ok()) << text << ": " << t.status().ToString();
  return t.ok() ? *t : Timestamp{};
}

std::vector<std::string> Format(const std::vector<Timestamp>& ts, TimeKind kind) {
  std::vector<std::string> out;
  for (Timestamp t : ts) out.push_back(FormatTimestamp(t, kind));
  return out;
}

Series MakeSeries(const std::string& id, const std::vector<std::string>& dates) {
  Series s;
  s.unique_id = id;
  for (const std::string& d : dates) {
    s.ds.push_back(Date(d));
    s.y.push_back(1.0);
  }
  return s;
}

// `n` dates starting at `first`, each produced from the previous by FutureTimestamps at `freq`.
Series Regular(const std::string& id, const std::string& first, const Frequency& freq, int n) {
  Series s;
  s.unique_id = id;
  s.ds.push_back(Date(first));
  for (Timestamp t : FutureTimestamps(s.ds[0], freq, n - 1)) s.ds.push_back(t);
  s.y.assign(s.ds.size(), 0.0);
  return s;
}

Panel DatePanel(std::vector<Series> series, TimeKind kind = TimeKind::kDate) {
  Panel p;
  p.time_kind = kind;
  p.series = std::move(series);
  return p;
}

std::string InferredAlias(const Panel& panel) {
  Result<Frequency> f = InferFrequency(panel);
  return f.ok() ? f->ToString() : "error: " + f.status().message();
}

class TempCsv {
 public:
  explicit TempCsv(const std::string& content) {
    static int counter = 0;
    path_ =
        (std::filesystem::temp_directory_path() / ("nhits_data_test_" + std::to_string(::getpid()) +
                                                   "_" + std::to_string(counter++) + ".csv"))
            .string();
    std::ofstream(path_, std::ios::binary) << content;
  }
  ~TempCsv() { std::filesystem::remove(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Asserts that reading `content` fails with "PATH:LINE: field 'FIELD': ..." containing `part`.
void ExpectCsvError(const std::string& content, int line, const std::string& field,
                    const std::string& part) {
  TempCsv file(content);
  Result<Panel> r = ReadLongCsv(file.path());
  ASSERT_FALSE(r.ok()) << content;
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  const std::string prefix = file.path() + ":" + std::to_string(line) + ": field '" + field + "': ";
  EXPECT_EQ(r.status().message().rfind(prefix, 0), 0u) << r.status().message();
  EXPECT_NE(r.status().message().find(part), std::string::npos) << r.status().message();
}

std::string SharedData(const std::string& relative) {
#ifdef NHITS_SHARED_DATA_DIR
  const std::string path = std::string(NHITS_SHARED_DATA_DIR) + "/" + relative;
  return std::filesystem::exists(path) ? path : "";
#else
  (void)relative;
  return "";
#endif
}

// ---------------------------------------------------------------------------------- timestamps

TEST(TimestampTest, KnownDates) {
  EXPECT_EQ(Date("1970-01-01").value, 0);
  EXPECT_EQ(Date("1970-01-02").value, 86400);
  EXPECT_EQ(Date("1969-12-31").value, -86400);
  EXPECT_EQ(Date("2000-03-01").value, 951868800);
  EXPECT_EQ(Date("2024-02-29").value, 1709164800);
  EXPECT_EQ(Date("2016-07-01 01:30:15").value, 1467336615);
}

TEST(TimestampTest, KindsAndFormats) {
  TimeKind kind;
  ASSERT_TRUE(ParseTimestamp("2020-05-17", &kind).ok());
  EXPECT_EQ(kind, TimeKind::kDate);
  Result<Timestamp> t = ParseTimestamp("2020-05-17T08:09", &kind);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(kind, TimeKind::kDateTime);
  EXPECT_EQ(FormatTimestamp(*t, kind), "2020-05-17 08:09:00");
  t = ParseTimestamp("2020-05-17 23:59:59", &kind);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(FormatTimestamp(*t, kind), "2020-05-17 23:59:59");
  t = ParseTimestamp("-42", &kind);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(kind, TimeKind::kInteger);
  EXPECT_EQ(t->value, -42);
  EXPECT_EQ(FormatTimestamp(*t, kind), "-42");
  EXPECT_EQ(ParseTimestamp("+7", &kind)->value, 7);
  EXPECT_EQ(FormatTimestamp(Timestamp{-1}, TimeKind::kDateTime), "1969-12-31 23:59:59");
}

TEST(TimestampTest, EveryDayRoundTrips) {
  // 1600..2400 covers all century/400-year leap rules on both sides of the epoch.
  const std::int64_t first = Date("1600-01-01").value / 86400;
  const std::int64_t last = Date("2400-12-31").value / 86400;
  ASSERT_EQ(last - first + 1, 801 * 365 + 195);  // 195 leap years in 1600..2400
  for (std::int64_t day = first; day <= last; ++day) {
    const Timestamp t{day * 86400};
    const std::string text = FormatTimestamp(t, TimeKind::kDate);
    TimeKind kind;
    Result<Timestamp> back = ParseTimestamp(text, &kind);
    ASSERT_TRUE(back.ok()) << text;
    ASSERT_EQ(back->value, t.value) << text;
  }
}

TEST(TimestampTest, DateTimeRoundTrips) {
  for (std::int64_t v = -200000; v < 200000; v += 997) {
    const Timestamp t{v * 61};
    TimeKind kind;
    Result<Timestamp> back = ParseTimestamp(FormatTimestamp(t, TimeKind::kDateTime), &kind);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->value, t.value);
  }
}

TEST(TimestampTest, LeapYears) {
  TimeKind kind;
  EXPECT_TRUE(ParseTimestamp("2000-02-29", &kind).ok());  // divisible by 400
  EXPECT_TRUE(ParseTimestamp("2024-02-29", &kind).ok());
  EXPECT_FALSE(ParseTimestamp("1900-02-29", &kind).ok());  // century, not by 400
  EXPECT_FALSE(ParseTimestamp("2023-02-29", &kind).ok());
  EXPECT_FALSE(ParseTimestamp("2024-02-30", &kind).ok());
}

TEST(TimestampTest, RejectsMalformed) {
  for (const char* bad :
       {"", "abc", "2020-13-01", "2020-00-10", "2020-04-31", "2020-01-00", "2020-1-1",
        "2020-01-01x", "2020/01/01", "2020-01-01 24:00", "2020-01-01 12:60", "2020-01-01 12:00:60",
        "2020-01-01 12", "1.5", "99999999999999999999", "2020-01-01  12:00"}) {
    TimeKind kind;
    Result<Timestamp> r = ParseTimestamp(bad, &kind);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
    }
  }
}

// ---------------------------------------------------------------------------------- aliases

TEST(FrequencyTest, AliasesRoundTrip) {
  for (const char* alias : {"s", "10s", "min", "15min", "10min", "h", "2h", "D", "3D", "W", "2W",
                            "B", "ME", "2ME", "MS", "QE", "YE"}) {
    Result<Frequency> f = ParseFrequency(alias, TimeKind::kDate);
    ASSERT_TRUE(f.ok()) << alias << ": " << f.status().message();
    EXPECT_EQ(f->ToString(), alias);
  }
  Result<Frequency> step = ParseFrequency("3", TimeKind::kInteger);
  ASSERT_TRUE(step.ok());
  EXPECT_EQ(step->unit, Frequency::Unit::kStep);
  EXPECT_EQ(step->step, 3);
  EXPECT_EQ(step->ToString(), "3");
}

TEST(FrequencyTest, LegacyAliases) {
  EXPECT_EQ(ParseFrequency("H", TimeKind::kDateTime)->ToString(), "h");
  EXPECT_EQ(ParseFrequency("15T", TimeKind::kDateTime)->ToString(), "15min");
  EXPECT_EQ(ParseFrequency("M", TimeKind::kDate)->ToString(), "ME");
  EXPECT_EQ(ParseFrequency("Q", TimeKind::kDate)->ToString(), "QE");
  EXPECT_EQ(ParseFrequency("A", TimeKind::kDate)->ToString(), "YE");
  EXPECT_EQ(ParseFrequency("W-TUE", TimeKind::kDate)->ToString(), "W");
  EXPECT_EQ(ParseFrequency("60min", TimeKind::kDate)->ToString(), "h");
}

TEST(FrequencyTest, RejectsUnknownAliases) {
  Result<Frequency> f = ParseFrequency("fortnight", TimeKind::kDate);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(f.status().message().find("fortnight"), std::string::npos);
  EXPECT_NE(f.status().message().find("ME"), std::string::npos);  // lists accepted aliases
  EXPECT_FALSE(ParseFrequency("D", TimeKind::kInteger).ok());
  EXPECT_FALSE(ParseFrequency("1", TimeKind::kDate).ok());
  EXPECT_FALSE(ParseFrequency("0", TimeKind::kInteger).ok());
  EXPECT_FALSE(ParseFrequency("-2", TimeKind::kInteger).ok());
  EXPECT_FALSE(ParseFrequency("0D", TimeKind::kDate).ok());
  EXPECT_FALSE(ParseFrequency("", TimeKind::kDate).ok());
}

TEST(FrequencyTest, SeasonLength) {
  const auto season = [](const char* alias) {
    return SeasonLength(*ParseFrequency(alias, TimeKind::kDate));
  };
  EXPECT_EQ(season("ME"), 12);
  EXPECT_EQ(season("MS"), 12);
  EXPECT_EQ(season("h"), 24);
  EXPECT_EQ(season("15min"), 96);
  EXPECT_EQ(season("D"), 7);
  EXPECT_EQ(season("B"), 5);
  EXPECT_EQ(season("W"), 52);
  EXPECT_EQ(season("QE"), 4);
  EXPECT_EQ(season("YE"), 1);
  EXPECT_EQ(SeasonLength(Frequency{Frequency::Unit::kStep, 1}), 1);
}

// ---------------------------------------------------------------------------------- inference

TEST(InferFrequencyTest, IntegerMostCommonStep) {
  Panel p;
  p.time_kind = TimeKind::kInteger;
  Series a{"a", {{1}, {2}, {3}, {5}, {6}}, {0, 0, 0, 0, 0}};
  Series b{"b", {{10}, {11}, {12}}, {0, 0, 0}};
  p.series = {a, b};
  EXPECT_EQ(InferredAlias(p), "1");
  Series c{"c", {{0}, {7}, {14}, {21}}, {0, 0, 0, 0}};
  p.series = {c};
  EXPECT_EQ(InferredAlias(p), "7");
}

TEST(InferFrequencyTest, SecondMultiples) {
  const auto infer = [](const char* alias, const char* first) {
    const Frequency f = *ParseFrequency(alias, TimeKind::kDateTime);
    return InferredAlias(DatePanel({Regular("a", first, f, 30)}, TimeKind::kDateTime));
  };
  EXPECT_EQ(infer("s", "2020-01-01 00:00:00"), "s");
  EXPECT_EQ(infer("10s", "2020-01-01 00:00:00"), "10s");
  EXPECT_EQ(infer("min", "2020-01-01 00:00:00"), "min");
  EXPECT_EQ(infer("10min", "2020-01-01 00:10:00"), "10min");
  EXPECT_EQ(infer("15min", "2016-07-01 00:00:00"), "15min");
  EXPECT_EQ(infer("h", "2016-07-01 00:00:00"), "h");
  EXPECT_EQ(infer("D", "2020-01-01 00:00:00"), "D");
  EXPECT_EQ(infer("W", "2020-01-05 00:00:00"), "W");
}

TEST(InferFrequencyTest, DailyWithWeekends) {
  EXPECT_EQ(
      InferredAlias(DatePanel({Regular("a", "1990-01-01", {Frequency::Unit::kSecond, 86400}, 40)})),
      "D");
}

TEST(InferFrequencyTest, MostCommonSpacingAcrossSeries) {
  const Frequency hourly{Frequency::Unit::kSecond, 3600};
  const Frequency daily{Frequency::Unit::kSecond, 86400};
  Panel p = DatePanel({Regular("a", "2020-01-01 00:00:00", hourly, 5),
                       Regular("b", "2020-01-01 00:00:00", daily, 20),
                       Regular("c", "2020-03-01 00:00:00", daily, 20)},
                      TimeKind::kDateTime);
  EXPECT_EQ(InferredAlias(p), "D");
}

TEST(InferFrequencyTest, BusinessDays) {
  // Thu 2024-01-04 onward, weekdays only: the Fri -> Mon gaps are 3 days.
  Panel p = DatePanel({Regular("a", "2024-01-04", {Frequency::Unit::kBusinessDay, 1}, 25)});
  EXPECT_EQ(InferredAlias(p), "B");
  // A trading calendar: a holiday (Mon 2024-01-15) is just a missing day.
  p.series[0] = MakeSeries("a", {"2024-01-10", "2024-01-11", "2024-01-12", "2024-01-16",
                                 "2024-01-17", "2024-01-18", "2024-01-19", "2024-01-22"});
  EXPECT_EQ(InferredAlias(p), "B");
  // Weekdays that never straddle a weekend are plain daily data.
  p.series[0] = MakeSeries("a", {"2024-01-08", "2024-01-09", "2024-01-10", "2024-01-11"});
  EXPECT_EQ(InferredAlias(p), "D");
  // Daily closes stamped with their time are trading days too (they were read as D, and the
  // forecast fell on a Saturday); the future keeps the time of day.
  Panel closes = DatePanel({Regular("a", "2024-01-04 16:00:00", {Frequency::Unit::kBusinessDay, 1}, 25)},
                           TimeKind::kDateTime);
  EXPECT_EQ(InferredAlias(closes), "B");
  const Series& s = closes.series[0];
  const std::vector<Timestamp> next = FutureTimestamps(s.ds.back(), *InferFrequency(closes), 3);
  for (const Timestamp& t : next) {
    const std::int64_t day = t.value / 86400;
    EXPECT_LT((day + 3) % 7, 5) << "a weekday (1970-01-01 was a Thursday)";
    EXPECT_EQ(t.value - day * 86400, 16 * 3600);
  }
}

TEST(InferFrequencyTest, MonthEndQuarterEndYearEnd) {
  Panel p = DatePanel({MakeSeries(
      "a", {"2023-11-30", "2023-12-31", "2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30"})});
  EXPECT_EQ(InferredAlias(p), "ME");
  p.series[0] = MakeSeries("a", {"2023-03-31", "2023-06-30", "2023-09-30", "2023-12-31"});
  EXPECT_EQ(InferredAlias(p), "QE");
  p.series[0] = MakeSeries("a", {"2019-12-31", "2020-12-31", "2021-12-31"});
  EXPECT_EQ(InferredAlias(p), "YE");
  p.series[0] = MakeSeries("a", {"2023-01-31", "2023-03-31", "2023-05-31", "2023-07-31"});
  EXPECT_EQ(InferredAlias(p), "2ME");
}

TEST(InferFrequencyTest, MonthStart) {
  Panel p = DatePanel(
      {MakeSeries("a", {"2023-11-01", "2023-12-01", "2024-01-01", "2024-02-01", "2024-03-01"})});
  EXPECT_EQ(InferredAlias(p), "MS");
  // Month-start date-times at midnight count too.
  p.time_kind = TimeKind::kDateTime;
  EXPECT_EQ(InferredAlias(p), "MS");
}

TEST(InferFrequencyTest, WeeklyAnchoredOnTuesday) {
  Panel p = DatePanel(
      {MakeSeries("ili", {"2002-01-01", "2002-01-08", "2002-01-15", "2002-01-22", "2002-01-29"})});
  Result<Frequency> f = InferFrequency(p);
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->ToString(), "W");
  EXPECT_EQ(Format(FutureTimestamps(p.series[0].ds.back(), *f, 2), TimeKind::kDate),
            (std::vector<std::string>{"2002-02-05", "2002-02-12"}));
}

TEST(InferFrequencyTest, FailsClearly) {
  Panel single = DatePanel({MakeSeries("a", {"2020-01-01"}), MakeSeries("b", {"2020-02-01"})});
  Result<Frequency> f = InferFrequency(single);
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("two or more"), std::string::npos);
  // Monthly on the 15th is neither month-end nor month-start: refuse rather than guess "31D".
  Panel mid = DatePanel({MakeSeries(
      "a", {"2020-01-15", "2020-02-15", "2020-03-15", "2020-04-15", "2020-05-15", "2020-06-15"})});
  f = InferFrequency(mid);
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("monthly"), std::string::npos) << f.status().message();
  Panel empty;
  EXPECT_FALSE(InferFrequency(empty).ok());
}

// ---------------------------------------------------------------------------------- futures

TEST(FutureTimestampsTest, MonthEndAcrossLeapFebruary) {
  const Frequency me{Frequency::Unit::kMonthEnd, 1};
  EXPECT_EQ(Format(FutureTimestamps(Date("2024-01-31"), me, 3), TimeKind::kDate),
            (std::vector<std::string>{"2024-02-29", "2024-03-31", "2024-04-30"}));
  EXPECT_EQ(Format(FutureTimestamps(Date("2023-01-31"), me, 3), TimeKind::kDate),
            (std::vector<std::string>{"2023-02-28", "2023-03-31", "2023-04-30"}));
  EXPECT_EQ(Format(FutureTimestamps(Date("1899-12-31"), me, 2), TimeKind::kDate),
            (std::vector<std::string>{"1900-01-31", "1900-02-28"}));
  EXPECT_EQ(Format(FutureTimestamps(Date("2000-01-31"), me, 2), TimeKind::kDate),
            (std::vector<std::string>{"2000-02-29", "2000-03-31"}));
  // Stepping from a short month must not carry the 28th/29th forward.
  EXPECT_EQ(Format(FutureTimestamps(Date("2023-11-30"), me, 4), TimeKind::kDate),
            (std::vector<std::string>{"2023-12-31", "2024-01-31", "2024-02-29", "2024-03-31"}));
  // A mid-month last date (--freq given for irregular data): the first step ends the current
  // period, as pandas' date_range(start, periods, freq) rolls forward; it skipped it.
  EXPECT_EQ(Format(FutureTimestamps(Date("2020-02-09"), me, 2), TimeKind::kDate),
            (std::vector<std::string>{"2020-02-29", "2020-03-31"}));
  EXPECT_EQ(Format(FutureTimestamps(Date("2020-02-09"), {Frequency::Unit::kQuarterEnd, 1}, 2), TimeKind::kDate),
            (std::vector<std::string>{"2020-03-31", "2020-06-30"}));
  EXPECT_EQ(Format(FutureTimestamps(Date("2020-02-09"), {Frequency::Unit::kYearEnd, 1}, 2), TimeKind::kDate),
            (std::vector<std::string>{"2020-12-31", "2021-12-31"}));
  // Multiples count the roll to the period end as one period: Feb 9 + 2ME = Mar 31.
  EXPECT_EQ(Format(FutureTimestamps(Date("2020-02-09"), {Frequency::Unit::kMonthEnd, 2}, 2), TimeKind::kDate),
            (std::vector<std::string>{"2020-03-31", "2020-05-31"}));
  EXPECT_EQ(Format(FutureTimestamps(Date("2020-02-09"), {Frequency::Unit::kQuarterEnd, 2}, 2), TimeKind::kDate),
            (std::vector<std::string>{"2020-06-30", "2020-12-31"}));
}

TEST(FutureTimestampsTest, OtherCalendarUnits) {
  EXPECT_EQ(Format(FutureTimestamps(Date("2023-12-01"), {Frequency::Unit::kMonthStart, 1}, 3),
                   TimeKind::kDate),
            (std::vector<std::string>{"2024-01-01", "2024-02-01", "2024-03-01"}));
  EXPECT_EQ(Format(FutureTimestamps(Date("2023-12-31"), {Frequency::Unit::kQuarterEnd, 1}, 3),
                   TimeKind::kDate),
            (std::vector<std::string>{"2024-03-31", "2024-06-30", "2024-09-30"}));
  EXPECT_EQ(Format(FutureTimestamps(Date("2023-12-31"), {Frequency::Unit::kYearEnd, 1}, 2),
                   TimeKind::kDate),
            (std::vector<std::string>{"2024-12-31", "2025-12-31"}));
  EXPECT_EQ(Format(FutureTimestamps(Date("2023-12-31"), {Frequency::Unit::kMonthEnd, 2}, 2),
                   TimeKind::kDate),
            (std::vector<std::string>{"2024-02-29", "2024-04-30"}));
}

// The cutoff before a series' first point: one step back, so that one step forward returns to it.
TEST(FutureTimestampsTest, PreviousTimestampIsOneStepBack) {
  using U = Frequency::Unit;
  const std::pair<const char*, Frequency> cases[] = {
      {"2024-03-31", {U::kMonthEnd, 1}},  {"2024-03-01", {U::kMonthStart, 1}}, {"2024-03-31", {U::kQuarterEnd, 1}},
      {"2024-12-31", {U::kYearEnd, 1}},   {"2024-04-30", {U::kMonthEnd, 2}},   {"2024-01-08", {U::kBusinessDay, 1}},
      {"2024-01-09", {U::kBusinessDay, 2}}, {"2024-01-09", {U::kSecond, 86400}}};
  for (const auto& [date, freq] : cases) {
    const Timestamp before = PreviousTimestamp(Date(date), freq);
    EXPECT_LT(before, Date(date)) << date << " " << freq.ToString();
    EXPECT_EQ(FutureTimestamps(before, freq, 1).front(), Date(date)) << date << " " << freq.ToString();
  }
  EXPECT_EQ(FormatTimestamp(PreviousTimestamp(Date("2024-03-31"), {U::kMonthEnd, 1}), TimeKind::kDate), "2024-02-29");
  EXPECT_EQ(FormatTimestamp(PreviousTimestamp(Date("2024-01-08"), {U::kBusinessDay, 1}), TimeKind::kDate), "2024-01-05");
  EXPECT_EQ(PreviousTimestamp(Timestamp{10}, {U::kStep, 3}).value, 7);
}

TEST(FutureTimestampsTest, BusinessDaysSkipWeekends) {
  const Frequency b{Frequency::Unit::kBusinessDay, 1};
  // Thu 2024-01-04.
  EXPECT_EQ(Format(FutureTimestamps(Date("2024-01-04"), b, 4), TimeKind::kDate),
            (std::vector<std::string>{"2024-01-05", "2024-01-08", "2024-01-09", "2024-01-10"}));
  // Fri 2024-01-05 and Sat 2024-01-06 both continue on Monday.
  EXPECT_EQ(Format(FutureTimestamps(Date("2024-01-05"), b, 1), TimeKind::kDate),
            (std::vector<std::string>{"2024-01-08"}));
  EXPECT_EQ(Format(FutureTimestamps(Date("2024-01-06"), b, 1), TimeKind::kDate),
            (std::vector<std::string>{"2024-01-08"}));
  EXPECT_EQ(Format(FutureTimestamps(Date("2024-01-04"), {Frequency::Unit::kBusinessDay, 2}, 2),
                   TimeKind::kDate),
            (std::vector<std::string>{"2024-01-08", "2024-01-10"}));
}

TEST(FutureTimestampsTest, HourlyAndInteger) {
  EXPECT_EQ(
      Format(FutureTimestamps(Date("2018-06-26 22:00:00"), {Frequency::Unit::kSecond, 3600}, 3),
             TimeKind::kDateTime),
      (std::vector<std::string>{"2018-06-26 23:00:00", "2018-06-27 00:00:00",
                                "2018-06-27 01:00:00"}));
  EXPECT_EQ(
      Format(FutureTimestamps(Timestamp{10}, {Frequency::Unit::kStep, 2}, 3), TimeKind::kInteger),
      (std::vector<std::string>{"12", "14", "16"}));
  EXPECT_TRUE(FutureTimestamps(Timestamp{10}, {Frequency::Unit::kStep, 1}, 0).empty());
}

// ---------------------------------------------------------------------------------- reader

TEST(ReadLongCsvTest, ReadsSeriesInFileOrder) {
  TempCsv file("unique_id,ds,y\nb,2020-01-01,1.5\nb,2020-01-02,-2e3\na,2020-01-01,+3\n");
  Result<Panel> r = ReadLongCsv(file.path());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->time_kind, TimeKind::kDate);
  ASSERT_EQ(r->series.size(), 2u);
  EXPECT_EQ(r->series[0].unique_id, "b");
  EXPECT_EQ(r->series[0].y, (std::vector<double>{1.5, -2000.0}));
  EXPECT_EQ(r->series[0].ds[1], Date("2020-01-02"));
  EXPECT_EQ(r->series[1].unique_id, "a");
  EXPECT_EQ(r->series[1].y, (std::vector<double>{3.0}));
}

TEST(ReadLongCsvTest, ColumnsByNameCrlfAndTrailingBlankLine) {
  TempCsv file("y,extra,ds,unique_id\r\n1,x,1,s\r\n2,,2,s\r\n3,z,4,s\r\n\r\n");
  Result<Panel> r = ReadLongCsv(file.path());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->time_kind, TimeKind::kInteger);
  ASSERT_EQ(r->series.size(), 1u);
  EXPECT_EQ(r->series[0].ds, (std::vector<Timestamp>{{1}, {2}, {4}}));
  EXPECT_EQ(r->series[0].y, (std::vector<double>{1, 2, 3}));
}

TEST(ReadLongCsvTest, NoFinalNewlineAndDateTimes) {
  TempCsv file("unique_id,ds,y\nOT,2016-07-01 00:00:00,1\nOT,2016-07-01 01:00:00,2");
  Result<Panel> r = ReadLongCsv(file.path());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->time_kind, TimeKind::kDateTime);
  ASSERT_EQ(r->series[0].ds.size(), 2u);
  EXPECT_EQ(InferredAlias(*r), "h");
}

TEST(ReadLongCsvTest, MissingFileIsNotFound) {
  const std::string path = "/nonexistent/nhits_no_such_file.csv";
  Result<Panel> r = ReadLongCsv(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kNotFound);
  // The file itself is the problem: no line or field to point at.
  EXPECT_EQ(r.status().message(), path + ": cannot open file: No such file or directory");
}

TEST(ReadLongCsvTest, EmptyFile) {
  ExpectCsvError("", 1, "unique_id", "empty");
  ExpectCsvError("\n\n", 1, "unique_id", "empty");
}

TEST(ReadLongCsvTest, HeaderOnly) {
  ExpectCsvError("unique_id,ds,y\n", 2, "unique_id", "no data rows");
}

TEST(ReadLongCsvTest, MisnamedColumns) {
  ExpectCsvError("id,date,value\na,2020-01-01,1\n", 1, "unique_id",
                 "missing column(s) 'unique_id', 'ds', 'y'");
  ExpectCsvError("id,date,value\na,2020-01-01,1\n", 1, "unique_id",
                 "found columns 'id', 'date', 'value'");
  ExpectCsvError("unique_id,ds,value\na,2020-01-01,1\n", 1, "y", "missing column(s) 'y'");
  ExpectCsvError("unique_id,y,ds,y\na,1,2020-01-01,1\n", 1, "y", "twice");
}

TEST(ReadLongCsvTest, WrongFieldCount) {
  ExpectCsvError("unique_id,ds,y\na,2020-01-01,1\na,2020-01-02\n", 3, "y", "2 fields");
  ExpectCsvError("unique_id,ds,y\na\n", 2, "ds", "1 fields");
  ExpectCsvError("unique_id,ds,y\na,2020-01-01,1,9\n", 2, "y", "4 fields");
}

TEST(ReadLongCsvTest, BadValues) {
  ExpectCsvError("unique_id,ds,y\na,1,1\na,2,\n", 3, "y", "empty");
  ExpectCsvError("unique_id,ds,y\na,1,abc\n", 2, "y", "'abc' is not a number");
  ExpectCsvError("unique_id,ds,y\na,1,1.5x\n", 2, "y", "not a number");
  ExpectCsvError("unique_id,ds,y\na,1,NaN\n", 2, "y", "not a finite number");
  ExpectCsvError("unique_id,ds,y\na,1,nan\n", 2, "y", "not a finite number");
  ExpectCsvError("unique_id,ds,y\na,1,inf\n", 2, "y", "not a finite number");
  ExpectCsvError("unique_id,ds,y\na,1,-Infinity\n", 2, "y", "not a finite number");
  ExpectCsvError("unique_id,ds,y\na,1,1e999\n", 2, "y", "out of range");
  // One '+' is a sign pandas reads; a second sign after it is not a number (it read as -5).
  ExpectCsvError("unique_id,ds,y\na,1,+-5\n", 2, "y", "not a number");
  ExpectCsvError("unique_id,ds,y\na,1,++5\n", 2, "y", "not a number");
  ExpectCsvError("unique_id,ds,y\na,+-1,5\n", 2, "ds", "not a valid timestamp");
  TempCsv plus("unique_id,ds,y\na,+1,+5\n");
  const Result<Panel> p = ReadLongCsv(plus.path());
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->series[0].y, std::vector<double>{5});
}

// Asserts that `status` is "PATH:LINE: field 'FIELD': ..." containing `part`.
void ExpectFieldError(const Status& status, const std::string& path, int line, const std::string& field,
                      const std::string& part) {
  ASSERT_FALSE(status.ok());
  const std::string prefix = path + ":" + std::to_string(line) + ": field '" + field + "': ";
  EXPECT_EQ(status.message().rfind(prefix, 0), 0u) << status.message();
  EXPECT_NE(status.message().find(part), std::string::npos) << status.message();
}

TEST(ExogenousCsvTest, ReadsNamedColumnsInTheOrderAsked) {
  TempCsv file("unique_id,ds,y,promo,volume,ignored\na,1,10,1,200,x\na,2,11,0,210.5,y\nb,1,5,0,-3,z\n");
  Result<Panel> p = ReadLongCsv(file.path(), {"volume", "promo"});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->exog_names, (std::vector<std::string>{"volume", "promo"}));
  ASSERT_EQ(p->series.size(), 2u);
  EXPECT_EQ(p->series[0].exog[0], (std::vector<double>{200, 210.5}));
  EXPECT_EQ(p->series[0].exog[1], (std::vector<double>{1, 0}));
  EXPECT_EQ(p->series[1].exog[0], (std::vector<double>{-3}));
}

TEST(ExogenousCsvTest, MissingOrBadColumnsNameFileLineAndField) {
  TempCsv missing("unique_id,ds,y,promo\na,1,10,1\n");
  ExpectFieldError(ReadLongCsv(missing.path(), {"volume"}).status(), missing.path(), 1, "volume",
                   "missing exogenous column");
  TempCsv bad("unique_id,ds,y,promo\na,1,10,1\na,2,11,\na,3,12,x\n");
  ExpectFieldError(ReadLongCsv(bad.path(), {"promo"}).status(), bad.path(), 3, "promo", "empty value");
  TempCsv nan("unique_id,ds,y,promo\na,1,10,nan\n");
  ExpectFieldError(ReadLongCsv(nan.path(), {"promo"}).status(), nan.path(), 2, "promo", "not a finite number");
}

TEST(ExogenousCsvTest, StaticValuesAttachByIdAndFailClearly) {
  TempCsv data("unique_id,ds,y\na,1,10\na,2,11\nb,1,5\n");
  Panel panel = *ReadLongCsv(data.path());
  TempCsv stat("unique_id,sector,size\nb,2,0.5\na,1,3\nzz,9,9\n");  // any order; unknown ids ignored
  ASSERT_TRUE(AttachStaticCsv(stat.path(), {"size", "sector"}, &panel).ok());
  EXPECT_EQ(panel.static_names, (std::vector<std::string>{"size", "sector"}));
  EXPECT_EQ(panel.series[0].static_values, (std::vector<double>{3, 1}));
  EXPECT_EQ(panel.series[1].static_values, (std::vector<double>{0.5, 2}));
  TempCsv lacking("unique_id,sector,size\na,1,3\n");
  // No line: the missing row is nowhere in the file (the message used to name the line after its end).
  const Status no_row = AttachStaticCsv(lacking.path(), {"size"}, &panel);
  ASSERT_FALSE(no_row.ok());
  EXPECT_EQ(no_row.message(), lacking.path() + ": no row for series 'b' (every series needs its static values)");
  TempCsv spreadsheet("\xEF\xBB\xBFunique_id , size\r\na,1\r\nb,2\r\n");  // BOM, spaces, CRLF
  ASSERT_TRUE(AttachStaticCsv(spreadsheet.path(), {"size"}, &panel).ok());
  EXPECT_EQ(panel.series[1].static_values, (std::vector<double>{2}));
  TempCsv dup("unique_id,size,size\na,1,2\nb,2,3\n");
  ExpectFieldError(AttachStaticCsv(dup.path(), {"size"}, &panel), dup.path(), 1, "size", "twice");
  TempCsv twice("unique_id,size\na,1\nb,2\na,3\n");
  ExpectFieldError(AttachStaticCsv(twice.path(), {"size"}, &panel), twice.path(), 4, "unique_id", "line 2");
  TempCsv spaced("unique_id,size\na, 1.5\nb,2 \n");  // spaces around values, as --data takes them
  ASSERT_TRUE(AttachStaticCsv(spaced.path(), {"size"}, &panel).ok());
  EXPECT_EQ(panel.series[0].static_values, (std::vector<double>{1.5}));
  TempCsv signs("unique_id,size\na,+-1\nb,2\n");
  ExpectFieldError(AttachStaticCsv(signs.path(), {"size"}, &panel), signs.path(), 2, "size", "'+-1' is not a finite number");
  TempCsv bad("unique_id,size\na,1\nb,big\n");
  ExpectFieldError(AttachStaticCsv(bad.path(), {"size"}, &panel), bad.path(), 3, "size", "'big' is not a finite number");
  ExpectFieldError(AttachStaticCsv(bad.path(), {"beta"}, &panel), bad.path(), 1, "beta", "missing static column");
}

TEST(ExogenousCsvTest, FutureValuesMustCoverTheHorizon) {
  TempCsv data("unique_id,ds,y,promo\na,2024-01-01,10,1\na,2024-01-02,11,0\nb,2024-01-01,5,1\nb,2024-01-02,6,1\n");
  Panel panel = *ReadLongCsv(data.path(), {"promo"});
  const Frequency daily = *ParseFrequency("D", panel.time_kind);
  // Past rows in the future file are skipped; each series needs exactly its next h dates.
  TempCsv futr("unique_id,ds,promo\na,2024-01-02,7\na,2024-01-03,1\na,2024-01-04,0\nb,2024-01-03,0\nb,2024-01-04,1\n");
  ASSERT_TRUE(AttachFutureCsv(futr.path(), {"promo"}, daily, 2, &panel).ok());
  EXPECT_EQ(panel.series[0].exog[0], (std::vector<double>{1, 0, 1, 0}));
  EXPECT_EQ(panel.series[1].exog[0], (std::vector<double>{1, 1, 0, 1}));
  EXPECT_EQ(panel.series[0].y.size(), 2u);  // y is not extended
  TempCsv short_futr("unique_id,ds,promo\na,2024-01-03,1\nb,2024-01-03,0\nb,2024-01-04,1\n");
  const Status st = AttachFutureCsv(short_futr.path(), {"promo"}, daily, 2, &panel);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("series 'a' has no futr values for 2024-01-04 (step 2 of h=2"), std::string::npos)
      << st.message();
  TempCsv gap("unique_id,ds,promo\na,2024-01-03,1\na,2024-01-05,1\nb,2024-01-03,0\nb,2024-01-04,1\n");
  const Status gap_st = AttachFutureCsv(gap.path(), {"promo"}, daily, 2, &panel);
  EXPECT_NE(gap_st.message().find("series 'a' has futr values for 2024-01-05 where 2024-01-04 comes next"),
            std::string::npos)
      << gap_st.message();
  TempCsv no_col("unique_id,ds\na,2024-01-03\n");
  ExpectFieldError(AttachFutureCsv(no_col.path(), {"promo"}, daily, 2, &panel), no_col.path(), 1, "promo",
                   "missing exogenous column");
}

TEST(ReadLongCsvTest, EmptyUniqueId) {
  ExpectCsvError("unique_id,ds,y\n,1,1\n", 2, "unique_id", "empty");
  ExpectCsvError("unique_id,ds,y\na,1,1\n,2,1\n", 3, "unique_id", "empty");
}

TEST(ReadLongCsvTest, SkipsUtf8ByteOrderMark) {
  TempCsv file("\xEF\xBB\xBFunique_id,ds,y\na,1,1\n");
  Result<Panel> r = ReadLongCsv(file.path());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->series[0].unique_id, "a");
}

TEST(ReadLongCsvTest, BadTimestamps) {
  ExpectCsvError("unique_id,ds,y\na,2020-01-01,1\na,2020-02-30,2\n", 3, "ds", "'2020-02-30'");
  ExpectCsvError("unique_id,ds,y\na,yesterday,1\n", 2, "ds", "not a valid timestamp");
  ExpectCsvError("unique_id,ds,y\na,,1\n", 2, "ds", "empty");
  ExpectCsvError("unique_id,ds,y\na,2020-01-01 10:00:00+02:00,1\n", 2, "ds", "other than UTC");
  ExpectCsvError("unique_id,ds,y\na,2020-01-01 10:00:00.250,1\n", 2, "ds", "fractional seconds");
  ExpectCsvError("unique_id,ds,y\na,9223372036854775807,1\n", 2, "ds", "out of range");
}

// pandas writes UTC columns as "...+00:00" and to_csv of datetimes may carry ".000": the same instants.
TEST(ReadLongCsvTest, UtcSuffixesAndWholeSecondFractions) {
  TempCsv utc("unique_id,ds,y\na,2020-01-01 10:00:00+00:00,1\na,2020-01-01T11:00:00Z,2\na,2020-01-01 12:00:00.000,3\n");
  const Result<Panel> p = ReadLongCsv(utc.path());
  ASSERT_TRUE(p.ok()) << p.status().message();
  ASSERT_EQ(p->series[0].ds.size(), 3u);
  EXPECT_EQ(p->series[0].ds[1].value - p->series[0].ds[0].value, 3600);
  EXPECT_EQ(p->series[0].ds[2].value - p->series[0].ds[1].value, 3600);
  EXPECT_EQ(FormatTimestamp(p->series[0].ds[0], p->time_kind), "2020-01-01 10:00:00");
}

TEST(ReadLongCsvTest, MixedTimestampKinds) {
  ExpectCsvError("unique_id,ds,y\na,1,1\nb,2020-01-01,2\n", 3, "ds", "mixed ds types");
  ExpectCsvError("unique_id,ds,y\na,2020-01-01,1\na,5,2\n", 3, "ds", "mixed ds types");
  // Dates and date-times are compatible: the panel widens to date-times.
  TempCsv file("unique_id,ds,y\na,2020-01-01,1\na,2020-01-01 12:00,2\n");
  Result<Panel> r = ReadLongCsv(file.path());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->time_kind, TimeKind::kDateTime);
}

TEST(ReadLongCsvTest, DuplicatesNameBothLines) {
  ExpectCsvError("unique_id,ds,y\na,2020-01-01,1\na,2020-01-01,2\n", 3, "ds", "duplicate");
  // Found after sorting too: the later line is at fault, the message names the earlier one.
  ExpectCsvError("unique_id,ds,y\na,3,1\nb,1,1\na,1,2\na,3,5\n", 5, "ds", "the same ds is on line 2");
  // The same ds in different series is fine.
  TempCsv file("unique_id,ds,y\na,1,1\nb,1,2\n");
  EXPECT_TRUE(ReadLongCsv(file.path()).ok());
}

// neuralforecast sorts the frame by (unique_id, ds): a file by date across tickers (the usual
// market-data export) or shuffled reads as the sorted one, each series' columns moved together.
TEST(ReadLongCsvTest, RowsInAnyOrderAreSortedPerSeries) {
  TempCsv sorted("unique_id,ds,y,x\na,2020-01-01,1,10\na,2020-01-02,2,20\na,2020-01-03,3,30\nb,2020-01-01,7,70\nb,2020-01-02,8,80\n");
  TempCsv by_date("unique_id,ds,y,x\na,2020-01-01,1,10\nb,2020-01-01,7,70\na,2020-01-02,2,20\nb,2020-01-02,8,80\na,2020-01-03,3,30\n");
  TempCsv shuffled("unique_id,ds,y,x\na,2020-01-03,3,30\nb,2020-01-02,8,80\na,2020-01-01,1,10\nb,2020-01-01,7,70\na,2020-01-02,2,20\n");
  Result<Panel> want = ReadLongCsv(sorted.path(), {"x"});
  ASSERT_TRUE(want.ok()) << want.status().message();
  for (const TempCsv* f : {&by_date, &shuffled}) {
    Result<Panel> got = ReadLongCsv(f->path(), {"x"});
    ASSERT_TRUE(got.ok()) << got.status().message();
    ASSERT_EQ(got->series.size(), 2u);
    for (std::size_t s = 0; s < 2; ++s) {
      EXPECT_EQ(got->series[s].unique_id, want->series[s].unique_id);  // order of first appearance
      EXPECT_EQ(got->series[s].ds, want->series[s].ds);
      EXPECT_EQ(got->series[s].y, want->series[s].y);
      EXPECT_EQ(got->series[s].exog, want->series[s].exog);
    }
  }
}

// neuralforecast's available_mask: 0 marks a missing point, whose y may be left empty or NaN and
// is then filled from the last observed value (0 before the first, as padding), after the rows are
// sorted; a number given at a missing point is kept. Its exogenous values are placeholders too.
TEST(ReadLongCsvTest, AvailableMaskMarksMissingPointsAndFillsTheirPlaceholders) {
  TempCsv file("unique_id,ds,y,available_mask\n"
               "a,3,,0\na,1,,0\na,2,5,1\na,4,NaN,false\na,5,7,True\na,6,99,0.0\n"
               "b,1,,0\nb,2,,0\n");
  Result<Panel> r = ReadLongCsv(file.path());
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->series.size(), 2u);
  EXPECT_EQ(r->series[0].available, (std::vector<std::uint8_t>{0, 1, 0, 0, 1, 0}));
  EXPECT_EQ(r->series[0].y, (std::vector<double>{0, 5, 5, 5, 7, 99}));
  EXPECT_FALSE(r->series[0].observed(0));
  EXPECT_TRUE(r->series[0].observed(1));
  EXPECT_EQ(r->series[1].y, (std::vector<double>{0, 0}));  // nothing observed: 0
  TempCsv exog("unique_id,ds,y,available_mask,price\na,1,1,1,10\na,2,,0,\na,3,3,1,30\na,4,,0,NaN\n");
  Result<Panel> with_exog = ReadLongCsv(exog.path(), {"price"});
  ASSERT_TRUE(with_exog.ok()) << with_exog.status().message();
  EXPECT_EQ(with_exog->series[0].exog[0], (std::vector<double>{10, 10, 30, 30}));
  // A negative sample_weight is refused at an observed row only, as neuralforecast checks it.
  TempCsv weights("unique_id,ds,y,available_mask,sample_weight\na,1,1,1,1\na,2,,0,-1\n");
  EXPECT_TRUE(ReadLongCsv(weights.path(), {"sample_weight"}).ok());
  TempCsv bad_weight("unique_id,ds,y,available_mask,sample_weight\na,1,1,1,-1\n");
  EXPECT_FALSE(ReadLongCsv(bad_weight.path(), {"sample_weight"}).ok());
  TempCsv observed_gap("unique_id,ds,y,available_mask,price\na,1,1,1,\n");
  const Result<Panel> refused = ReadLongCsv(observed_gap.path(), {"price"});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find(":2: field 'price': empty value"), std::string::npos) << refused.status().message();
  TempCsv plain("unique_id,ds,y\na,1,1\n");
  Result<Panel> without = ReadLongCsv(plain.path());
  ASSERT_TRUE(without.ok());
  EXPECT_TRUE(without->series[0].available.empty());
  EXPECT_TRUE(without->series[0].observed(0));
}

TEST(ReadLongCsvTest, AvailableMaskErrorsNameTheLineAndField) {
  ExpectCsvError("unique_id,ds,y,available_mask\na,1,1,1\na,2,1,2\n", 3, "available_mask", "'2' must be 1 (observed) or 0");
  ExpectCsvError("unique_id,ds,y,available_mask\na,1,1,\n", 2, "available_mask", "empty value must be 1");
  ExpectCsvError("unique_id,ds,y,available_mask\na,1,,1\n", 2, "y", "empty value at an observed point");
  ExpectCsvError("unique_id,ds,y,available_mask\na,1,NaN,1\n", 2, "y", "at an observed point");
  ExpectCsvError("unique_id,ds,y,available_mask,available_mask\na,1,1,1,1\n", 1, "available_mask", "twice");
  // A missing point's y may be empty or what pandas reads as NaN, not any text.
  ExpectCsvError("unique_id,ds,y,available_mask\na,1,1,1\na,2,abc,0\n", 3, "y", "'abc' is not a number (a missing point's y");
  TempCsv na("unique_id,ds,y,available_mask\na,1,1,1\na,2,NA,0\na,3,null,0\n");
  EXPECT_TRUE(ReadLongCsv(na.path()).ok());
  // Without the column, an empty y says how to mark a missing observation.
  ExpectCsvError("unique_id,ds,y\na,1,\n", 2, "y", "available_mask column");
  ExpectCsvError("unique_id,ds,y\na,1,NaN\n", 2, "y", "available_mask column");
}

// RFC 4180 quoting, as pandas and spreadsheets write it: quoted names and values, a comma or a
// doubled quote inside a field, spaces around values.
TEST(ReadLongCsvTest, QuotedFields) {
  TempCsv file("\"unique_id\",\"ds\",\"y\"\n\"AAPL\",2020-01-01, 1.5\n\"Acme, Inc.\", 2020-01-01 ,\"2\"\n"
               "\"say \"\"hi\"\"\",2020-01-01,3\n");
  Result<Panel> r = ReadLongCsv(file.path());
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->series.size(), 3u);
  EXPECT_EQ(r->series[0].unique_id, "AAPL");  // the quotes are not part of the id
  EXPECT_EQ(r->series[0].y, std::vector<double>{1.5});
  EXPECT_EQ(r->series[1].unique_id, "Acme, Inc.");
  EXPECT_EQ(r->series[1].y, std::vector<double>{2});
  EXPECT_EQ(r->series[2].unique_id, "say \"hi\"");
  ExpectCsvError("unique_id,ds,y\n\"AAPL,2020-01-01,1\n", 2, "unique_id", "no closing quote");
  ExpectCsvError("unique_id,ds,y\n\"AA\"PL,2020-01-01,1\n", 2, "unique_id", "text after a closing quote");
  TempCsv literal("unique_id,ds,y\nAA\"PL,2020-01-01,1\n");  // a quote inside an unquoted field is text, as in pandas
  Result<Panel> lit = ReadLongCsv(literal.path());
  ASSERT_TRUE(lit.ok()) << lit.status().message();
  EXPECT_EQ(lit->series[0].unique_id, "AA\"PL");
  // A categorical label keeps its spaces (pandas does), numbers around it lose theirs.
  CategoricalColumn color;
  color.name = "color";
  color.cardinality = 2;
  color.vocabulary = {" red", "blue"};
  const std::vector<CategoricalColumn> vocab = {color};
  TempCsv labels("unique_id,ds,y,color\na,1, 5, red\na,2,6,blue\n");
  Result<Panel> coded = ReadLongCsv(labels.path(), {"color"}, &vocab);
  ASSERT_TRUE(coded.ok()) << coded.status().message();
  EXPECT_EQ(coded->series[0].exog[0], (std::vector<double>{1, 2}));
  EXPECT_EQ(coded->series[0].y, (std::vector<double>{5, 6}));
  ExpectCsvError("unique_id,ds,y\nAcme, Inc.,2020-01-01,1\n", 2, "y", "must be quoted");
}

TEST(ReadLongCsvTest, BlankLineInsideData) {
  ExpectCsvError("unique_id,ds,y\na,1,1\n\na,2,1\n", 3, "unique_id", "blank line");
}

// ---------------------------------------------------------------------------------- real files

TEST(RealDataTest, AirPassengersIsMonthEnd) {
  const std::string path = SharedData("air_passengers/air_passengers.csv");
  if (path.empty()) GTEST_SKIP() << "shared data not available";
  Result<Panel> r = ReadLongCsv(path);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->series.size(), 1u);
  EXPECT_EQ(r->series[0].ds.size(), 144u);
  EXPECT_EQ(r->series[0].y[0], 112);
  Result<Frequency> f = InferFrequency(*r);
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->ToString(), "ME");
  EXPECT_EQ(SeasonLength(*f), 12);
  EXPECT_EQ(Format(FutureTimestamps(r->series[0].ds.back(), *f, 3), r->time_kind),
            (std::vector<std::string>{"1961-01-31", "1961-02-28", "1961-03-31"}));
}

TEST(RealDataTest, NationalIllnessIsWeekly) {
  const std::string path = SharedData("long_horizon/national_illness.csv");
  if (path.empty()) GTEST_SKIP() << "shared data not available";
  Result<Panel> r = ReadLongCsv(path);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->time_kind, TimeKind::kDate);
  ASSERT_EQ(r->series.size(), 7u);
  EXPECT_EQ(r->series[0].unique_id, "% WEIGHTED ILI");
  EXPECT_EQ(r->series[6].unique_id, "OT");
  for (const Series& s : r->series) {
    EXPECT_EQ(s.ds.size(), 966u) << s.unique_id;
    EXPECT_EQ(s.y.size(), 966u) << s.unique_id;
  }
  EXPECT_EQ(FormatTimestamp(r->series[0].ds[0], r->time_kind), "2002-01-01");
  EXPECT_DOUBLE_EQ(r->series[0].y[0], 1.22262);
  Result<Frequency> f = InferFrequency(*r);
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->ToString(), "W");
  EXPECT_EQ(SeasonLength(*f), 52);
}

TEST(RealDataTest, StocksAreBusinessDays) {
  const std::string path = SharedData("stocks/sp500_close_2013_2018.csv");
  if (path.empty()) GTEST_SKIP() << "shared data not available";
  Result<Panel> r = ReadLongCsv(path);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->series.size(), 505u);
  size_t rows = 0;
  for (const Series& s : r->series) rows += s.ds.size();
  EXPECT_EQ(rows, 619040u);
  EXPECT_EQ(InferredAlias(*r), "B");
}

}  // namespace
}  // namespace nhits
