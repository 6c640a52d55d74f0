// Exogenous inputs beside the target: static values per series (static_df) and the known future
// of futr columns (futr_df), attached to a Panel read with ReadLongCsv.
#include <charconv>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "csv_fields.h"
#include "nhits/data.h"

namespace nhits {
namespace {

Status Bad(const std::string& path, std::int64_t line, const std::string& field, const std::string& what) {
  return Status::InvalidArgument(path + ":" + std::to_string(line) + ": field '" + field + "': " + what);
}

int IndexOf(const std::vector<std::string>& names, const std::string& name) {
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return static_cast<int>(i);
  return -1;
}

std::string Joined(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "'" : ", '") + n + "'";
  return s;
}

}  // namespace

Status AttachStaticCsv(const std::string& path, const std::vector<std::string>& columns, Panel* panel,
                       const std::vector<CategoricalColumn>* categorical) {
  std::ifstream in(path);
  if (!in) return Status::NotFound(path + ":1: field 'unique_id': cannot open the static file");
  std::string line;
  if (!std::getline(in, line)) return Bad(path, 1, "unique_id", "file is empty; expected a header 'unique_id,...'");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);  // UTF-8 BOM from spreadsheets
  std::string why;
  std::vector<std::string> header = csv::SplitLineCopy(line, &why);
  if (!why.empty()) return Bad(path, 1, "unique_id", "header: " + why);
  for (std::string& name : header) name = std::string(csv::TrimSpaces(name));  // as ReadLongCsv allows
  for (std::size_t i = 0; i < header.size(); ++i)
    for (std::size_t j = i + 1; j < header.size(); ++j)
      if (header[i] == header[j]) return Bad(path, 1, header[i], "column appears twice in the header (" + Joined(header) + ")");
  const int id_col = IndexOf(header, "unique_id");
  if (id_col < 0) return Bad(path, 1, "unique_id", "missing column; found columns " + Joined(header));
  std::vector<int> at;
  for (const std::string& c : columns) {
    at.push_back(IndexOf(header, c));
    if (at.back() < 0)
      return Bad(path, 1, c, "missing static column (the model's stat_exog_list names it); found columns " + Joined(header));
  }
  std::map<std::string, std::pair<std::int64_t, std::vector<double>>> rows;
  std::int64_t no = 2;
  for (; std::getline(in, line); ++no) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const std::vector<std::string> f = csv::SplitLineCopy(line, &why);
    if (!why.empty()) return Bad(path, no, "unique_id", why);
    if (f.size() != header.size())
      return Bad(path, no, header[std::min(f.size(), header.size() - 1)],
                 "row has " + std::to_string(f.size()) + " fields but the header has " + std::to_string(header.size()));
    std::vector<double> values;
    for (std::size_t k = 0; k < columns.size(); ++k) {
      const std::string& field = f[static_cast<std::size_t>(at[k])];
      if (const CategoricalColumn* coded = FindCategoricalColumn(categorical, columns[k])) {
        values.push_back(CategoryCode(*coded, field));  // a label keeps its spaces, as in --data (and pandas)
        continue;
      }
      const std::string_view text = csv::TrimSpaces(field);  // a number does not, as --data's values
      double v = 0;
      const char* b = csv::SkipPlusSign(text.data(), text.data() + text.size());
      const auto [ptr, ec] = std::from_chars(b, text.data() + text.size(), v);
      if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || !std::isfinite(v))
        return Bad(path, no, columns[k], "'" + std::string(text) + "' is not a finite number");
      values.push_back(v);
    }
    const auto [it, inserted] = rows.emplace(f[static_cast<std::size_t>(id_col)], std::pair{no, values});
    if (!inserted)
      return Bad(path, no, "unique_id", "series '" + it->first + "' already has a row on line " + std::to_string(it->second.first));
  }
  for (Series& s : panel->series) {
    const auto it = rows.find(s.unique_id);
    if (it == rows.end())
      return Status::InvalidArgument(path + ": no row for series '" + s.unique_id +
                                     "' (every series needs its static values)");
    s.static_values = it->second.second;
  }
  panel->static_names = columns;
  return Status::Ok();
}

Status AttachFutureCsv(const std::string& path, const std::vector<std::string>& futr_columns, const Frequency& freq,
                       int h, Panel* panel, std::vector<std::string>* skipped,
                       const std::vector<CategoricalColumn>* categorical) {
  auto future = ReadFutureCsv(path, futr_columns, categorical);
  if (!future.ok()) return future.status();
  std::vector<int> dst;
  for (const std::string& c : futr_columns) {
    dst.push_back(IndexOf(panel->exog_names, c));
    if (dst.back() < 0) return Status::InvalidArgument(path + ": futr column '" + c + "' is not among the data's exogenous columns");
  }
  std::map<std::string, const Series*> by_id;
  for (const Series& s : future->series) by_id[s.unique_id] = &s;
  for (Series& s : panel->series) {
    const std::vector<Timestamp> want = FutureTimestamps(s.ds.back(), freq, h);
    const auto it = by_id.find(s.unique_id);
    const Series* f = it == by_id.end() ? nullptr : it->second;
    // The h future rows may sit anywhere in the series' rows of the file (they are sorted).
    std::size_t first = 0;
    if (f != nullptr)
      while (first < f->ds.size() && f->ds[first] < want[0]) ++first;
    int matched = 0;  // consecutive future rows at the expected times
    while (f != nullptr && matched < h && first + static_cast<std::size_t>(matched) < f->ds.size() &&
           f->ds[first + static_cast<std::size_t>(matched)] == want[static_cast<std::size_t>(matched)])
      ++matched;
    if (matched < h && skipped != nullptr) {  // keep what there is: a model with a shorter h may do
      skipped->push_back(s.unique_id);
    } else if (matched < h) {
      const std::size_t at = first + static_cast<std::size_t>(matched);
      const Timestamp expected = want[static_cast<std::size_t>(matched)];
      const std::string where = " (step " + std::to_string(matched + 1) + " of h=" + std::to_string(h) +
                                " after its last ds " + FormatTimestamp(s.ds.back(), panel->time_kind) +
                                " at frequency " + freq.ToString() + ")";
      if (f != nullptr && at < f->ds.size())  // a row, but at another time: a gap or a different frequency
        return Status::InvalidArgument(path + ": series '" + s.unique_id + "' has futr values for " +
                                       FormatTimestamp(f->ds[at], panel->time_kind) + " where " +
                                       FormatTimestamp(expected, panel->time_kind) + " comes next" + where);
      return Status::InvalidArgument(path + ": series '" + s.unique_id + "' has no futr values for " +
                                     FormatTimestamp(expected, panel->time_kind) + where);
    }
    for (std::size_t k = 0; k < futr_columns.size(); ++k) {
      std::vector<double>& col = s.exog[static_cast<std::size_t>(dst[k])];
      col.resize(s.y.size());  // replace any future attached before
      for (int j = 0; j < matched; ++j) col.push_back(f->exog[k][first + static_cast<std::size_t>(j)]);
    }
  }
  return Status::Ok();
}

}  // namespace nhits
