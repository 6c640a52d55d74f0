// CSV fields of one line, shared by every CSV reader here (data, static, future, universe, labels).
#pragma once

#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace nhits::csv {

// Splits a line into fields at commas, with RFC 4180 quoting when the line has a quote: "a,b"
// is one field and "say ""hi""" holds say "hi" (a quoted field may not span lines). Unescaped
// fields view `line`; escaped ones live in `storage` (a deque: its strings never move). Returns
// null, or why the line cannot be split.
const char* SplitLine(std::string_view line, std::vector<std::string_view>* fields, std::deque<std::string>* storage);

// The same as owned strings; `*why` is set (and the fields are empty) when the line cannot be split.
std::vector<std::string> SplitLineCopy(std::string_view line, std::string* why);

// Without leading and trailing spaces and tabs ("a, b" as pandas' skipinitialspace reads it).
std::string_view TrimSpaces(std::string_view s);

// Past one leading '+', which std::from_chars rejects, unless a sign follows it: "+5" reads as
// 5, but "+-5" and "++5" stay malformed instead of reading as -5 and 5.
const char* SkipPlusSign(const char* first, const char* last);

// pandas.read_csv's default missing-value spellings ("", "NA", "NaN", "null", "N/A", ...), which
// it reads as NaN.
bool IsPandasMissing(std::string_view s);

}  // namespace nhits::csv
