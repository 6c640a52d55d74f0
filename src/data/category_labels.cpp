// The vocabulary of a categorical column, built from the training data as neuralforecast's
// NeuralForecast._build_categorical_vocab builds it from the DataFrame pandas read.
#include <algorithm>
#include <charconv>
#include <fstream>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "csv_fields.h"
#include "nhits/data.h"

namespace nhits {
namespace {

bool AsNumber(std::string_view s, double* v) {
  const char* first = csv::SkipPlusSign(s.data(), s.data() + s.size());
  const auto [ptr, ec] = std::from_chars(first, s.data() + s.size(), *v);
  return first != s.data() + s.size() && ec == std::errc() && ptr == s.data() + s.size();
}

// pandas reads an all-numeric column as numbers, which Python sorts by value (and "3" and "3.0"
// are one value); any other column is text, sorted by code point (UTF-8 byte order, as std::set's).
std::vector<std::string> Sorted(const std::set<std::string>& labels) {
  std::vector<std::pair<double, std::string>> numeric;
  for (const std::string& label : labels) {
    double v = 0;
    if (!AsNumber(label, &v)) return std::vector<std::string>(labels.begin(), labels.end());
    numeric.emplace_back(v, label);
  }
  std::stable_sort(numeric.begin(), numeric.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> out;
  for (std::size_t i = 0; i < numeric.size(); ++i)
    if (i == 0 || numeric[i].first != numeric[i - 1].first) out.push_back(numeric[i].second);
  return out;
}

}  // namespace

Result<std::vector<std::vector<std::string>>> ReadCategoryLabels(const std::string& path,
                                                                  const std::vector<std::string>& columns) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(path + ":1: field '" + (columns.empty() ? "" : columns[0]) + "': cannot open the file");
  std::string line;
  std::getline(in, line);
  if (line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);  // UTF-8 BOM from spreadsheets
  if (!line.empty() && line.back() == '\r') line.pop_back();
  std::string why;
  const std::vector<std::string> header = csv::SplitLineCopy(line, &why);
  if (!why.empty()) return Status::InvalidArgument(path + ":1: header: " + why);
  std::vector<std::size_t> at;
  for (const std::string& column : columns) {
    at.push_back(header.size());
    for (std::size_t i = 0; i < header.size(); ++i) {
      std::string_view name = header[i];  // spaces around names, as ReadLongCsv allows
      while (!name.empty() && (name.front() == ' ' || name.front() == '\t')) name.remove_prefix(1);
      while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
      if (name == column) at.back() = i;
    }
    if (at.back() == header.size())
      return Status::InvalidArgument(path + ":1: field '" + column +
                                     "': missing column (cat_exog_list names it); found columns " + line);
  }
  std::vector<std::set<std::string>> labels(columns.size());
  std::vector<std::string_view> f;
  std::deque<std::string> storage;
  std::int64_t no = 1;
  while (std::getline(in, line)) {
    ++no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    // Fields named as ReadLongCsv names them: the row's first for a quoting error, the first
    // missing (or the last, when there are too many) for a ragged row.
    if (const char* reason = csv::SplitLine(line, &f, &storage))
      return Status::InvalidArgument(path + ":" + std::to_string(no) + ": field '" + (header.empty() ? "" : header[0]) +
                                     "': " + reason);
    if (f.size() != header.size())
      return Status::InvalidArgument(path + ":" + std::to_string(no) + ": field '" +
                                     header[std::min(f.size(), header.size() - 1)] + "': row has " +
                                     std::to_string(f.size()) + " fields but the header has " +
                                     std::to_string(header.size()) +
                                     (f.size() > header.size() ? " (a field holding a comma must be quoted: \"a,b\")" : ""));
    for (std::size_t k = 0; k < columns.size(); ++k)
      // A missing label (pandas reads it as NaN) is dropped, and coded 0 (unseen) like an empty field.
      if (!csv::IsPandasMissing(f[at[k]])) labels[k].emplace(f[at[k]]);
  }
  std::vector<std::vector<std::string>> out;
  for (const std::set<std::string>& column : labels) out.push_back(Sorted(column));
  return out;
}

}  // namespace nhits
