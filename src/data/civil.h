// Proleptic Gregorian calendar arithmetic on day counts (days since 1970-01-01, UTC).
// Internal to the data module: timestamps, frequency inference and future dates share it.
#pragma once

#include <cstdint>
#include <string_view>

#include "nhits/data.h"

namespace nhits::civil {

inline constexpr std::int64_t kSecondsPerDay = 86400;

// Floor division/modulo, so that instants before 1970 map to the right day.
constexpr std::int64_t FloorDiv(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}
constexpr std::int64_t FloorMod(std::int64_t a, std::int64_t b) { return a - FloorDiv(a, b) * b; }

constexpr bool IsLeapYear(std::int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

constexpr int DaysInMonth(std::int64_t y, int m) {
  constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return (m == 2 && IsLeapYear(y)) ? 29 : kDays[m - 1];
}

struct Date {
  std::int64_t year;
  int month;  // 1..12
  int day;    // 1..31
};

// Counts from a year that starts in March, so the leap day is the last day of the "year" and
// every 400-year era has the same 146097 days; this keeps both directions branch-light.
constexpr std::int64_t DaysFromCivil(std::int64_t y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = FloorDiv(y, 400);
  const std::int64_t yoe = y - era * 400;                          // [0, 399]
  const std::int64_t mp = m > 2 ? m - 3 : m + 9;                   // March = 0
  const std::int64_t doy = (153 * mp + 2) / 5 + d - 1;             // [0, 365]
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;  // [0, 146096]
  return era * 146097 + doe - 719468;  // 719468 = days from 0000-03-01 to 1970-01-01
}

constexpr Date CivilFromDays(std::int64_t z) {
  z += 719468;
  const std::int64_t era = FloorDiv(z, 146097);
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const int d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  return Date{yoe + era * 400 + (m <= 2 ? 1 : 0), m, d};
}

// 0 = Monday ... 6 = Sunday (1970-01-01 was a Thursday).
constexpr int Weekday(std::int64_t days) { return static_cast<int>(FloorMod(days + 3, 7)); }

// Parses one `ds` field without allocating (the CSV reader calls it per row). On failure returns
// false and sets *why to a short reason.
bool ParseTimestampView(std::string_view text, Timestamp* out, TimeKind* kind, const char** why);

}  // namespace nhits::civil
