// Long-format time series data: `unique_id,ds,y` CSV files as neuralforecast uses them.
//
// ReadLongCsv parses and validates a file into a Panel: one Series per unique_id, in file
// order, with `ds` strictly increasing inside each series. `ds` is either an integer step or an
// ISO date / datetime; one file never mixes the two. Frequencies are inferred from the `ds`
// spacing (or given explicitly) and used to make the future timestamps of a forecast.
// Thread safety: plain values; all functions are reentrant.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nhits/categorical.h"
#include "nhits/status.h"

namespace nhits {

enum class TimeKind { kInteger, kDate, kDateTime };

// A timestamp. For kInteger, `value` is the step itself; for kDate/kDateTime it is seconds since
// 1970-01-01 00:00:00 (UTC, no time zones).
struct Timestamp {
  std::int64_t value = 0;
  bool operator==(const Timestamp&) const = default;
  auto operator<=>(const Timestamp&) const = default;
};

struct Series {
  std::string unique_id;
  std::vector<Timestamp> ds;
  std::vector<double> y;
  // One column per Panel::exog_names entry, aligned with ds. A column may run past the end of y:
  // the values after it are the known future of a futr exogenous column (AttachFutureCsv).
  std::vector<std::vector<double>> exog;
  std::vector<double> static_values;  // one per Panel::static_names entry
  // neuralforecast's sample_weight column, aligned with y (empty: every point weighs 1). A
  // training window's loss weighs the mean of its h outsample weights (steps past the data: 0).
  std::vector<double> sample_weight;
  // neuralforecast's available_mask column, aligned with y: 0 marks a point that was not observed
  // (its y is a placeholder that no scaler statistic or loss sees, and the model's residuals mask).
  // Empty: every point observed.
  std::vector<std::uint8_t> available;
  bool observed(std::size_t t) const { return available.empty() || available[t] != 0; }
};

struct Panel {
  TimeKind time_kind = TimeKind::kInteger;
  std::vector<Series> series;  // file order
  std::vector<std::string> exog_names;    // temporal exogenous columns read with the data
  std::vector<std::string> static_names;  // static exogenous columns (AttachStaticCsv)
};

// Parses a long-format CSV. Columns are found by header name (`unique_id`, `ds`, `y`), extra
// columns are ignored, fields may be quoted (RFC 4180: "a,b", "say ""hi"""; not across lines),
// and spaces around ds/y/exogenous values are ignored. Rows may come in any order: series keep
// the order of their first row and each is sorted by ds, as neuralforecast sorts the frame.
// An `available_mask` column (neuralforecast's) marks missing observations: 1 observed, 0 missing
// (also 1.0/0.0, True/False); a missing point's y (and its exogenous values) may be empty or NaN,
// stored as the last observed value, or 0 before a series' first observed point (as the zero
// padding of a short series), and is never seen by a scaler statistic or a loss (Series::available).
// Errors (Status::InvalidArgument, message "FILE:LINE: field 'NAME': what is wrong"):
// missing file, missing/misnamed columns, wrong field count, an unclosed quote,
// empty/non-numeric/NaN/inf `y` at an observed point, an available_mask other than 0/1,
// unparsable or mixed-type `ds`, duplicate (unique_id, ds).
Result<Panel> ReadLongCsv(const std::string& path);
// The same, except that an unparsable, empty, NaN or infinite `y` becomes NaN instead of failing
// the file: batch runs over many assets validate each series on its own (see batch.h).
// Structural errors (columns, ds, order) still fail with file:line.
Result<Panel> ReadLongCsvLenient(const std::string& path);
// The same, also reading the named exogenous columns (strictly: a bad value there fails the file).
Result<Panel> ReadLongCsvLenient(const std::string& path, const std::vector<std::string>& exog_columns,
                                 const std::vector<CategoricalColumn>* categorical = nullptr);
// ReadLongCsv, also reading the named exogenous columns (numbers, each value finite) into
// Series::exog, in the order given; a missing column fails naming the columns found.
// A column named in `categorical` holds labels instead: each is stored as its code
// (CategoryCode: 0 for a label the vocabulary lacks, an empty field included).
Result<Panel> ReadLongCsv(const std::string& path, const std::vector<std::string>& exog_columns,
                          const std::vector<CategoricalColumn>* categorical = nullptr);
// A future-values file (neuralforecast's futr_df): unique_id, ds and the named columns, no y.
Result<Panel> ReadFutureCsv(const std::string& path, const std::vector<std::string>& futr_columns,
                            const std::vector<CategoricalColumn>* categorical = nullptr);

// Static exogenous values (neuralforecast's static_df): a CSV with unique_id and the named columns,
// one row per series. Attaches them to every series of `panel` (Panel::static_names,
// Series::static_values). A series without a row, a duplicate id or a bad value fails with
// file:line:field; rows for ids not in the panel are ignored.
// Columns named in `categorical` hold labels, stored as their codes (as ReadLongCsv does).
Status AttachStaticCsv(const std::string& path, const std::vector<std::string>& columns, Panel* panel,
                       const std::vector<CategoricalColumn>* categorical = nullptr);

// The vocabulary neuralforecast builds for a categorical column at fit time
// (NeuralForecast._build_categorical_vocab), for each of `columns` of the CSV `path` in one pass:
// the column's distinct labels, sorted as Python sorts what pandas read (by value when every label
// is a number, else by text), missing values (empty, "NaN", "NA", ...: pandas' defaults) left out;
// label i is coded i + 1. Fails with file:line:field on a missing column or a ragged row.
Result<std::vector<std::vector<std::string>>> ReadCategoryLabels(const std::string& path,
                                                                  const std::vector<std::string>& columns);

// Formats a timestamp as it should appear in output: integer as is; kDate as YYYY-MM-DD;
// kDateTime as YYYY-MM-DD HH:MM:SS.
std::string FormatTimestamp(Timestamp t, TimeKind kind);

// Parses one `ds` field; returns its kind through `kind`. Accepts integers, YYYY-MM-DD,
// YYYY-MM-DD HH:MM[:SS] and YYYY-MM-DDTHH:MM[:SS].
Result<Timestamp> ParseTimestamp(const std::string& text, TimeKind* kind);

// A sampling frequency, named like pandas offset aliases.
struct Frequency {
  enum class Unit {
    kStep,         // integer ds: `step` units per observation
    kSecond,       // `step` seconds (covers min/h/D/W multiples: e.g. 900 s = "15min")
    kBusinessDay,  // "B": Monday..Friday
    kMonthEnd,     // "ME": last day of every `step` months
    kMonthStart,   // "MS": first day of every `step` months
    kQuarterEnd,   // "QE"
    kYearEnd,      // "YE"
  };
  Unit unit = Unit::kStep;
  std::int64_t step = 1;
  // pandas-style alias: "1", "D", "h", "15min", "W", "B", "ME", "MS", "QE", "YE", "10s", ...
  std::string ToString() const;
};

// Parses a `--freq` override such as "D", "h", "15min", "W", "B", "ME", "MS", "QE", "YE", "1"
// (integer step). Unknown aliases are InvalidArgument naming the accepted ones.
Result<Frequency> ParseFrequency(const std::string& alias, TimeKind kind);

// Infers the frequency from the spacing of every series' `ds` (the most common spacing wins;
// calendar rules such as month-end or business days are recognised). Fails when no series has
// two points or the spacing fits no known frequency.
Result<Frequency> InferFrequency(const Panel& panel);

// The `n` timestamps after `last` at frequency `freq`.
std::vector<Timestamp> FutureTimestamps(Timestamp last, const Frequency& freq, int n);
// The timestamp one step before `first` at `freq` (FutureTimestamps(result, freq, 1) is `first`
// for an on-frequency timestamp): the cutoff of a window that starts a series.
Timestamp PreviousTimestamp(Timestamp first, const Frequency& freq);

// Appends to every series the futr exogenous values of the h steps after its end, read from a
// future-values CSV (ReadFutureCsv): the rows of a series must carry the h timestamps after its
// last ds at `freq`, consecutively (rows before or after them are ignored). A series with none, too few or other timestamps fails naming the
// first missing timestamp (neuralforecast's get_missing_future). `futr_columns` must be in
// panel->exog_names.
// With `skipped`, a series with fewer than h future rows gets the consecutive ones it has and its
// id appended there instead of failing (batch runs degrade an asset whose model needs more).
Status AttachFutureCsv(const std::string& path, const std::vector<std::string>& futr_columns, const Frequency& freq,
                       int h, Panel* panel, std::vector<std::string>* skipped = nullptr,
                       const std::vector<CategoricalColumn>* categorical = nullptr);

// The number of observations per seasonal cycle for a frequency (12 for monthly, 24 for hourly,
// 7 for daily, 5 for business days, 52 for weekly, 4 for quarterly, 1 for yearly or integer).
int SeasonLength(const Frequency& freq);

}  // namespace nhits
