#include "finished_trials.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "cli_common.h"

namespace nhits::cli {

FinishedTrials FinishedTrials::Load(const std::string& path) {
  FinishedTrials out;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return out;
    Fail(path + ": cannot read: " + std::strerror(errno));
  }
  std::stringstream text;
  text << in.rdbuf();
  const auto rows = nlohmann::ordered_json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (rows.is_discarded() || !rows.is_array())
    Fail(path + ": not the rows JSON that `nhits benchmark --out` writes (a JSON array of rows)");
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& row = rows[i];
    const std::string where = path + ": row " + std::to_string(i + 1);
    if (!row.is_object()) Fail(where + ": not a JSON object");
    if (!row.contains("dataset") || !row.contains("h")) Fail(where + ": no dataset or h");
    const bool complete = row.value("complete", true);
    if (complete) out.rows_.push_back(row);
    // Rows written before rows recorded their strides cannot be matched; they are still kept.
    if (!row.contains("val_stride") || !row.contains("test_stride")) continue;
    try {
      Entry e;
      e.dataset = row.at("dataset").get<std::string>();
      e.h = row.at("h").get<int>();
      e.test_stride = row.at("test_stride").get<int>();
      e.val_stride = row.at("val_stride").get<int>();
      LongHorizonScores& b = e.trial.baselines;
      b.snaive_mse = row.at("seasonal_naive_mse").get<double>();
      b.snaive_mae = row.at("seasonal_naive_mae").get<double>();
      b.naive_mse = row.at("naive_mse").get<double>();
      b.naive_mae = row.at("naive_mae").get<double>();
      b.windows = row.at("test_windows").get<long>();
      if (row.contains("trials")) {
        for (const auto& t : row.at("trials")) {
          if (!t.contains("config")) continue;
          Entry te = e;
          te.trial.record = t;
          te.config = nlohmann::json::parse(t.at("config").dump());
          out.trials_.push_back(std::move(te));
        }
      } else if (complete && row.contains("config")) {
        auto& r = e.trial.record;
        r["config"] = row.at("config");
        e.config = nlohmann::json::parse(row.at("config").dump());
        r["val_mae"] = row.at("val_mae");
        r["test_mse"] = row.at("mse");
        r["test_mae"] = row.at("mae");
        r["steps"] = row.at("steps");
        r["train_seconds"] = row.at("train_seconds");
        r["early_stopped"] = row.at("early_stopped");
        r["best_val_loss"] = row.at("best_val_loss");
        out.trials_.push_back(std::move(e));
      }
    } catch (const nlohmann::json::exception& ex) {
      const std::string what = ex.what();  // "[json.exception.out_of_range.403] key 'h' not found"
      const std::size_t cut = what.find("] ");
      Fail(where + ": " + (cut == std::string::npos ? what : what.substr(cut + 2)));
    }
  }
  return out;
}

const FinishedTrial* FinishedTrials::Find(const std::string& dataset, int h, int test_stride, int val_stride,
                                          const nlohmann::ordered_json& config) const {
  const nlohmann::json wanted = nlohmann::json::parse(config.dump());
  for (const Entry& e : trials_)
    if (e.dataset == dataset && e.h == h && e.test_stride == test_stride && e.val_stride == val_stride &&
        e.config == wanted)
      return &e.trial;
  return nullptr;
}

std::vector<nlohmann::ordered_json> FinishedTrials::RowsOutside(
    const std::vector<std::pair<std::string, int>>& cells) const {
  std::vector<nlohmann::ordered_json> kept;
  for (const auto& row : rows_) {
    const std::pair<std::string, int> cell{row.at("dataset").get<std::string>(), row.at("h").get<int>()};
    if (std::find(cells.begin(), cells.end(), cell) == cells.end()) kept.push_back(row);
  }
  return kept;
}

}  // namespace nhits::cli
