// Timestamp parsing and formatting for `ds` fields: integers, ISO dates and ISO date-times (UTC).
#include <charconv>
#include <cstdio>

#include "civil.h"
#include "csv_fields.h"
#include "nhits/data.h"

namespace nhits {
namespace civil {
namespace {

// Reads exactly `n` digits at text[pos]; fixed widths keep "2020-1-1" from being accepted.
bool Digits(std::string_view text, size_t pos, size_t n, int* out) {
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    const char c = text[i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

constexpr const char* kShapeError =
    "expected an integer, YYYY-MM-DD, or YYYY-MM-DD HH:MM[:SS] (or with 'T')";

bool ParseInteger(std::string_view text, Timestamp* out, const char** why) {
  const char* first = text.data();
  const char* last = first + text.size();
  first = csv::SkipPlusSign(first, last);
  std::int64_t v = 0;
  const auto [ptr, ec] = std::from_chars(first, last, v);
  // Within +-2^53 (and integer steps within 2^31, InferFrequency): h steps ahead stay far from
  // int64's ends (they wrapped negative).
  if (ec == std::errc::result_out_of_range || (ec == std::errc() && (v > (1LL << 53) || v < -(1LL << 53)))) {
    *why = "integer out of range (+-2^53)";
    return false;
  }
  if (ec != std::errc() || ptr != last || first == last) {
    *why = kShapeError;
    return false;
  }
  out->value = v;
  return true;
}

}  // namespace

bool ParseTimestampView(std::string_view text, Timestamp* out, TimeKind* kind, const char** why) {
  // What pandas writes for UTC timestamps ("...+00:00", "...Z") and whole-second fractions
  // (".000") reads as the plain time; another offset or a real fraction is refused, not dropped.
  if (text.size() > 19) {
    if (text.back() == 'Z') {
      text.remove_suffix(1);
    } else if (text.size() >= 25 && (text[text.size() - 6] == '+' || text[text.size() - 6] == '-') &&
               text[text.size() - 3] == ':') {
      if (text.substr(text.size() - 5) != "00:00") {
        *why = "a time zone offset other than UTC (+00:00) is not supported: convert ds to UTC first";
        return false;
      }
      text.remove_suffix(6);
    }
    if (text.size() > 20 && text[19] == '.') {
      if (text.substr(20).find_first_not_of('0') != std::string_view::npos) {
        *why = "fractional seconds are not supported (ds is kept in whole seconds)";
        return false;
      }
      text = text.substr(0, 19);
    }
  }
  const size_t n = text.size();
  const bool date_shaped = n >= 10 && text[4] == '-' && text[7] == '-';
  if (!date_shaped) {
    *kind = TimeKind::kInteger;
    return ParseInteger(text, out, why);
  }
  int y = 0, m = 0, d = 0;
  if (!Digits(text, 0, 4, &y) || !Digits(text, 5, 2, &m) || !Digits(text, 8, 2, &d)) {
    *why = kShapeError;
    return false;
  }
  if (m < 1 || m > 12) {
    *why = "month out of range 01..12";
    return false;
  }
  if (d < 1 || d > DaysInMonth(y, m)) {
    *why = "day out of range for its month";
    return false;
  }
  int hh = 0, mm = 0, ss = 0;
  if (n == 10) {
    *kind = TimeKind::kDate;
  } else {
    // Only the lengths 16 (HH:MM) and 19 (HH:MM:SS) are valid; check that before indexing.
    const bool shape_ok = (n == 16 || n == 19) && (text[10] == ' ' || text[10] == 'T') &&
                          text[13] == ':' && Digits(text, 11, 2, &hh) &&
                          Digits(text, 14, 2, &mm) &&
                          (n == 16 || (text[16] == ':' && Digits(text, 17, 2, &ss)));
    if (!shape_ok) {
      *why = kShapeError;
      return false;
    }
    if (hh > 23 || mm > 59 || ss > 59) {
      *why = "time of day out of range (00:00:00..23:59:59)";
      return false;
    }
    *kind = TimeKind::kDateTime;
  }
  out->value = DaysFromCivil(y, m, d) * kSecondsPerDay + hh * 3600 + mm * 60 + ss;
  return true;
}

}  // namespace civil

Result<Timestamp> ParseTimestamp(const std::string& text, TimeKind* kind) {
  Timestamp t;
  TimeKind k = TimeKind::kInteger;
  const char* why = nullptr;
  if (!civil::ParseTimestampView(text, &t, &k, &why)) {
    return Status::InvalidArgument("'" + text + "': " + why);
  }
  if (kind != nullptr) *kind = k;
  return t;
}

std::string FormatTimestamp(Timestamp t, TimeKind kind) {
  if (kind == TimeKind::kInteger) return std::to_string(t.value);
  const std::int64_t days = civil::FloorDiv(t.value, civil::kSecondsPerDay);
  const std::int64_t sec = t.value - days * civil::kSecondsPerDay;
  const civil::Date date = civil::CivilFromDays(days);
  char buf[64];
  if (kind == TimeKind::kDate) {
    std::snprintf(buf, sizeof(buf), "%04lld-%02d-%02d", static_cast<long long>(date.year),
                  date.month, date.day);
  } else {
    std::snprintf(buf, sizeof(buf), "%04lld-%02d-%02d %02d:%02d:%02d",
                  static_cast<long long>(date.year), date.month, date.day,
                  static_cast<int>(sec / 3600), static_cast<int>(sec / 60 % 60),
                  static_cast<int>(sec % 60));
  }
  return buf;
}

}  // namespace nhits
