// Universe files and routing rules.
#include <fnmatch.h>

#include <fstream>
#include <sstream>
#include <string_view>

#include <nlohmann/json.hpp>

#include "data/csv_fields.h"
#include "nhits/batch.h"

namespace nhits {
namespace {

// Fields of one line, with spaces (and a CRLF's '\r') around each removed.
Result<std::vector<std::string>> SplitCsv(const std::string& path, int line_no, std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // CRLF: before the quotes are matched
  std::string why;
  std::vector<std::string> out = csv::SplitLineCopy(line, &why);
  if (!why.empty()) return Status::InvalidArgument(path + ":" + std::to_string(line_no) + ": " + why);
  for (std::string& field : out) {
    while (!field.empty() && (field.back() == '\r' || field.back() == ' ')) field.pop_back();
    while (!field.empty() && field.front() == ' ') field.erase(field.begin());
  }
  return out;
}

Result<Universe> ReadJsonUniverse(const std::string& path, const std::string& text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    return Status::InvalidArgument(path + ": not valid JSON: " + e.what());
  }
  if (!j.is_array()) return Status::InvalidArgument(path + ": expected a JSON list of {\"unique_id\", \"asset_class\"} objects");
  Universe u;
  for (std::size_t i = 0; i < j.size(); ++i) {
    const auto& a = j[i];
    const std::string where = path + ": entry " + std::to_string(i);
    if (!a.is_object())
      return Status::InvalidArgument(where + ": " + a.dump().substr(0, 40) +
                                     " is not an object; each entry is {\"unique_id\": ..., \"asset_class\": ...}");
    if (!a.contains("unique_id") || !a["unique_id"].is_string() || a["unique_id"].get<std::string>().empty())
      return Status::InvalidArgument(where + ": field 'unique_id': missing or not a non-empty string");
    if (!a.contains("asset_class") || !a["asset_class"].is_string() || a["asset_class"].get<std::string>().empty())
      return Status::InvalidArgument(where + ": field 'asset_class': missing or not a non-empty string");
    Asset asset{a["unique_id"].get<std::string>(), a["asset_class"].get<std::string>(), {}};
    for (const auto& [k, v] : a.items())
      if (k != "unique_id" && k != "asset_class") asset.attributes[k] = v.is_string() ? v.get<std::string>() : v.dump();
    u.assets.push_back(std::move(asset));
  }
  return u;
}

}  // namespace

Result<Universe> ReadUniverse(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(path + ": cannot open the universe file");
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string text = buf.str();
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return Status::InvalidArgument(path + ":1: the universe file is empty");
  Universe u;
  if (text[first] == '{')
    return Status::InvalidArgument(path + ": a JSON universe is a list [{\"unique_id\": ..., \"asset_class\": ...}, ...], "
                                          "not an object");
  if (text[first] == '[') {
    Result<Universe> j = ReadJsonUniverse(path, text);
    if (!j.ok()) return j.status();
    u = std::move(*j);
  } else {
    std::istringstream lines(text);
    std::string line;
    std::getline(lines, line);
    Result<std::vector<std::string>> split_header = SplitCsv(path, 1, line);
    if (!split_header.ok()) return split_header.status();
    const std::vector<std::string> header = std::move(*split_header);
    int id_col = -1, class_col = -1;
    for (std::size_t c = 0; c < header.size(); ++c) {
      if (header[c] == "unique_id") id_col = static_cast<int>(c);
      if (header[c] == "asset_class") class_col = static_cast<int>(c);
    }
    if (id_col < 0 || class_col < 0)
      return Status::InvalidArgument(path + ":1: the header needs columns 'unique_id' and 'asset_class' (found '" + line + "')");
    int line_no = 1;
    while (std::getline(lines, line)) {
      ++line_no;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      Result<std::vector<std::string>> split = SplitCsv(path, line_no, line);
      if (!split.ok()) return split.status();
      const std::vector<std::string> f = std::move(*split);
      if (f.size() != header.size())
        return Status::InvalidArgument(path + ":" + std::to_string(line_no) + ": " + std::to_string(f.size()) +
                                       " fields, the header has " + std::to_string(header.size()));
      if (f[static_cast<std::size_t>(id_col)].empty())
        return Status::InvalidArgument(path + ":" + std::to_string(line_no) + ": field 'unique_id': empty");
      if (f[static_cast<std::size_t>(class_col)].empty())
        return Status::InvalidArgument(path + ":" + std::to_string(line_no) + ": field 'asset_class': empty");
      Asset a{f[static_cast<std::size_t>(id_col)], f[static_cast<std::size_t>(class_col)], {}};
      for (std::size_t c = 0; c < f.size(); ++c)
        if (static_cast<int>(c) != id_col && static_cast<int>(c) != class_col) a.attributes[header[c]] = f[c];
      u.assets.push_back(std::move(a));
    }
  }
  std::map<std::string, int> seen;
  for (std::size_t i = 0; i < u.assets.size(); ++i)
    if (++seen[u.assets[i].unique_id] > 1)
      return Status::InvalidArgument(path + ": field 'unique_id': '" + u.assets[i].unique_id + "' is listed twice");
  if (u.assets.empty()) return Status::InvalidArgument(path + ": the universe lists no assets");
  return u;
}

Result<std::pair<std::string, int>> Router::Route(const Asset& asset) const {
  for (const RouteRule& r : rules_)
    if (!r.by_class && fnmatch(r.pattern.c_str(), asset.unique_id.c_str(), 0) == 0) return std::make_pair(r.model, r.version);
  for (const RouteRule& r : rules_)
    if (r.by_class && r.pattern == asset.asset_class) return std::make_pair(r.model, r.version);
  if (!default_model_.empty()) return std::make_pair(default_model_, 0);
  return Status::NotFound("no route for asset '" + asset.unique_id + "' of class '" + asset.asset_class +
                          "' (add a class or id rule, or a default model)");
}

}  // namespace nhits
