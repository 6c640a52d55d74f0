// ReadLongCsv: a single pass over the whole file held in memory. Fields are string_views into
// that buffer, so the only allocations are the output vectors and one string per series.
#include <sys/stat.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <numeric>
#include <algorithm>
#include <exception>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "civil.h"
#include "csv_fields.h"
#include "nhits/data.h"

namespace nhits {
namespace {

constexpr const char* kUniqueId = "unique_id";
constexpr const char* kDs = "ds";
constexpr const char* kY = "y";
constexpr const char* kAvailable = "available_mask";
constexpr const char* kSampleWeight = "sample_weight";

// Every message is "PATH:LINE: field 'NAME': what", so a CLI can print it unchanged.
Status Bad(const std::string& path, std::int64_t line, std::string_view field, std::string what) {
  return Status::InvalidArgument(path + ":" + std::to_string(line) + ": field '" +
                                 std::string(field) + "': " + what);
}

// Quotes a field for a message, shortened so a runaway line cannot flood the terminal.
std::string Quote(std::string_view text) {
  constexpr size_t kMax = 60;
  if (text.size() <= kMax) return "'" + std::string(text) + "'";
  return "'" + std::string(text.substr(0, kMax)) + "...'";
}

Status ReadWholeFile(const std::string& path, std::string* out) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    const int err = errno;
    // No line or field: the file itself is the problem.
    std::string msg = path + ": cannot open file: " + std::strerror(err);
    return err == ENOENT ? Status::NotFound(msg) : Status::IoError(msg);
  }
  struct stat info {};
  if (fstat(fileno(f), &info) == 0) {
    if (S_ISDIR(info.st_mode)) {
      std::fclose(f);
      return Status::IoError(path + ": is a directory, not a file");
    }
    if (S_ISREG(info.st_mode)) out->reserve(static_cast<size_t>(info.st_size) + 1);
  }
  constexpr size_t kChunk = 1 << 20;  // also handles pipes, whose size is unknown up front
  size_t used = 0;
  for (;;) {
    out->resize(used + kChunk);
    const size_t got = std::fread(out->data() + used, 1, kChunk, f);
    used += got;
    if (got < kChunk) break;
  }
  out->resize(used);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) {
    return Status::IoError(path + ":1: field '" + kUniqueId + "': read error");
  }
  return Status::Ok();
}

using csv::TrimSpaces;

struct Columns {
  std::vector<std::string> names;
  int unique_id = -1, ds = -1, y = -1;
  int available = -1;  // neuralforecast's available_mask, when the file has one (with y only)
  bool want_y = true;
  std::vector<std::string> extra_names;  // exogenous columns to read
  std::vector<int> extra;                // their positions
  std::vector<const CategoricalColumn*> coded;  // per extra column: its vocabulary, or null (a number)
};

Status ParseHeader(const std::string& path, std::string_view line, Columns* cols) {
  std::vector<std::string_view> fields;
  std::deque<std::string> storage;
  if (const char* why = csv::SplitLine(line, &fields, &storage)) return Bad(path, 1, kUniqueId, std::string("header: ") + why);
  for (std::string_view name : fields) cols->names.emplace_back(TrimSpaces(name));
  std::string found;
  for (size_t i = 0; i < cols->names.size(); ++i) {
    found += (i ? ", " : "") + Quote(cols->names[i]);
  }
  std::string missing;
  const char* first_missing = nullptr;
  for (auto [name, index] : {std::pair{kUniqueId, &cols->unique_id}, std::pair{kDs, &cols->ds},
                             std::pair{kY, &cols->y}}) {
    if (index == &cols->y && !cols->want_y) continue;
    for (size_t i = 0; i < cols->names.size(); ++i) {
      if (cols->names[i] != name) continue;
      if (*index >= 0) {
        return Bad(path, 1, name, "column appears twice in the header (" + found + ")");
      }
      *index = static_cast<int>(i);
    }
    if (*index < 0) {
      missing += (missing.empty() ? "'" : ", '") + std::string(name) + "'";
      if (first_missing == nullptr) first_missing = name;
    }
  }
  if (first_missing != nullptr) {
    // One column whose name holds a ';' or a tab is a file in another delimiter, not a file
    // without the columns: say so.
    const bool other_delimiter = cols->names.size() == 1 && cols->names[0].find_first_of(";\t") != std::string::npos;
    return Bad(path, 1, first_missing,
               "missing column(s) " + missing + "; found columns " + found +
                   (other_delimiter ? " (the file looks ';'- or tab-separated: columns must be separated by commas)" : ""));
  }
  for (size_t i = 0; cols->want_y && i < cols->names.size(); ++i) {
    if (cols->names[i] != kAvailable) continue;
    if (cols->available >= 0) return Bad(path, 1, kAvailable, "column appears twice in the header (" + found + ")");
    cols->available = static_cast<int>(i);
  }
  for (const std::string& name : cols->extra_names) {
    int at = -1;
    for (size_t i = 0; i < cols->names.size(); ++i)
      if (cols->names[i] == name) {
        if (at >= 0) return Bad(path, 1, name, "column appears twice in the header (" + found + ")");
        at = static_cast<int>(i);
      }
    if (at < 0)
      return Bad(path, 1, name, "missing exogenous column (the model's *_exog_list names it); found columns " + found);
    cols->extra.push_back(at);
  }
  return Status::Ok();
}

// A finite number, or the reason it is not one.
const char* ParseFinite(std::string_view text, double* v) {
  if (text.empty()) return "empty value";
  const char* first = text.data();
  const char* last = first + text.size();
  first = csv::SkipPlusSign(first, last);
  const auto [ptr, ec] = std::from_chars(first, last, *v);
  if (ec == std::errc::result_out_of_range) return "is out of range";
  if (ec != std::errc() || ptr != last || first == last) return "is not a number";
  if (!std::isfinite(*v)) return "is not a finite number";
  return nullptr;
}

// What a missing point may hold instead of a number: what pandas reads as NaN, or inf.
bool IsPlaceholder(std::string_view text) {
  if (csv::IsPandasMissing(text)) return true;
  double v = 0;
  const char* first = csv::SkipPlusSign(text.data(), text.data() + text.size());
  const auto [ptr, ec] = std::from_chars(first, text.data() + text.size(), v);
  return ec == std::errc() && ptr == text.data() + text.size() && !std::isfinite(v);
}

bool OnlyBlankLines(std::string_view rest) {
  return rest.find_first_not_of("\r\n") == std::string_view::npos;
}

// Per-file parsing state; one object per call keeps ReadLongCsv reentrant. Rows may come in any
// order, as neuralforecast sorts by (unique_id, ds) itself: a market-data export is usually by
// date across tickers. Series keep the order of their first row; a series whose rows were out of
// order is sorted by ds at the end, and duplicates are found then.
class Parser {
 public:
  Parser(const std::string& path, const Columns& cols, bool lenient_values)
      : path_(path), cols_(cols), lenient_values_(lenient_values) {}

  Status Row(std::int64_t line, std::string_view text);
  Status Finish(std::int64_t next_line);
  Panel TakePanel() { return std::move(panel_); }

 private:
  Status FindSeries(std::int64_t line, std::string_view id);
  Status AddTimestamp(std::int64_t line, std::string_view text);
  Status AddValue(std::int64_t line, std::string_view text);
  Status AddAvailable(std::int64_t line, std::string_view text, bool* observed);
  Status SortSeries(std::size_t s);
  Series& current() { return panel_.series[current_]; }

  const std::string& path_;
  const Columns& cols_;
  bool lenient_values_;  // bad y -> NaN (batch runs validate per series)
  Panel panel_;
  std::unordered_map<std::string, std::size_t> index_;  // unique_id -> its series
  std::vector<std::vector<std::uint32_t>> lines_;       // per series: each row's line, for messages
  std::vector<char> unsorted_;                           // per series: a row came before an earlier ds
  std::size_t current_ = 0;
  bool have_current_ = false;
  std::vector<std::string_view> fields_;
  std::deque<std::string> storage_;
  std::int64_t kind_line_ = 0;  // first row, which fixed integer vs date
  std::int64_t rows_ = 0;
};

Status Parser::Row(std::int64_t line, std::string_view text) {
  if (const char* why = csv::SplitLine(text, &fields_, &storage_)) return Bad(path_, line, kUniqueId, why);
  const int n_cols = static_cast<int>(cols_.names.size());
  const int n = static_cast<int>(fields_.size());
  if (n != n_cols) {
    const std::string& field = cols_.names[n < n_cols ? n : n_cols - 1];
    return Bad(path_, line, field,
               "row has " + std::to_string(n) + " fields but the header has " + std::to_string(n_cols) +
                   (n > n_cols ? " (a field holding a comma must be quoted: \"a,b\")" : ""));
  }
  ++rows_;
  const std::string_view id = fields_[static_cast<std::size_t>(cols_.unique_id)];
  if (!have_current_ || id != current().unique_id) NHITS_RETURN_IF_ERROR(FindSeries(line, id));
  lines_[current_].push_back(static_cast<std::uint32_t>(line));
  // Spaces around a value are padding (pandas parses " 112" too); an id keeps its own.
  NHITS_RETURN_IF_ERROR(AddTimestamp(line, TrimSpaces(fields_[static_cast<std::size_t>(cols_.ds)])));
  // neuralforecast checks values for NaN at available points only: a missing row's y and
  // exogenous values are placeholders, filled once the series is sorted (FillPlaceholders).
  bool observed = true;
  if (cols_.want_y && cols_.available >= 0)
    NHITS_RETURN_IF_ERROR(AddAvailable(line, TrimSpaces(fields_[static_cast<std::size_t>(cols_.available)]), &observed));
  for (std::size_t k = 0; k < cols_.extra.size(); ++k) {
    const std::string_view raw = fields_[static_cast<std::size_t>(cols_.extra[k])];
    if (cols_.coded[k] != nullptr) {  // a label, as written (pandas keeps its spaces): its code in the fit-time vocabulary
      current().exog[k].push_back(CategoryCode(*cols_.coded[k], raw));
      continue;
    }
    const std::string_view field = TrimSpaces(raw);
    double v = 0;
    if (const char* why = ParseFinite(field, &v)) {
      if (!observed && IsPlaceholder(field)) {
        current().exog[k].push_back(std::nan(""));
        continue;
      }
      return Bad(path_, line, cols_.extra_names[k], (field.empty() ? std::string() : Quote(field) + " ") + why);
    }
    // neuralforecast refuses negative weights too, at observed rows (its check skips missing ones)
    if (v < 0 && observed && cols_.extra_names[k] == kSampleWeight)
      return Bad(path_, line, kSampleWeight, "must be >= 0, got " + std::string(field));
    current().exog[k].push_back(v);
  }
  if (!cols_.want_y) return Status::Ok();
  if (!observed) {  // a number is kept as written; a missing value is filled once the series is sorted
    double v = 0;
    const std::string_view text = TrimSpaces(fields_[static_cast<std::size_t>(cols_.y)]);
    if (ParseFinite(text, &v) != nullptr) {
      if (!IsPlaceholder(text) && !lenient_values_)  // lenient (batch): left NaN, like a bad observed y
        return Bad(path_, line, kY, Quote(text) + " is not a number (a missing point's y may be empty or NaN)");
      v = std::nan("");
    }
    current().y.push_back(v);
    return Status::Ok();
  }
  return AddValue(line, TrimSpaces(fields_[static_cast<std::size_t>(cols_.y)]));
}

// 0 or 1 (also 0.0/1.0 and pandas' True/False): neuralforecast multiplies the mask into the loss,
// so any other value would weigh points silently.
Status Parser::AddAvailable(std::int64_t line, std::string_view text, bool* observed) {
  if (text == "1" || text == "1.0" || text == "True" || text == "true") {
    *observed = true;
  } else if (text == "0" || text == "0.0" || text == "False" || text == "false") {
    *observed = false;
  } else {
    return Bad(path_, line, kAvailable,
               (text.empty() ? std::string("empty value") : Quote(text)) +
                   " must be 1 (observed) or 0 (missing); 1.0/0.0 and True/False are read too");
  }
  current().available.push_back(*observed ? 1 : 0);
  return Status::Ok();
}

Status Parser::FindSeries(std::int64_t line, std::string_view id) {
  if (id.empty()) return Bad(path_, line, kUniqueId, "empty value");
  const auto [it, inserted] = index_.emplace(std::string(id), panel_.series.size());
  have_current_ = true;
  current_ = it->second;
  if (!inserted) return Status::Ok();
  panel_.series.emplace_back();
  lines_.emplace_back();
  unsorted_.push_back(0);
  current().unique_id = std::string(id);
  current().exog.resize(cols_.extra.size());
  return Status::Ok();
}

Status Parser::AddTimestamp(std::int64_t line, std::string_view text) {
  if (text.empty()) return Bad(path_, line, kDs, "empty value");
  Timestamp t;
  TimeKind kind = TimeKind::kInteger;
  const char* why = nullptr;
  if (!civil::ParseTimestampView(text, &t, &kind, &why)) {
    return Bad(path_, line, kDs, Quote(text) + " is not a valid timestamp: " + why);
  }
  if (kind_line_ == 0) {
    kind_line_ = line;
    panel_.time_kind = kind;
  } else if ((kind == TimeKind::kInteger) != (panel_.time_kind == TimeKind::kInteger)) {
    const bool is_int = kind == TimeKind::kInteger;
    return Bad(path_, line, kDs,
               "mixed ds types: " + Quote(text) + " is " + (is_int ? "an integer" : "a date") +
                   " but line " + std::to_string(kind_line_) + " has " +
                   (is_int ? "a date" : "an integer"));
  } else if (kind == TimeKind::kDateTime) {
    panel_.time_kind = TimeKind::kDateTime;  // a date is midnight, so dates widen to date-times
  }
  std::vector<Timestamp>& ds = current().ds;
  if (!ds.empty() && t == ds.back()) {
    const std::vector<std::uint32_t>& lines = lines_[current_];
    return Bad(path_, line, kDs,
               "duplicate (unique_id, ds) = (" + Quote(current().unique_id) + ", " + Quote(text) +
                   "): the same ds is on line " + std::to_string(lines[lines.size() - 2]));
  }
  if (!ds.empty() && t < ds.back()) unsorted_[current_] = 1;
  ds.push_back(t);
  return Status::Ok();
}

Status Parser::SortSeries(std::size_t s) {
  Series& series = panel_.series[s];
  std::vector<std::size_t> order(series.ds.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return series.ds[a] < series.ds[b]; });
  auto permute = [&](auto& v) {
    if (v.size() != order.size()) return;
    std::remove_reference_t<decltype(v)> sorted;
    sorted.reserve(v.size());
    for (std::size_t i : order) sorted.push_back(v[i]);
    v = std::move(sorted);
  };
  permute(series.ds);
  permute(series.y);
  permute(series.available);
  for (auto& column : series.exog) permute(column);
  permute(lines_[s]);
  for (std::size_t i = 1; i < series.ds.size(); ++i)
    if (series.ds[i] == series.ds[i - 1])
      return Bad(path_, lines_[s][i], kDs,
                 "duplicate (unique_id, ds) = (" + Quote(series.unique_id) + ", " +
                     Quote(FormatTimestamp(series.ds[i], panel_.time_kind)) + "): the same ds is on line " +
                     std::to_string(lines_[s][i - 1]));
  return Status::Ok();
}

Status Parser::AddValue(std::int64_t line, std::string_view text) {
  if (lenient_values_) {
    double v = std::nan("");
    const char* first = text.data();
    const char* last = first + text.size();
    first = csv::SkipPlusSign(first, last);
    const auto [ptr, ec] = std::from_chars(first, last, v);
    if (ec != std::errc() || ptr != last || first == last || !std::isfinite(v)) v = std::nan("");
    current().y.push_back(v);
    return Status::Ok();
  }
  if (text.empty())
    return Bad(path_, line, kY,
               cols_.available >= 0 ? "empty value at an observed point (available_mask 1)"
                                    : "empty value (mark a missing observation with an available_mask column of 0/1, as "
                                      "in neuralforecast)");
  const char* first = text.data();
  const char* last = first + text.size();
  first = csv::SkipPlusSign(first, last);
  double v = 0;
  const auto [ptr, ec] = std::from_chars(first, last, v);
  if (ec == std::errc::result_out_of_range)
    return Bad(path_, line, kY, Quote(text) + " is out of range");
  if (ec != std::errc() || ptr != last || first == last) {
    return Bad(path_, line, kY, Quote(text) + " is not a number");
  }
  if (!std::isfinite(v))
    return Bad(path_, line, kY,
               Quote(text) + " is not a finite number" +
                   (cols_.available >= 0 ? std::string(" (at an observed point, available_mask 1)")
                                         : std::string(" (mark a missing observation with an available_mask column of 0/1)")));
  current().y.push_back(v);
  return Status::Ok();
}

// A missing point's placeholder still enters the model, as in neuralforecast: its first block and
// its naive level read the raw window, only the residuals, scalers and losses mask it. So a
// placeholder left empty takes the last observed value before it, which keeps the window on its
// level; before a series' first observed point it is 0, as the zero padding of a short series
// (a later value there would leak a target into an earlier window's inputs).
void FillPlaceholders(const std::vector<std::uint8_t>& available, std::vector<double>* values) {
  double last = 0.0;
  for (std::size_t t = 0; t < values->size() && t < available.size(); ++t) {
    double& v = (*values)[t];
    if (available[t] != 0) {
      if (!std::isnan(v)) last = v;  // lenient reading: a bad observed y, which fails its series anyway
    } else if (std::isnan(v)) {
      v = last;
    }
  }
}

Status Parser::Finish(std::int64_t next_line) {
  if (rows_ == 0) return Bad(path_, next_line, kUniqueId, "no data rows after the header");
  for (std::size_t s = 0; s < panel_.series.size(); ++s) {
    if (unsorted_[s]) NHITS_RETURN_IF_ERROR(SortSeries(s));
    if (cols_.available < 0) continue;
    Series& series = panel_.series[s];
    FillPlaceholders(series.available, &series.y);
    for (std::size_t k = 0; k < series.exog.size(); ++k)
      if (cols_.coded[k] == nullptr) FillPlaceholders(series.available, &series.exog[k]);
  }
  return Status::Ok();
}

Result<Panel> ReadLongCsvUnchecked(const std::string& path, bool lenient_values, bool want_y,
                                   const std::vector<std::string>& extra,
                                   const std::vector<CategoricalColumn>* categorical) {
  std::string buffer;
  NHITS_RETURN_IF_ERROR(ReadWholeFile(path, &buffer));
  std::string_view data(buffer);
  if (data.substr(0, 3) == "\xEF\xBB\xBF") data.remove_prefix(3);  // UTF-8 BOM from spreadsheets
  if (OnlyBlankLines(data)) {
    return Bad(path, 1, kUniqueId, "file is empty; expected a header 'unique_id,ds,y'");
  }
  // Splits off one line, without its '\n' or '\r\n'.
  size_t pos = 0;
  const auto next_line = [&]() {
    const size_t nl = data.find('\n', pos);
    const size_t stop = nl == std::string_view::npos ? data.size() : nl;
    std::string_view line = data.substr(pos, stop - pos);
    pos = nl == std::string_view::npos ? data.size() : nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
  };
  Columns cols;
  cols.want_y = want_y;
  cols.extra_names = extra;
  for (const std::string& name : extra) cols.coded.push_back(FindCategoricalColumn(categorical, name));
  NHITS_RETURN_IF_ERROR(ParseHeader(path, next_line(), &cols));
  Parser parser(path, cols, lenient_values);
  std::int64_t line_no = 1;
  while (pos < data.size()) {
    ++line_no;
    const std::string_view line = next_line();
    if (line.empty()) {
      if (OnlyBlankLines(data.substr(pos))) break;  // trailing blank lines are harmless
      return Bad(path, line_no, kUniqueId, "blank line inside the data");
    }
    NHITS_RETURN_IF_ERROR(parser.Row(line_no, line));
  }
  NHITS_RETURN_IF_ERROR(parser.Finish(line_no + 1));
  Panel panel = parser.TakePanel();
  panel.exog_names = extra;
  return panel;
}

// Only allocation can throw in the reader; turn it into a Status instead of letting it escape.
Result<Panel> ReadGuarded(const std::string& path, bool lenient_values, bool want_y,
                          const std::vector<std::string>& extra,
                          const std::vector<CategoricalColumn>* categorical = nullptr) {
  try {
    return ReadLongCsvUnchecked(path, lenient_values, want_y, extra, categorical);
  } catch (const std::exception& e) {
    return Status::IoError(path + ":1: field '" + kUniqueId + "': cannot read: " + e.what());
  }
}

}  // namespace

Result<Panel> ReadLongCsv(const std::string& path) { return ReadGuarded(path, false, true, {}); }

Result<Panel> ReadLongCsv(const std::string& path, const std::vector<std::string>& exog_columns,
                          const std::vector<CategoricalColumn>* categorical) {
  return ReadGuarded(path, false, true, exog_columns, categorical);
}

Result<Panel> ReadFutureCsv(const std::string& path, const std::vector<std::string>& futr_columns,
                            const std::vector<CategoricalColumn>* categorical) {
  return ReadGuarded(path, false, false, futr_columns, categorical);
}

Result<Panel> ReadLongCsvLenient(const std::string& path, const std::vector<std::string>& exog_columns,
                                 const std::vector<CategoricalColumn>* categorical) {
  return ReadGuarded(path, true, true, exog_columns, categorical);
}

Result<Panel> ReadLongCsvLenient(const std::string& path) { return ReadGuarded(path, true, true, {}); }

}  // namespace nhits
