// Sampling frequencies: pandas-style aliases, inference from `ds` spacing, and future dates.
#include <charconv>
#include <cstdint>
#include <string>
#include <unordered_map>

#include "civil.h"
#include "nhits/data.h"

namespace nhits {
namespace {

using civil::kSecondsPerDay;
constexpr std::int64_t kWeek = 7 * kSecondsPerDay;
constexpr std::int64_t kMaxMultiple = 1'000'000;  // keeps step * unit far from overflow

constexpr const char* kAccepted =
    "accepted: s, min, h, D, W, B, ME, MS, QE, YE, each optionally with a multiple such as "
    "'15min' (legacy S, T, H, M, Q, Y, A also work), or an integer step such as '1' for integer ds";

std::string WithMultiple(std::int64_t n, const char* unit) {
  return n == 1 ? std::string(unit) : std::to_string(n) + unit;
}

// Mode of a histogram; ties go to the smaller key so the answer does not depend on hash order.
std::int64_t Mode(const std::unordered_map<std::int64_t, std::int64_t>& counts) {
  std::int64_t best_key = 0, best_count = -1;
  for (const auto& [key, count] : counts) {
    if (count > best_count || (count == best_count && key < best_key)) {
      best_key = key;
      best_count = count;
    }
  }
  return best_key;
}

// Weekdays in [1970-01-05 (a Monday), day): differences give business-day distances.
std::int64_t BusinessDayIndex(std::int64_t day) {
  const std::int64_t from_monday = day - 4;
  const std::int64_t weeks = civil::FloorDiv(from_monday, 7);
  const std::int64_t rest = from_monday - weeks * 7;
  return weeks * 5 + (rest < 5 ? rest : 5);
}

struct DateFacts {
  bool all_midnight = true;
  bool one_time_of_day = true;  // every timestamp at the same clock time (daily closes at 16:00)
  std::int64_t time_of_day = -1;
  bool all_month_end = true;
  bool all_month_start = true;
  bool any_weekend = false;
  bool crosses_weekend = false;  // some gap skips a Saturday/Sunday
  std::unordered_map<std::int64_t, std::int64_t> seconds_gaps, month_gaps, business_gaps;
};

DateFacts CollectDateFacts(const Panel& panel) {
  DateFacts f;
  for (const Series& s : panel.series) {
    for (size_t i = 0; i < s.ds.size(); ++i) {
      const std::int64_t v = s.ds[i].value;
      const std::int64_t day = civil::FloorDiv(v, kSecondsPerDay);
      const civil::Date date = civil::CivilFromDays(day);
      f.all_midnight &= v == day * kSecondsPerDay;
      if (f.time_of_day < 0) f.time_of_day = v - day * kSecondsPerDay;
      f.one_time_of_day &= v - day * kSecondsPerDay == f.time_of_day;
      f.all_month_end &= date.day == civil::DaysInMonth(date.year, date.month);
      f.all_month_start &= date.day == 1;
      f.any_weekend |= civil::Weekday(day) >= 5;
      if (i == 0) continue;
      const std::int64_t prev = s.ds[i - 1].value;
      const std::int64_t prev_day = civil::FloorDiv(prev, kSecondsPerDay);
      const civil::Date prev_date = civil::CivilFromDays(prev_day);
      ++f.seconds_gaps[v - prev];
      ++f.month_gaps[(date.year - prev_date.year) * 12 + (date.month - prev_date.month)];
      const std::int64_t business = BusinessDayIndex(day) - BusinessDayIndex(prev_day);
      ++f.business_gaps[business];
      f.crosses_weekend |= (day - prev_day) > business;
    }
  }
  return f;
}

Result<Frequency> InferDateFrequency(const Panel& panel) {
  const DateFacts f = CollectDateFacts(panel);
  if (f.seconds_gaps.empty()) {
    return Status::InvalidArgument(
        "cannot infer the frequency: no series has two or more timestamps");
  }
  // Calendar rules first: month lengths vary, so a month-end series has no single gap in seconds.
  if (f.all_midnight && (f.all_month_end || f.all_month_start)) {
    const std::int64_t months = Mode(f.month_gaps);
    if (months > 0) {
      if (f.all_month_start) return Frequency{Frequency::Unit::kMonthStart, months};
      if (months % 12 == 0) return Frequency{Frequency::Unit::kYearEnd, months / 12};
      if (months % 3 == 0) return Frequency{Frequency::Unit::kQuarterEnd, months / 3};
      return Frequency{Frequency::Unit::kMonthEnd, months};
    }
  }
  const std::int64_t gap = Mode(f.seconds_gaps);
  // Weekly data anchored on any weekday (ILI uses Tuesdays) is a plain 7-day step.
  if (gap % kWeek == 0) return Frequency{Frequency::Unit::kSecond, gap};
  // Trading days: weekdays only, weekends skipped; holidays are just missing observations. At
  // midnight or at one clock time (closes at 16:00), as pandas' infer_freq reads them.
  if (f.one_time_of_day && !f.any_weekend && f.crosses_weekend) {
    const std::int64_t business = Mode(f.business_gaps);
    if (business > 0) return Frequency{Frequency::Unit::kBusinessDay, business};
  }
  const std::int64_t days = gap / kSecondsPerDay;
  const bool calendar_like =
      gap % kSecondsPerDay == 0 &&
      ((days >= 28 && days <= 31) || (days >= 89 && days <= 92) || days == 365 || days == 366);
  if (calendar_like) {
    return Status::InvalidArgument(
        "cannot infer the frequency: the most common ds gap is " + std::to_string(days) +
        " days, which looks monthly/quarterly/yearly, but the dates are neither all month-ends "
        "(ME/QE/YE) nor all month-starts (MS)");
  }
  return Frequency{Frequency::Unit::kSecond, gap};
}

}  // namespace

std::string Frequency::ToString() const {
  switch (unit) {
    case Unit::kStep: return std::to_string(step);
    case Unit::kSecond:
      if (step % kWeek == 0) return WithMultiple(step / kWeek, "W");
      if (step % kSecondsPerDay == 0) return WithMultiple(step / kSecondsPerDay, "D");
      if (step % 3600 == 0) return WithMultiple(step / 3600, "h");
      if (step % 60 == 0) return WithMultiple(step / 60, "min");
      return WithMultiple(step, "s");
    case Unit::kBusinessDay: return WithMultiple(step, "B");
    case Unit::kMonthEnd: return WithMultiple(step, "ME");
    case Unit::kMonthStart: return WithMultiple(step, "MS");
    case Unit::kQuarterEnd: return WithMultiple(step, "QE");
    case Unit::kYearEnd: return WithMultiple(step, "YE");
  }
  return "?";
}

Result<Frequency> ParseFrequency(const std::string& alias, TimeKind kind) {
  const auto fail = [&](const std::string& what) {
    return Status::InvalidArgument("frequency '" + alias + "': " + what);
  };
  const char* first = alias.data();
  const char* last = first + alias.size();
  std::int64_t multiple = 1;
  const auto [rest, ec] = std::from_chars(first, last, multiple);
  const bool has_number = rest != first;
  if (has_number && (ec != std::errc() || multiple <= 0 || multiple > kMaxMultiple)) {
    return fail("the multiple must be between 1 and " + std::to_string(kMaxMultiple));
  }
  const std::string unit(has_number ? rest : first, last);
  if (kind == TimeKind::kInteger) {
    if (!has_number || !unit.empty()) {
      return fail("integer ds takes an integer step such as '1'; " + std::string(kAccepted));
    }
    return Frequency{Frequency::Unit::kStep, multiple};
  }
  using U = Frequency::Unit;
  if (unit.empty())
    return fail("date ds needs a unit, not a bare number; " + std::string(kAccepted));
  if (unit == "s" || unit == "S") return Frequency{U::kSecond, multiple};
  if (unit == "min" || unit == "T") return Frequency{U::kSecond, multiple * 60};
  if (unit == "h" || unit == "H") return Frequency{U::kSecond, multiple * 3600};
  if (unit == "D") return Frequency{U::kSecond, multiple * kSecondsPerDay};
  // Weekly anchors (W-SUN, W-TUE) need no extra handling: steps continue from the last date.
  if (unit == "W" || unit.rfind("W-", 0) == 0) return Frequency{U::kSecond, multiple * kWeek};
  if (unit == "B") return Frequency{U::kBusinessDay, multiple};
  if (unit == "ME" || unit == "M") return Frequency{U::kMonthEnd, multiple};
  if (unit == "MS") return Frequency{U::kMonthStart, multiple};
  if (unit == "QE" || unit == "Q") return Frequency{U::kQuarterEnd, multiple};
  if (unit == "YE" || unit == "Y" || unit == "A") return Frequency{U::kYearEnd, multiple};
  return fail("unknown alias; " + std::string(kAccepted));
}

Result<Frequency> InferFrequency(const Panel& panel) {
  if (panel.time_kind != TimeKind::kInteger) return InferDateFrequency(panel);
  std::unordered_map<std::int64_t, std::int64_t> gaps;
  for (const Series& s : panel.series) {
    for (size_t i = 1; i < s.ds.size(); ++i) ++gaps[s.ds[i].value - s.ds[i - 1].value];
  }
  if (gaps.empty()) {
    return Status::InvalidArgument(
        "cannot infer the frequency: no series has two or more timestamps");
  }
  const std::int64_t step = Mode(gaps);
  if (step <= 0) return Status::InvalidArgument("cannot infer the frequency: ds is not increasing");
  // Bounded so that h steps past a ds within +-2^53 stay far from int64's ends.
  if (step > (1LL << 31)) return Status::InvalidArgument("integer ds steps of " + std::to_string(step) + " (over 2^31) are not supported");
  return Frequency{Frequency::Unit::kStep, step};
}

namespace {

// Month-grid frequencies (ME, MS, QE, YE): the timestamp `k` steps from the one on day `day0`,
// at its time of day (k may be negative).
Timestamp MonthGridStep(const Frequency& freq, std::int64_t day0, std::int64_t time_of_day, std::int64_t k) {
  using U = Frequency::Unit;
  const std::int64_t months_per_step = freq.step * (freq.unit == U::kQuarterEnd ? 3 : freq.unit == U::kYearEnd ? 12 : 1);
  const civil::Date start = civil::CivilFromDays(day0);
  const std::int64_t month = start.year * 12 + (start.month - 1) + k * months_per_step;
  const std::int64_t y = civil::FloorDiv(month, 12);
  const int m = static_cast<int>(month - y * 12) + 1;
  const int d = freq.unit == U::kMonthStart ? 1 : civil::DaysInMonth(y, m);
  return {civil::DaysFromCivil(y, m, d) * kSecondsPerDay + time_of_day};
}

}  // namespace

std::vector<Timestamp> FutureTimestamps(Timestamp last, const Frequency& freq, int n) {
  std::vector<Timestamp> out;
  if (n <= 0) return out;
  out.reserve(static_cast<size_t>(n));
  using U = Frequency::Unit;
  const std::int64_t day0 = civil::FloorDiv(last.value, kSecondsPerDay);
  const std::int64_t time_of_day = last.value - day0 * kSecondsPerDay;
  switch (freq.unit) {
    case U::kStep:
    case U::kSecond:
      for (int k = 1; k <= n; ++k) out.push_back({last.value + k * freq.step});
      return out;
    case U::kBusinessDay: {
      std::int64_t day = day0;
      for (int k = 0; k < n; ++k) {
        for (std::int64_t b = 0; b < freq.step; ++b) {
          do ++day;
          while (civil::Weekday(day) >= 5);
        }
        out.push_back({day * kSecondsPerDay + time_of_day});
      }
      return out;
    }
    case U::kMonthEnd:
    case U::kMonthStart:
    case U::kQuarterEnd:
    case U::kYearEnd: {
      const civil::Date d = civil::CivilFromDays(day0);
      if (freq.unit != U::kMonthStart && d.day != civil::DaysInMonth(d.year, d.month)) {
        // Off the grid (a mid-month last date with --freq ME/QE/YE): as pandas' offsets roll,
        // rolling to the end of the current period is the first of the n periods (Feb 9 + ME ->
        // Feb 29, + 2ME -> Mar 31; QE -> Mar 31; YE -> Dec 31), instead of being skipped.
        // (A month-end date keeps its own anchor: the data's quarters may end in Feb, May, ...)
        const int to_end = freq.unit == U::kQuarterEnd ? (3 - d.month % 3) % 3 : freq.unit == U::kYearEnd ? 12 - d.month : 0;
        const std::int64_t month = d.year * 12 + (d.month - 1) + to_end;
        const std::int64_t y = civil::FloorDiv(month, 12);
        const int m = static_cast<int>(month - y * 12) + 1;
        const std::int64_t end = civil::DaysFromCivil(y, m, civil::DaysInMonth(y, m));
        const Frequency one{freq.unit, 1};  // MonthGridStep in single periods of the unit
        for (int k = 1; k <= n; ++k) out.push_back(MonthGridStep(one, end, time_of_day, k * freq.step - 1));
        return out;
      }
      for (int k = 1; k <= n; ++k) out.push_back(MonthGridStep(freq, day0, time_of_day, k));
      return out;
    }
  }
  return out;
}

Timestamp PreviousTimestamp(Timestamp first, const Frequency& freq) {
  using U = Frequency::Unit;
  const std::int64_t day0 = civil::FloorDiv(first.value, kSecondsPerDay);
  const std::int64_t time_of_day = first.value - day0 * kSecondsPerDay;
  switch (freq.unit) {
    case U::kStep:
    case U::kSecond:
      return {first.value - freq.step};
    case U::kBusinessDay: {
      std::int64_t day = day0;
      for (std::int64_t b = 0; b < freq.step; ++b) {
        do --day;
        while (civil::Weekday(day) >= 5);
      }
      return {day * kSecondsPerDay + time_of_day};
    }
    case U::kMonthEnd:
    case U::kMonthStart:
    case U::kQuarterEnd:
    case U::kYearEnd:
      return MonthGridStep(freq, day0, time_of_day, -1);
  }
  return first;
}

int SeasonLength(const Frequency& freq) {
  using U = Frequency::Unit;
  if (freq.step <= 0) return 1;
  const auto per = [&](std::int64_t cycle) {
    return static_cast<int>(cycle % freq.step == 0 ? cycle / freq.step : 1);
  };
  switch (freq.unit) {
    case U::kStep: return 1;
    case U::kSecond:
      if (freq.step < 60) return per(60);                          // sub-minute: the minute cycle
      if (freq.step < kSecondsPerDay) return per(kSecondsPerDay);  // intraday: the daily cycle
      if (freq.step < kWeek) return per(kWeek);                    // daily: the weekly cycle
      if (freq.step % kWeek != 0) return 1;
      return 52 % (freq.step / kWeek) == 0 ? static_cast<int>(52 / (freq.step / kWeek)) : 1;
    case U::kBusinessDay: return per(5);
    case U::kMonthEnd:
    case U::kMonthStart: return per(12);
    case U::kQuarterEnd: return per(4);
    case U::kYearEnd: return 1;
  }
  return 1;
}

}  // namespace nhits
