#include "csv_fields.h"

#include <set>

namespace nhits::csv {

const char* SplitLine(std::string_view line, std::vector<std::string_view>* fields, std::deque<std::string>* storage) {
  fields->clear();
  storage->clear();
  if (line.find('"') == std::string_view::npos) {  // the common case: no quotes, no copies
    std::size_t start = 0;
    for (;;) {
      const std::size_t comma = line.find(',', start);
      fields->push_back(line.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
      if (comma == std::string_view::npos) return nullptr;
      start = comma + 1;
    }
  }
  std::size_t i = 0;
  for (;;) {
    std::size_t lead = i;
    while (lead < line.size() && (line[lead] == ' ' || line[lead] == '\t')) ++lead;
    if (lead < line.size() && line[lead] == '"') {
      bool escaped = false;
      std::size_t k = lead + 1;
      for (;; ++k) {
        if (k >= line.size()) return "a quoted field has no closing quote (line breaks inside quotes are not supported)";
        if (line[k] != '"') continue;
        if (k + 1 < line.size() && line[k + 1] == '"') {  // "" is a literal quote
          escaped = true;
          ++k;
          continue;
        }
        break;
      }
      std::string_view inner = line.substr(lead + 1, k - lead - 1);
      if (escaped) {
        std::string text;
        for (std::size_t c = 0; c < inner.size(); ++c) {
          text += inner[c];
          if (inner[c] == '"') ++c;  // skip the second quote of ""
        }
        storage->push_back(std::move(text));
        inner = storage->back();
      }
      std::size_t after = k + 1;
      while (after < line.size() && (line[after] == ' ' || line[after] == '\t')) ++after;
      if (after < line.size() && line[after] != ',') return "text after a closing quote (a quote inside a field is written \"\")";
      fields->push_back(inner);
      if (after >= line.size()) return nullptr;
      i = after + 1;
      continue;
    }
    const std::size_t comma = line.find(',', i);
    // A quote inside an unquoted field (AB"C) is text, as pandas reads it.
    fields->push_back(line.substr(i, comma == std::string_view::npos ? std::string_view::npos : comma - i));
    if (comma == std::string_view::npos) return nullptr;
    i = comma + 1;
  }
}

std::vector<std::string> SplitLineCopy(std::string_view line, std::string* why) {
  std::vector<std::string_view> fields;
  std::deque<std::string> storage;
  if (const char* reason = SplitLine(line, &fields, &storage)) {
    *why = reason;
    return {};
  }
  why->clear();
  return std::vector<std::string>(fields.begin(), fields.end());
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IsPandasMissing(std::string_view s) {
  static const std::set<std::string_view> kMissing = {"",     "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN",
                                                      "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA", "NULL",
                                                      "NaN",  "None", "n/a",  "nan",  "null"};
  return kMissing.count(s) > 0;
}

const char* SkipPlusSign(const char* first, const char* last) {
  if (last - first >= 2 && *first == '+' && first[1] != '+' && first[1] != '-') return first + 1;
  if (last - first == 1 && *first == '+') return last;  // a lone '+': nothing left, which fails as "not a number"
  return first;
}

}  // namespace nhits::csv
