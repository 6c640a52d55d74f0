#include "serve/http/http_server.h"

#include <algorithm>
#include <cstdio>
#include <condition_variable>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <thread>

#include <chrono>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "nhits/distribution.h"
#include "nhits/local_scaler.h"
#include "serve/http/event_loop_server.h"
#include "serve/http/http_parser.h"

namespace nhits::serve {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kHeaderLength = "inference-header-content-length";  // as HttpRequest stores names

// Triton's mapping: 404 unknown model, 503 unavailable / queue full / shed, 400 bad request.
int HttpStatusOf(const Status& s) {
  switch (s.code()) {
    case Status::Code::kOk: return 200;
    case Status::Code::kNotFound: return 404;
    case Status::Code::kInvalidArgument: return 400;
    case Status::Code::kUnavailable:
    case Status::Code::kDeadlineExceeded: return 503;
    default: return 500;
  }
}

HttpResponse Error(int status, const std::string& message) {
  HttpResponse r;
  r.status = status;
  r.body = json{{"error", message}}.dump();
  return r;
}

HttpResponse Error(const Status& s) { return Error(HttpStatusOf(s), s.ToString()); }

HttpResponse Json(const json& j, int status = 200) {
  HttpResponse r;
  r.status = status;
  r.body = j.dump();
  return r;
}

// A bad request, carried out of the parsing code to the handler as one 400.
struct BadRequest {
  std::string message;
};

// Flattens "data" (flat or nested lists, as KServe allows) into floats; rejects non-numbers.
void Flatten(const json& v, std::vector<float>& out, const std::string& input) {
  if (v.is_array()) {
    for (const json& e : v) Flatten(e, out, input);
    return;
  }
  if (!v.is_number()) throw BadRequest{"input '" + input + "': data holds " + v.dump() + ", not a number"};
  out.push_back(v.get<float>());
}

struct ParsedInfer {
  std::string id;
  int windows = 0;
  std::vector<float> insample, mask;
  std::vector<float> hist_exog, futr_exog, stat_exog;
  int priority = 1;
  std::optional<SteadyTime> deadline;
  bool binary_output = false;
};

// The inputs a model takes, with their shapes after the batch dimension: insample_y and
// insample_mask [L]; with exogenous columns hist_exog [L, X], futr_exog [L + h, F], stat_exog [S].
struct InputSpec {
  const char* name;
  std::vector<std::int64_t> dims;
  bool required;
};
std::vector<InputSpec> ModelInputs(const NhitsConfig& c) {
  const std::int64_t L = c.input_size;
  std::vector<InputSpec> in{{"insample_y", {L}, true}, {"insample_mask", {L}, false}};
  if (!c.hist_exog_list.empty())
    in.push_back({"hist_exog", {L, static_cast<std::int64_t>(c.hist_exog_list.size())}, true});
  if (!c.futr_exog_list.empty())
    in.push_back({"futr_exog", {L + c.h, static_cast<std::int64_t>(c.futr_exog_list.size())}, true});
  if (!c.stat_exog_list.empty()) in.push_back({"stat_exog", {static_cast<std::int64_t>(c.stat_exog_list.size())}, true});
  return in;
}

// Request timeouts beyond a day are a mistake (and beyond ~2.9e5 years overflow the clock into a
// deadline in the past); priorities must fit an int, not wrap into another level.
constexpr long long kMaxTimeoutUs = 86'400'000'000LL;

bool IntegerWithin(const json& v, long long lo, long long hi) {
  if (!v.is_number_integer()) return false;
  if (v.is_number_unsigned()) return v.get<unsigned long long>() <= static_cast<unsigned long long>(hi);
  const long long x = v.get<long long>();
  return x >= lo && x <= hi;
}

bool IntValue(const json& v) {  // any int: a priority or a version
  return IntegerWithin(v, std::numeric_limits<int>::min(), std::numeric_limits<int>::max());
}

bool TimeoutValue(const json& v) { return IntegerWithin(v, 0, kMaxTimeoutUs); }

// A repository load/unload body: empty, or {"parameters": {...}}. An unload's unload_dependents
// (tritonclient always sends it) is accepted: no model here has dependents. Triton's config and
// file overrides on a load are not supported; a body that asks for them, or is not JSON, is
// refused rather than ignored.
std::string RepositoryBodyError(const std::string& body, bool load) {
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) return "";
  const json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return "the body must be a JSON object (or empty)";
  for (const auto& [key, value] : j.items()) {
    if (key != "parameters") return "unknown key '" + key + "' (a load or unload takes only 'parameters')";
    if (!value.is_object()) return "'parameters' must be an object";
    for (const auto& [name, v] : value.items()) {
      if (!load && name == "unload_dependents" && v.is_boolean()) continue;
      return "parameter '" + name + "' is not supported: " +
             (load ? "models load from the repository's files as they are (no config or file overrides)"
                   : "an unload takes only unload_dependents (true or false)");
    }
  }
  return "";
}

// Every part of a call must fit the level's queue at once, or the call could never succeed: ""
// when it fits, else why not ("5 series in one call: model 'a' takes at most 4 ...").
std::string CallTooLarge(const ModelStatus& m, std::size_t parts, const std::string& what) {
  if (m.max_queue_size <= 0 || parts <= static_cast<std::size_t>(m.max_queue_size)) return "";
  return what + " in one call: model '" + m.name + "' takes at most " +
         std::to_string(static_cast<long long>(m.max_queue_size) * std::max(1, m.max_batch_size)) + " (max_queue_size " +
         std::to_string(m.max_queue_size) + " x max_batch_size " + std::to_string(m.max_batch_size) +
         " windows); split the call";
}

std::string ShapeText(const std::vector<std::int64_t>& dims) {
  std::string s = "[batch";
  for (std::int64_t d : dims) s += ", " + std::to_string(d);
  return s + "]";
}

ParsedInfer ParseInfer(const HttpRequest& req, const NhitsConfig& config, int default_priority) {
  const std::vector<InputSpec> specs = ModelInputs(config);
  std::string names;
  for (const InputSpec& s : specs) names += (names.empty() ? "" : ", ") + std::string(s.name) + (s.required ? "" : " (optional)");
  std::size_t header_len = req.body.size();
  if (const std::string* header = req.Header(kHeaderLength)) {
    const std::string& v = *header;
    char* end = nullptr;
    const unsigned long long n = std::strtoull(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || n > req.body.size())
      throw BadRequest{"Inference-Header-Content-Length '" + v + "' is not a length within the " +
                       std::to_string(req.body.size()) + "-byte body"};
    header_len = static_cast<std::size_t>(n);
  }
  json j;
  try {
    j = json::parse(req.body.begin(), req.body.begin() + static_cast<std::ptrdiff_t>(header_len));
  } catch (const json::exception& e) {  // parse_error, and out_of_range for numbers beyond double (1e400)
    throw BadRequest{std::string("malformed JSON: ") + e.what()};
  }
  if (!j.is_object()) throw BadRequest{"the request body must be a JSON object"};
  ParsedInfer p;
  p.priority = default_priority;
  if (j.contains("id")) p.id = j["id"].is_string() ? j["id"].get<std::string>() : j["id"].dump();
  if (j.contains("parameters")) {
    const json& params = j["parameters"];
    if (!params.is_object()) throw BadRequest{"'parameters' must be an object"};
    if (params.contains("priority")) {
      if (!IntValue(params["priority"])) throw BadRequest{"parameter 'priority' must be an integer (a level, 1 first)"};
      p.priority = params["priority"].get<int>();
      if (p.priority == 0) p.priority = default_priority;  // Triton: 0 means the default level
    }
    if (params.contains("timeout")) {
      if (!TimeoutValue(params["timeout"]))
        throw BadRequest{"parameter 'timeout' must be an integer from 0 to " + std::to_string(kMaxTimeoutUs) +
                         " (microseconds, at most a day; 0: none)"};
      const long long us = params["timeout"].get<long long>();
      if (us > 0) p.deadline = Clock::now() + std::chrono::microseconds(us);
    }
    if (params.contains("binary_data_output") && params["binary_data_output"].is_boolean())
      p.binary_output = params["binary_data_output"].get<bool>();
  }
  if (!j.contains("inputs") || !j["inputs"].is_array() || j["inputs"].empty())
    throw BadRequest{"'inputs' must be a non-empty list (" + names + ")"};
  std::size_t binary_at = header_len;
  std::vector<bool> seen(specs.size(), false);
  std::int64_t batch = -1;
  for (const json& in : j["inputs"]) {
    if (!in.is_object() || !in.contains("name") || !in["name"].is_string())
      throw BadRequest{"every input needs a string 'name'"};
    const std::string name = in["name"].get<std::string>();
    std::size_t k = 0;
    while (k < specs.size() && name != specs[k].name) ++k;
    if (k == specs.size()) throw BadRequest{"unknown input '" + name + "' (this model takes " + names + ")"};
    if (seen[k]) throw BadRequest{"input '" + name + "' appears twice"};
    seen[k] = true;
    const InputSpec& spec = specs[k];
    // FP64 too (numpy's default dtype): read as doubles and narrowed, as a client's astype would.
    if (!in.contains("datatype") || (in["datatype"] != "FP32" && in["datatype"] != "FP64"))
      throw BadRequest{"input '" + name + "' has datatype " + (in.contains("datatype") ? in["datatype"].dump() : "none") +
                       "; FP32 or FP64 is accepted"};
    const std::size_t element = in["datatype"] == "FP64" ? sizeof(double) : sizeof(float);
    if (!in.contains("shape") || !in["shape"].is_array() || in["shape"].size() != spec.dims.size() + 1)
      throw BadRequest{"input '" + name + "' needs shape " + ShapeText(spec.dims)};
    std::vector<std::int64_t> shape;
    for (const json& d : in["shape"]) {
      if (!d.is_number_integer() || d.get<long long>() < 1)
        throw BadRequest{"input '" + name + "': shape " + in["shape"].dump() + " must hold positive integers"};
      shape.push_back(d.get<std::int64_t>());
    }
    if (!std::equal(spec.dims.begin(), spec.dims.end(), shape.begin() + 1))
      throw BadRequest{"input '" + name + "' has shape " + in["shape"].dump() + "; this model needs " + ShapeText(spec.dims)};
    if (shape[0] > 1'000'000) throw BadRequest{"input '" + name + "': batch " + std::to_string(shape[0]) + " is too large"};
    if (batch >= 0 && shape[0] != batch)
      throw BadRequest{"input '" + name + "' has batch " + std::to_string(shape[0]) + ", another input " + std::to_string(batch)};
    batch = shape[0];
    std::size_t numel = 1;
    for (std::int64_t d : shape) numel *= static_cast<std::size_t>(d);
    std::vector<float>* const outputs[] = {&p.insample, &p.mask, &p.hist_exog, &p.futr_exog, &p.stat_exog};
    const std::string known[] = {"insample_y", "insample_mask", "hist_exog", "futr_exog", "stat_exog"};
    std::vector<float>& dst = *outputs[std::find(std::begin(known), std::end(known), name) - std::begin(known)];
    dst.clear();
    if (in.contains("parameters") && in["parameters"].is_object() && in["parameters"].contains("binary_data_size")) {
      const json& sz = in["parameters"]["binary_data_size"];
      if (!sz.is_number_integer() || sz.get<long long>() != static_cast<long long>(numel * element))
        throw BadRequest{"input '" + name + "': binary_data_size must be " + std::to_string(numel * element) +
                         " for shape " + in["shape"].dump() + " " + in["datatype"].get<std::string>()};
      if (binary_at + numel * element > req.body.size())
        throw BadRequest{"input '" + name + "': the body ends before its binary data"};
      dst.resize(numel);
      if (element == sizeof(float)) {
        std::memcpy(dst.data(), req.body.data() + binary_at, numel * sizeof(float));
      } else {
        for (std::size_t i = 0; i < numel; ++i) {
          double v;
          std::memcpy(&v, req.body.data() + binary_at + i * sizeof(double), sizeof(double));
          dst[i] = static_cast<float>(v);
        }
      }
      binary_at += numel * element;
    } else {
      if (!in.contains("data")) throw BadRequest{"input '" + name + "' has neither 'data' nor binary_data_size"};
      Flatten(in["data"], dst, name);
      if (dst.size() != numel)
        throw BadRequest{"input '" + name + "' has " + std::to_string(dst.size()) + " values for shape " +
                         in["shape"].dump() + " (" + std::to_string(numel) + ")"};
    }
    for (std::size_t i = 0; i < dst.size(); ++i)
      if (!std::isfinite(dst[i]))
        throw BadRequest{"input '" + name + "': data[" + std::to_string(i) + "] (flat, row-major) is not finite" +
                         std::string(in.contains("data") || element == sizeof(double) ? " (NaN, Inf, or beyond the float range)" : " (NaN or Inf)") +
                         (name == "insample_y" ? "; mark missing points in insample_mask" : "")};
  }
  for (std::size_t k = 0; k < specs.size(); ++k)
    if (specs[k].required && !seen[k])
      throw BadRequest{"input '" + std::string(specs[k].name) + "' " + ShapeText(specs[k].dims) + " is required (this model takes " +
                       names + ")"};
  p.windows = static_cast<int>(batch);
  if (j.contains("outputs") && j["outputs"].is_array())
    for (const json& out : j["outputs"]) {
      if (out.contains("name") && out["name"] != "forecast")
        throw BadRequest{"unknown output " + out["name"].dump() + " (this model has 'forecast')"};
      if (out.contains("parameters") && out["parameters"].is_object() && out["parameters"].contains("binary_data"))
        p.binary_output = out["parameters"]["binary_data"].is_boolean() && out["parameters"]["binary_data"].get<bool>();
    }
  return p;
}

json ModelMetadata(const Engine& engine, const ModelStatus& m) {
  json versions = json::array();
  for (const ModelStatus& s : engine.Models())
    if (s.name == m.name) versions.push_back(std::to_string(s.version));
  const int L = m.config.input_size, H = m.config.h, Q = m.config.outputs_per_step();
  json inputs = json::array();
  for (const InputSpec& s : ModelInputs(m.config)) {
    std::vector<std::int64_t> shape{-1};
    shape.insert(shape.end(), s.dims.begin(), s.dims.end());
    inputs.push_back({{"name", s.name}, {"datatype", "FP32"}, {"shape", shape}});
  }
  json exog = json::object();
  if (!m.config.hist_exog_list.empty()) exog["hist_exog_list"] = m.config.hist_exog_list;
  if (!m.config.futr_exog_list.empty()) exog["futr_exog_list"] = m.config.futr_exog_list;
  if (!m.config.stat_exog_list.empty()) exog["stat_exog_list"] = m.config.stat_exog_list;
  // A categorical column's tensor values are codes: 1 + the label's position here, 0 for unseen.
  for (const CategoricalColumn& col : m.config.categorical) exog["categorical_vocab"][col.name] = col.vocabulary;
  // The forecast's last dimension as neuralforecast names its columns ("NHITS", "NHITS-median",
  // "NHITS-lo-90", ...); output_names keeps the bare suffixes.
  std::vector<std::string> columns;
  for (const std::string& suffix : m.config.output_names()) columns.push_back("NHITS" + suffix);
  return {{"name", m.name},
          {"versions", versions},
          {"platform", "nhits"},
          {"inputs", inputs},
          {"outputs", {{{"name", "forecast"}, {"datatype", "FP32"}, {"shape", {-1, H, Q}}}}},
          {"parameters",
           {{"h", H}, {"input_size", L}, {"output_names", m.config.output_names()}, {"column_names", columns},
            {"precision", m.precision},
            {"max_batch_size", m.max_batch_size}, {"priority_levels", m.priority_levels}, {"exogenous", exog}}}};
}

// Triton's model configuration (GET .../config), which Triton's clients and perf_analyzer read
// for the batch limit and tensor shapes. Dims exclude the batch dimension, as with Triton's
// max_batch_size > 0.
json ModelConfig(const ModelStatus& m, int default_priority) {
  const int H = m.config.h, Q = m.config.outputs_per_step();
  json input = json::array();
  for (const InputSpec& s : ModelInputs(m.config))
    input.push_back({{"name", s.name}, {"data_type", "TYPE_FP32"}, {"format", "FORMAT_NONE"}, {"dims", s.dims},
                     {"optional", !s.required}});
  return {{"name", m.name},
          {"platform", "nhits"},
          {"backend", "nhits"},
          {"max_batch_size", m.max_batch_size},
          {"input", input},
          {"output", {{{"name", "forecast"}, {"data_type", "TYPE_FP32"}, {"dims", {H, Q}}}}},
          {"dynamic_batching",
           {{"preferred_batch_size", m.preferred_batch_sizes},
            {"max_queue_delay_microseconds", m.max_queue_delay_us},
            {"priority_levels", m.priority_levels},
            {"default_priority_level", default_priority},
            {"default_queue_policy", {{"max_queue_size", m.max_queue_size}, {"timeout_action", "REJECT"}}}}},
          {"instance_group", {{{"name", m.name}, {"count", m.workers}, {"kind", m.device.rfind("cuda", 0) == 0 ? "KIND_GPU" : "KIND_CPU"}}}},
          {"parameters", {{"precision", {{"string_value", m.precision}}}}}};
}

// Triton's statistics extension (GET /v2/models[/{m}[/versions/{v}]]/stats), cumulative
// nanoseconds per phase; perf_analyzer reads it for its server-side breakdown. Compute is per
// executed batch (every request in a batch waits for all of it).
json ModelStatistics(const std::vector<ModelStatus>& models) {
  auto stat = [](std::uint64_t count, double us) { return json{{"count", count}, {"ns", static_cast<std::uint64_t>(us * 1e3)}}; };
  json out = json::array();
  for (const ModelStatus& m : models)
    out.push_back({{"name", m.name},
                   {"version", std::to_string(m.version)},
                   {"last_inference", m.last_success_ms},
                   {"inference_count", m.windows},
                   {"execution_count", m.batches},
                   {"inference_stats",
                    {{"success", stat(m.success, m.success_us)},
                     {"fail", stat(m.failures, 0)},
                     {"queue", stat(m.success, m.queue_us)},
                     {"compute_input", stat(m.batches, 0)},
                     {"compute_infer", stat(m.batches, m.compute_us)},
                     {"compute_output", stat(m.batches, 0)},
                     {"cache_hit", stat(m.cache_hits, m.cache_hit_us)},
                     {"cache_miss", stat(m.cache_misses, m.cache_miss_us)}}},
                   {"batch_stats", json::array()}});
  return {{"model_stats", out}};
}

json PercentilesJson(const Percentiles& p) {
  return {{"count", p.count}, {"mean", p.mean}, {"p50", p.p50}, {"p95", p.p95},
          {"p99", p.p99},     {"p999", p.p999}, {"max", p.max}};
}


// One infer call: its parts (a request of more windows than max_batch_size is split) come back
// on engine workers; the last one posts the answer, which is serialised on the I/O thread.
struct InferCall {
  std::string id, model;
  int version = 0, windows = 0, h = 0, q = 0;
  bool binary_output = false;
  std::vector<ForecastResult> parts;
  std::atomic<int> remaining{0};
  Responder responder;

  HttpResponse Answer() {
    std::vector<float> out;
    out.reserve(static_cast<std::size_t>(windows) * h * q);
    const int answered = parts.empty() ? version : parts.front().version;  // the version that ran it
    for (ForecastResult& r : parts) {
      if (!r.status.ok()) return Error(r.status);
      // The parts of a split call route on their own: a hot reload between them can answer
      // some with another version, or another shape than the one this answer declares.
      if (r.version != answered || r.h != h || r.outputs != q)
        return Error(503, "model '" + model + "' was reloaded while this call ran (its parts were answered by "
                          "different versions or shapes); retry");
      out.insert(out.end(), r.forecast.begin(), r.forecast.end());
    }
    if (out.size() != static_cast<std::size_t>(windows) * h * q)
      return Error(503, "model '" + model + "' was reloaded with another shape while this call ran; retry");
    json output = {{"name", "forecast"}, {"datatype", "FP32"}, {"shape", {windows, h, q}}};
    json body = {{"model_name", model}, {"model_version", std::to_string(answered)}};
    if (!id.empty()) body["id"] = id;
    if (!binary_output) {
      output["data"] = std::move(out);
      body["outputs"] = json::array({std::move(output)});
      return Json(body);
    }
    output["parameters"] = {{"binary_data_size", out.size() * sizeof(float)}};
    body["outputs"] = json::array({std::move(output)});
    HttpResponse r;
    r.body = body.dump();
    r.headers.emplace_back("Inference-Header-Content-Length", std::to_string(r.body.size()));
    r.body.append(reinterpret_cast<const char*>(out.data()), out.size() * sizeof(float));
    r.content_type = "application/octet-stream";
    return r;
  }
};

// /v1/forecast: one engine request per series, answered together.
// Labels of categorical columns that a model's vocabulary lacks, by column (first-seen order).
using UnseenLabels = std::map<std::string, std::vector<std::string>>;

struct ForecastCall {
  std::string model;
  int version = 0, h = 0, q = 0;
  std::vector<std::string> ids, names;
  std::vector<double> levels;                          // "level": conformal intervals to add
  std::shared_ptr<const ConformalScores> conformal;  // the model's scores (checked when levels are asked)
  std::vector<int> padded;  // per series: input points zero-filled because the series was short
  std::vector<UnseenLabels> unseen;  // per series: labels the model's fit never saw, by column
  // local_scaler_type models: each series' scale over its values, to scale the forecast back
  std::vector<LocalScale> local;
  // The series go to the engine in requests of up to max_batch_size windows (a call of 5000
  // series is 79 queue entries at batch 64, not 5000): series i is window where[i].second of
  // request where[i].first.
  std::vector<std::pair<std::size_t, std::size_t>> where;
  std::vector<ForecastResult> results;  // per request
  std::atomic<int> remaining{0};
  Responder responder;

  HttpResponse Answer() {
    nlohmann::ordered_json forecasts = nlohmann::ordered_json::array();  // columns in output order
    const std::size_t per_window = static_cast<std::size_t>(h) * static_cast<std::size_t>(q);
    for (std::size_t i = 0; i < ids.size(); ++i) {
      const ForecastResult& whole = results[where[i].first];
      if (!whole.status.ok()) return Error(HttpStatusOf(whole.status), "series '" + ids[i] + "': " + whole.status.ToString());
      if (whole.forecast.size() < (where[i].second + 1) * per_window || whole.h != h || whole.outputs != q)  // reloaded with another h
        return Error(503, "series '" + ids[i] + "': model '" + model + "' was reloaded with another shape; retry");
      ForecastResult r;
      r.cache_hit = whole.cache_hit;
      r.forecast.assign(whole.forecast.begin() + static_cast<std::ptrdiff_t>(where[i].second * per_window),
                        whole.forecast.begin() + static_cast<std::ptrdiff_t>((where[i].second + 1) * per_window));
      nlohmann::ordered_json f = {{"id", ids[i]}, {"cache_hit", r.cache_hit}};
      // A forecast from a short history is legal (neuralforecast pads too) but worth knowing.
      if (padded[i] > 0) f["padded_inputs"] = padded[i];
      // So is a label the fit never saw: it takes the unseen embedding, as in neuralforecast.
      if (!unseen[i].empty()) f["unseen_labels"] = unseen[i];
      for (int k = 0; k < q; ++k) {
        std::vector<float> col(static_cast<std::size_t>(h));
        for (int t = 0; t < h; ++t) {
          const float v = r.forecast[static_cast<std::size_t>(t * q + k)];
          col[static_cast<std::size_t>(t)] = local.empty() ? v : static_cast<float>(local[i].Invert(v));
        }
        f["NHITS" + names[static_cast<std::size_t>(k)]] = col;
      }
      if (!levels.empty()) {  // neuralforecast's columns around the point forecast
        Result<std::vector<float>> bounds = ConformalIntervals(*conformal, ids[i], r.forecast.data(), levels);
        if (!bounds.ok()) return Error(400, bounds.status().message());  // it names the series
        const std::vector<std::string> suffixes = ConformalColumnSuffixes(levels);
        for (std::size_t c = 0; c < suffixes.size(); ++c) {
          std::vector<float> col(static_cast<std::size_t>(h));
          for (int t = 0; t < h; ++t) col[static_cast<std::size_t>(t)] = (*bounds)[static_cast<std::size_t>(t) * suffixes.size() + c];
          f["NHITS" + suffixes[c]] = col;
        }
      }
      forecasts.push_back(std::move(f));
    }
    HttpResponse out;
    const int answered = results.empty() ? version : results.front().version;
    out.body = nlohmann::ordered_json{{"model", model}, {"version", answered}, {"h", h}, {"forecasts", forecasts}}.dump();
    return out;
  }
};

// Runs slow control-plane work (loading a checkpoint) off the I/O threads, one job at a time.
class ControlWorker {
 public:
  ControlWorker() : thread_([this] { Loop(); }) {}
  ~ControlWorker() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  void Post(std::function<void()> job) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      jobs_.push_back(std::move(job));
    }
    cv_.notify_one();
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return done_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      std::function<void()> job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      try {  // a load that throws must not end the server; its responder, dropped unanswered, sends 500
        job();
      } catch (const std::exception& e) {
        std::fprintf(stderr, "nhits serve: repository job failed: %s\n", e.what());
      }
      job = nullptr;
      lock.lock();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool done_ = false;
  std::thread thread_;
};

// "/a/b/c" -> {"a", "b", "c"}, percent-decoded; false on a malformed escape.
bool SplitPath(const std::string& path, std::vector<std::string>* parts) {
  parts->clear();
  std::size_t at = 1;
  while (at <= path.size()) {
    const std::size_t slash = std::min(path.find('/', at), path.size());
    std::string segment;
    if (!PercentDecode(std::string_view(path).substr(at, slash - at), &segment)) return false;
    parts->push_back(std::move(segment));
    at = slash + 1;
  }
  return true;
}

}  // namespace

struct HttpServer::Impl {
  Engine& engine;
  ModelRepository& repo;
  HttpOptions options;
  ControlWorker control;
  std::unique_ptr<EventLoopServer> server;

  Impl(Engine& e, ModelRepository& r, HttpOptions o) : engine(e), repo(r), options(std::move(o)) {}

  void Infer(HttpRequest& req, Responder responder, const std::string& name, int version) {
    Result<ModelStatus> m = engine.FindModel(name, version);
    if (!m.ok()) return responder.Send(Error(m.status()));
    if (m->config.local_scaler_type != LocalScalerType::kNone)  // a tensor holds windows, not histories
      return responder.Send(Error(400, "model '" + m->name + "' has local_scaler_type=" + ToString(m->config.local_scaler_type) +
                                           ": its statistics come from each series' whole history; send the histories "
                                           "to /v1/forecast"));
    ParsedInfer p;
    try {
      p = ParseInfer(req, m->config, options.default_priority);
    } catch (const BadRequest& e) {
      return responder.Send(Error(400, e.message));
    }
    req.priority = p.priority;
    const std::size_t parts = (static_cast<std::size_t>(p.windows) + std::max(1, m->max_batch_size) - 1) /
                              static_cast<std::size_t>(std::max(1, m->max_batch_size));
    if (const std::string why = CallTooLarge(*m, parts, std::to_string(p.windows) + " windows"); !why.empty())
      return responder.Send(Error(400, why));
    auto call = std::make_shared<InferCall>();
    call->id = std::move(p.id);
    call->model = m->name;
    call->version = m->version;
    call->windows = p.windows;
    call->h = m->config.h;
    call->q = m->config.outputs_per_step();
    call->binary_output = p.binary_output;
    call->responder = std::move(responder);
    const int B = m->max_batch_size, L = m->config.input_size;
    const int n_parts = (p.windows + B - 1) / B;
    call->parts.resize(static_cast<std::size_t>(n_parts));
    call->remaining = n_parts;
    for (int i = 0; i < n_parts; ++i) {
      const int first = i * B, n = std::min(B, p.windows - first);
      ForecastRequest r;
      r.model = m->name;
      r.version = version;  // 0 stays "newest ready": a hot reload may retire m->version meanwhile
      r.expect_local_scaler = LocalScalerType::kNone;  // checked above: windows, not histories
      r.windows = n;
      r.priority = p.priority;
      r.deadline = p.deadline;
      if (n_parts == 1) {
        r.insample = std::move(p.insample);
        r.mask = std::move(p.mask);
        r.hist_exog = std::move(p.hist_exog);
        r.futr_exog = std::move(p.futr_exog);
        r.stat_exog = std::move(p.stat_exog);
      } else {
        const auto at = static_cast<std::ptrdiff_t>(first) * L, len = static_cast<std::ptrdiff_t>(n) * L;
        r.insample.assign(p.insample.begin() + at, p.insample.begin() + at + len);
        if (!p.mask.empty()) r.mask.assign(p.mask.begin() + at, p.mask.begin() + at + len);
        // Exogenous inputs: the same windows, each with its fixed number of values.
        for (auto [src, dst] : {std::pair{&p.hist_exog, &r.hist_exog}, std::pair{&p.futr_exog, &r.futr_exog},
                                std::pair{&p.stat_exog, &r.stat_exog}}) {
          const std::size_t per = src->size() / static_cast<std::size_t>(p.windows);
          dst->assign(src->begin() + static_cast<std::ptrdiff_t>(first * per),
                      src->begin() + static_cast<std::ptrdiff_t>((first + n) * per));
        }
      }
      engine.Submit(std::move(r), [call, i](ForecastResult result) {
        call->parts[static_cast<std::size_t>(i)] = std::move(result);
        if (call->remaining.fetch_sub(1) == 1) call->responder.SendLater([call] { return call->Answer(); });
      });
    }
  }

  // A /v1 series' exogenous columns by name, aligned with its n values: "hist": {"volume": [n
  // values]}, "futr": {"promo": [n + h values]}, "static": {"size": 2.5}; laid out as the
  // engine takes them, the last input_size steps, left-padded with zeros like y.
  static void ExogenousFromJson(const NhitsConfig& c, const json& s, const std::string& id, int n, ForecastRequest* r,
                                UnseenLabels* unseen) {
    const LocalScalerType local = c.local_scaler_type;
    const int L = c.input_size, H = c.h;
    auto columns = [&](const char* key, const std::vector<std::string>& names, int extra, std::vector<float>* dst) {
      if (names.empty()) {
        if (s.contains(key)) throw BadRequest{"series " + id + ": '" + key + "' given, but the model takes none"};
        return;
      }
      if (!s.contains(key) || !s[key].is_object())
        throw BadRequest{"series " + id + ": the model needs '" + key + "': {" + JoinQuoted(names) + "}, each a list of " +
                         (extra ? "len(values) + h" : "len(values)") + " numbers"};
      const int C = static_cast<int>(names.size()), steps = L + extra;
      dst->assign(static_cast<std::size_t>(steps) * C, 0.0f);
      for (int k = 0; k < C; ++k) {
        if (!s[key].contains(names[static_cast<std::size_t>(k)]))
          throw BadRequest{"series " + id + ": '" + key + "' lacks column '" + names[static_cast<std::size_t>(k)] + "'"};
        std::vector<float> v;
        const CategoricalColumn* coded = c.FindCategorical(names[static_cast<std::size_t>(k)]);
        if (coded != nullptr)  // labels (or numbers) -> codes; never scaled
          v = Codes(*coded, s[key][names[static_cast<std::size_t>(k)]], "series " + id + " " + key + " " + coded->name,
                    unseen);
        else
          Flatten(s[key][names[static_cast<std::size_t>(k)]], v, "series " + id + " " + key + " " + names[static_cast<std::size_t>(k)]);
        if (static_cast<int>(v.size()) != n + extra)
          throw BadRequest{"series " + id + ": " + key + " column '" + names[static_cast<std::size_t>(k)] + "' has " +
                           std::to_string(v.size()) + " values; it needs " + std::to_string(n + extra) +
                           (extra ? " (len(values) + h)" : " (len(values))")};
        // Checked here, per series: the engine sees a whole group of series and could not name it.
        for (std::size_t t = 0; t < v.size(); ++t)
          if (!std::isfinite(v[t]))
            throw BadRequest{"series '" + id + "': " + key + " column '" + names[static_cast<std::size_t>(k)] + "' value " +
                             std::to_string(t) + " is beyond the float range"};
        if (local != LocalScalerType::kNone && coded == nullptr) {  // the column's own statistics over its n past values
          const LocalScale ls = FitLocalScale(local, std::vector<double>(v.begin(), v.begin() + n));
          for (float& x : v) x = static_cast<float>(ls.Apply(x));
        }
        for (int t = 0; t < steps; ++t) {
          const int src = n - L + t;  // window step t holds value src of the column
          if (src >= 0) (*dst)[static_cast<std::size_t>(t) * C + k] = v[static_cast<std::size_t>(src)];
        }
      }
    };
    columns("hist", c.hist_exog_list, 0, &r->hist_exog);
    columns("futr", c.futr_exog_list, H, &r->futr_exog);
    if (c.stat_exog_list.empty()) {
      if (s.contains("static")) throw BadRequest{"series " + id + ": 'static' given, but the model takes none"};
      return;
    }
    if (!s.contains("static") || !s["static"].is_object())
      throw BadRequest{"series " + id + ": the model needs 'static': {" + JoinQuoted(c.stat_exog_list) + "}"};
    for (const std::string& col : c.stat_exog_list) {
      if (const CategoricalColumn* coded = c.FindCategorical(col)) {
        if (!s["static"].contains(col))
          throw BadRequest{"series " + id + ": 'static' needs a label for '" + col + "'"};
        r->stat_exog.push_back(Code(*coded, s["static"][col], "series " + id + " static " + col, unseen));
        continue;
      }
      if (!s["static"].contains(col) || !s["static"][col].is_number())
        throw BadRequest{"series " + id + ": 'static' needs a number for '" + col + "'"};
      r->stat_exog.push_back(s["static"][col].get<float>());
      if (!std::isfinite(r->stat_exog.back()))
        throw BadRequest{"series '" + id + "': static '" + col + "' is beyond the float range"};
    }
  }

  // A categorical column's label (a string, or a number such as 3 for the label "3.0") as its
  // code in the model's vocabulary: 0, the unseen code, for a label it lacks, as neuralforecast;
  // such a label (not a null) is added once to `unseen` under its column.
  static float Code(const CategoricalColumn& col, const json& v, const std::string& what, UnseenLabels* unseen) {
    if (v.is_null()) return 0.0f;
    if (!v.is_string() && !v.is_number()) throw BadRequest{what + ": a label must be a string or a number"};
    const std::string label = v.is_string() ? v.get<std::string>() : PythonFloatRepr(v.get<double>());
    const double code = CategoryCode(col, label);
    if (code == 0 && !label.empty()) {
      std::vector<std::string>& seen = (*unseen)[col.name];
      if (std::find(seen.begin(), seen.end(), label) == seen.end()) seen.push_back(label);
    }
    return static_cast<float>(code);
  }
  static std::vector<float> Codes(const CategoricalColumn& col, const json& v, const std::string& what,
                                  UnseenLabels* unseen) {
    if (!v.is_array()) throw BadRequest{what + ": expected a list of labels"};
    std::vector<float> out;
    for (const json& x : v) out.push_back(Code(col, x, what, unseen));
    return out;
  }

  static std::string JoinQuoted(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "\"" : ", \"") + n + "\": ...";
    return out;
  }

  // {"model": "...", "series": [{"id": "...", "values": [...]}], "priority": 1, "timeout_us": 0}
  void Forecast(HttpRequest& req, Responder responder) {
    json j;
    try {
      j = json::parse(req.body);
    } catch (const json::exception& e) {  // parse_error, and out_of_range for numbers beyond double (1e400)
      return responder.Send(Error(400, std::string("malformed JSON: ") + e.what()));
    }
    if (!j.is_object() || !j.contains("series") || !j["series"].is_array() || j["series"].empty())
      return responder.Send(Error(400, "expected {\"series\": [{\"id\": ..., \"values\": [...]}, ...]}"));
    // A misspelt or unsupported key would otherwise be ignored and answered as if absent.
    for (const auto& [key, value] : j.items())
      if (key != "model" && key != "version" && key != "series" && key != "level" && key != "quantiles" &&
          key != "priority" && key != "timeout_us")
        return responder.Send(Error(400, "unknown key '" + key + "' (/v1/forecast takes model, version, series, level, "
                                         "quantiles, priority, timeout_us; the horizon is the model's h)"));
    if ((j.contains("priority") && !IntValue(j["priority"])) ||
        (j.contains("version") && !IntValue(j["version"])) || (j.contains("model") && !j["model"].is_string()))
      return responder.Send(Error(400, "'model' must be a string; 'version' and 'priority' integers within the int range"));
    if (j.contains("timeout_us") && !TimeoutValue(j["timeout_us"]))
      return responder.Send(Error(400, "'timeout_us' must be an integer from 0 to " + std::to_string(kMaxTimeoutUs) +
                                           " (microseconds, at most a day; 0: none)"));
    const std::string name = j.value("model", std::string());
    const int version = j.value("version", 0);
    const std::vector<ModelStatus> models = engine.Models();
    Result<ModelStatus> m = name.empty() && models.size() == 1 ? engine.FindModel(models[0].name, version)
                                                               : engine.FindModel(name, version);
    if (!m.ok()) return responder.Send(Error(m.status()));
    const int L = m->config.input_size;
    auto call = std::make_shared<ForecastCall>();
    call->model = m->name;
    call->version = m->version;
    call->h = m->config.h;
    call->q = m->config.outputs_per_step();
    call->names = m->config.output_names();
    std::vector<double> distribution_levels;  // a DistributionLoss model decoded at other levels
    std::vector<double> quantiles;            // ... or at any quantiles
    if (j.contains("quantiles")) {
      // neuralforecast's predict(quantiles=...): the mean, then each quantile as "_ql<q>".
      constexpr const char* kBadQuantiles = "'quantiles' must be a non-empty list of numbers in (0, 1), e.g. [0.05, 0.5, 0.95]";
      if (!j["quantiles"].is_array() || j["quantiles"].empty()) return responder.Send(Error(400, kBadQuantiles));
      for (const json& q : j["quantiles"]) {
        if (!q.is_number()) return responder.Send(Error(400, std::string(kBadQuantiles) + "; got " + q.dump()));
        quantiles.push_back(q.get<double>());
      }
      if (Status v = ValidateQuantiles(quantiles); !v.ok()) return responder.Send(Error(400, "'quantiles': " + v.message()));
      if (j.contains("level")) return responder.Send(Error(400, "'level' and 'quantiles' cannot be combined (as in neuralforecast)"));
      if (!m->config.distribution_loss())
        return responder.Send(Error(400, "'quantiles' needs a DistributionLoss model; model '" + m->name + "' is trained with " +
                                         ToString(m->config.loss) +
                                         (m->config.outputs_per_step() > 1 ? " and answers its own quantiles without it"
                                                                           : " (for intervals around its forecast: 'level' with conformity scores)")));
      call->names = QuantileColumnSuffixes(m->config, quantiles);
      call->q = static_cast<int>(call->names.size());
    }
    if (j.contains("level")) {
      constexpr const char* kBadLevel = "'level' must be a non-empty list of numbers in (0, 100), e.g. [80, 90] or [97.5]";
      if (!j["level"].is_array() || j["level"].empty()) return responder.Send(Error(400, kBadLevel));
      for (const json& l : j["level"]) {
        if (!l.is_number() || !(l.get<double>() > 0 && l.get<double>() < 100)) return responder.Send(Error(400, kBadLevel));
        call->levels.push_back(l.get<double>());
      }
      if (m->config.distribution_loss()) {
        // The distribution has every quantile: the same parameters at these levels, with the
        // columns of the model trained at them (the mean, the median, -lo-/-hi- per level).
        NhitsConfig as = m->config;
        as.level = SortedLevels(call->levels);
        if (Status v = as.Validate(); !v.ok()) return responder.Send(Error(400, "'level': " + v.message()));
        distribution_levels = as.level;
        call->levels.clear();  // not conformal intervals
        call->q = as.outputs_per_step();
        call->names = as.output_names();
      } else if (call->q != 1) {  // checked first: such a model has no scores by design, and says so
        std::string columns;
        for (const std::string& n : call->names) columns += (columns.empty() ? "NHITS" : ", NHITS") + n;
        return responder.Send(Error(400, "'level' asks for conformal intervals around a point forecast; model '" + m->name +
                                         "' forecasts its own levels, and every answer carries them without 'level': " +
                                         columns));
      }
      if (distribution_levels.empty()) {
        if (!m->conformal)
          return responder.Send(Error(400, "model '" + m->name + "' has no conformity scores for 'level': train it with "
                                           "`nhits train --prediction-intervals N`"));
        call->conformal = m->conformal;
        if (m->config.local_scaler_type != LocalScalerType::kNone)
          return responder.Send(Error(400, "'level' is not supported for a model with local_scaler_type (see docs/INTEROP.md)"));
      }
    }
    std::vector<ForecastRequest> requests;
    for (const json& s : j["series"]) {
      if (!s.is_object() || !s.contains("values") || !s["values"].is_array() || s["values"].empty())
        return responder.Send(Error(400, "every series needs a non-empty 'values' list"));
      const std::string id = s.contains("id") ? (s["id"].is_string() ? s["id"].get<std::string>() : s["id"].dump())
                                              : std::to_string(call->ids.size());
      for (const auto& [key, value] : s.items())
        if (key != "id" && key != "values" && key != "hist" && key != "futr" && key != "static")
          return responder.Send(Error(400, "series '" + id + "': unknown key '" + key + "' (a series takes id, values, "
                                           "and the model's hist, futr and static columns)"));
      // Checked before any compute: a request refused after its forecast ran would count as served.
      if (call->conformal && !call->conformal->by_series.count(id))
        return responder.Send(Error(400, "series '" + id + "' has no conformity scores for 'level': they were calibrated "
                                         "per training series, so 'id' must be one of its unique_id values" +
                                         (call->conformal->by_series.empty()
                                              ? std::string(" (this model's scores hold none)")
                                              : " (e.g. '" + call->conformal->by_series.begin()->first + "')")));
      std::vector<float> values, observed;
      try {
        SeriesValues(s["values"], id, &values, &observed);
      } catch (const BadRequest& e) {
        return responder.Send(Error(400, e.message));
      }
      // NeuralForecast(local_scaler_type=...): the values are the series' history, scaled over all
      // of it (its observed points) as neuralforecast's predict(df=...) scales each series; the
      // answer is scaled back.
      if (m->config.local_scaler_type != LocalScalerType::kNone) {
        std::vector<double> seen;
        for (std::size_t t = 0; t < values.size(); ++t)
          if (observed[t] != 0) seen.push_back(values[t]);
        call->local.push_back(FitLocalScale(m->config.local_scaler_type, seen));
        // Filled values are scaled with the rest; those before the first observation stay 0, as padding.
        const std::size_t first = static_cast<std::size_t>(
            std::find(observed.begin(), observed.end(), 1.0f) - observed.begin());
        for (std::size_t t = first; t < values.size(); ++t)
          values[t] = static_cast<float>(call->local.back().Apply(values[t]));
      }
      ForecastRequest r;
      r.model = m->name;
      r.version = version;
      r.series_id = id;
      r.expect_local_scaler = m->config.local_scaler_type;  // the scaling above holds for this setting only
      r.levels = distribution_levels;
      r.quantiles = quantiles;
      r.priority = j.value("priority", 0);
      if (r.priority == 0) r.priority = options.default_priority;  // none, or 0: the default level
      const long long timeout = j.value("timeout_us", 0LL);
      if (timeout > 0) r.deadline = Clock::now() + std::chrono::microseconds(timeout);
      // The last input_size values; shorter series are left-padded and masked, as neuralforecast does.
      const int n = static_cast<int>(values.size());
      r.insample.assign(static_cast<std::size_t>(L), 0.0f);
      r.mask.assign(static_cast<std::size_t>(L), 0.0f);
      for (int t = 0; t < L; ++t) {
        const int src = n - L + t;
        if (src >= 0)
          r.insample[static_cast<std::size_t>(t)] = values[static_cast<std::size_t>(src)],
          r.mask[static_cast<std::size_t>(t)] = observed[static_cast<std::size_t>(src)];
      }
      UnseenLabels unseen;
      try {
        ExogenousFromJson(m->config, s, id, n, &r, &unseen);
      } catch (const BadRequest& e) {
        return responder.Send(Error(400, e.message));
      }
      call->unseen.push_back(std::move(unseen));
      call->ids.push_back(id);
      call->padded.push_back(std::max(L - n, 0));
      requests.push_back(std::move(r));
    }
    std::vector<ForecastRequest> grouped = GroupWindows(std::move(requests), std::max(1, m->max_batch_size), &call->where);
    if (const std::string why = CallTooLarge(*m, grouped.size(), std::to_string(call->ids.size()) + " series");
        !why.empty())
      return responder.Send(Error(400, why));
    call->results.resize(grouped.size());
    call->remaining = static_cast<int>(grouped.size());
    call->responder = std::move(responder);
    for (std::size_t i = 0; i < grouped.size(); ++i)
      engine.Submit(std::move(grouped[i]), [call, i](ForecastResult result) {
        call->results[i] = std::move(result);
        if (call->remaining.fetch_sub(1) == 1) call->responder.SendLater([call] { return call->Answer(); });
      });
  }

  // A /v1 series' values: numbers, or null for a missing point (observed 0: masked, as
  // neuralforecast's available_mask). The model's first block still reads a missing point's value,
  // so it takes the last observed value, as `nhits predict` fills an available_mask 0 (0 before
  // the first observed one, as padding). Positions in messages are the caller's.
  static void SeriesValues(const json& v, const std::string& id, std::vector<float>* values, std::vector<float>* observed) {
    float last = 0.0f;
    for (std::size_t t = 0; t < v.size(); ++t) {
      const json& x = v[t];
      if (x.is_null()) {
        values->push_back(last);
        observed->push_back(0.0f);
        continue;
      }
      if (!x.is_number())
        throw BadRequest{"series '" + id + "': values[" + std::to_string(t) + "] is " + x.dump() +
                         ", not a number (null marks a missing point)"};
      const double d = x.get<double>();
      if (!std::isfinite(static_cast<float>(d)))
        throw BadRequest{"series '" + id + "': values[" + std::to_string(t) + "] = " + x.dump() +
                         " is beyond the float range (about 3.4e38)"};
      values->push_back(last = static_cast<float>(d));
      observed->push_back(1.0f);
    }
    if (std::all_of(observed->begin(), observed->end(), [](float o) { return o == 0; }))
      throw BadRequest{"series '" + id + "': every value is null"};
  }

  // Consecutive single-window requests merged into requests of up to `max_windows` windows (the
  // same model, priority and deadline); where[i] = (request, window) of input i.
  static std::vector<ForecastRequest> GroupWindows(std::vector<ForecastRequest> singles, int max_windows,
                                                   std::vector<std::pair<std::size_t, std::size_t>>* where) {
    std::vector<ForecastRequest> out;
    for (std::size_t i = 0; i < singles.size(); ++i) {
      ForecastRequest& one = singles[i];
      if (out.empty() || out.back().windows >= max_windows) {
        out.push_back(std::move(one));
        where->emplace_back(out.size() - 1, 0);
        continue;
      }
      ForecastRequest& g = out.back();
      where->emplace_back(out.size() - 1, static_cast<std::size_t>(g.windows));
      g.windows += 1;
      if (!g.series_id.empty()) g.series_id += ",";
      g.series_id += one.series_id;
      for (auto [to, from] : {std::pair{&g.insample, &one.insample}, std::pair{&g.mask, &one.mask},
                              std::pair{&g.hist_exog, &one.hist_exog}, std::pair{&g.futr_exog, &one.futr_exog},
                              std::pair{&g.stat_exog, &one.stat_exog}})
        to->insert(to->end(), from->begin(), from->end());
    }
    return out;
  }

  HttpResponse Stats() {
    const PerformanceStats st = engine.GetPerformanceStats();
    json alerts = json::array();
    for (const auto& a : st.alerts) alerts.push_back({{"name", a.name}, {"value", a.value}, {"level", a.level}});
    json batches = json::object();
    for (const auto& [size, n] : st.batch_sizes) batches[std::to_string(size)] = n;
    json by_priority = json::object();
    for (const auto& [level, p] : st.end_to_end_us_by_priority) by_priority[std::to_string(level)] = PercentilesJson(p);
    return Json({{"success", st.success},
                 {"failures", st.failures},
                 {"queue_us", PercentilesJson(st.queue_us)},
                 {"compute_us", PercentilesJson(st.compute_us)},
                 {"end_to_end_us", PercentilesJson(st.end_to_end_us)},
                 {"end_to_end_us_by_priority", by_priority},
                 {"batch_sizes", batches},
                 {"cache", {{"hits", st.cache_hits}, {"misses", st.cache_misses}, {"evictions", st.cache_evictions},
                            {"expired", st.cache_expired}, {"bytes", st.cache_bytes}, {"entries", st.cache_entries}}},
                 {"queue_depth", st.queue_depth},
                 {"memory_bytes", st.memory_bytes},
                 {"utilisation", st.utilisation},
                 {"alerts", alerts},
                 {"scaling", {{"recommendation", st.scaling}, {"reason", st.scaling_reason}}}});
  }

  HttpResponse RepositoryIndex() {
    json out = json::array();
    for (const ModelStatus& m : engine.Models())
      out.push_back({{"name", m.name}, {"version", std::to_string(m.version)}, {"state", m.ready ? "READY" : "UNAVAILABLE"}});
    for (const std::string& n : repo.Index()) {
      bool loaded = false;
      for (const auto& e : out) loaded = loaded || e["name"] == n;
      if (!loaded) {
        const std::string error = repo.LoadError(n);
        out.push_back({{"name", n}, {"state", "UNAVAILABLE"}, {"reason", error.empty() ? "unloaded" : "load failed: " + error}});
      }
    }
    return Json(out);
  }

  // Routes one request. Runs on an I/O thread: anything slow goes to the control worker, and
  // forecasts are answered by the engine's callback.
  void Handle(HttpRequest& req, Responder responder) {
    std::vector<std::string> p;
    if (!SplitPath(req.path, &p)) return responder.Send(Error(400, "malformed percent-escape in " + req.path));
    const bool get = req.method == "GET", post = req.method == "POST";
    const std::size_t n = p.size();
    bool known_path = false;  // a route exists for another method: 405 instead of 404
    auto route = [&](bool method_ok) {
      known_path = true;
      return method_ok;
    };
    if (n >= 1 && p[0] == "v2") {
      if (n == 1 && route(get))
        return responder.Send(Json({{"name", "nhits-engine"},
                                    {"version", "0.1.0"},
                                    {"extensions", {"binary_tensor_data", "model_repository", "statistics"}}}));
      if (n == 3 && p[1] == "health" && (p[2] == "live" || p[2] == "ready") && route(get)) {
        const bool ok = p[2] == "live" ? engine.Live() : engine.Ready();
        return responder.Send(Json({{p[2], ok}}, ok ? 200 : 503));
      }
      if (n == 2 && p[1] == "stats" && route(get)) return responder.Send(Stats());
      if (n == 3 && p[1] == "models" && p[2] == "stats" && route(get)) return responder.Send(Json(ModelStatistics(engine.Models())));
      if (n >= 3 && p[1] == "models" && !p[2].empty()) {
        // /v2/models/{m}[/versions/{v}][/ready|/infer]
        std::size_t at = 3;
        int version = 0;
        if (n >= 5 && p[3] == "versions") {
          const std::string& v = p[4];
          if (v.empty() || v.size() > 9 || !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }))
            return responder.Send(Error(400, "model version '" + v + "' is not a number"));
          version = std::stoi(v);
          at = 5;
        }
        const std::string& model = p[2];
        if (n == at && route(get)) {
          Result<ModelStatus> m = engine.FindModel(model, version);
          if (!m.ok()) return responder.Send(Error(m.status()));
          return responder.Send(Json(ModelMetadata(engine, *m)));
        }
        if (n == at + 1 && p[at] == "stats" && route(get)) {
          Result<ModelStatus> m = engine.FindModel(model, version);
          if (!m.ok()) return responder.Send(Error(m.status()));
          std::vector<ModelStatus> chosen;
          for (const ModelStatus& s : engine.Models())
            if (s.name == model && (version == 0 || s.version == version)) chosen.push_back(s);
          return responder.Send(Json(ModelStatistics(chosen)));
        }
        if (n == at + 1 && p[at] == "config" && route(get)) {
          Result<ModelStatus> m = engine.FindModel(model, version);
          if (!m.ok()) return responder.Send(Error(m.status()));
          return responder.Send(Json(ModelConfig(*m, options.default_priority)));
        }
        if (n == at + 1 && p[at] == "ready" && route(get)) {
          const bool ready = engine.ModelReady(model, version);
          // KServe v2: false is a 4xx. 404 when no such model (or version) is served at all.
          const bool known = ready || engine.FindModel(model, version).ok();
          return responder.Send(Json({{"name", model}, {"ready", ready}}, ready ? 200 : known ? 400 : 404));
        }
        if (n == at + 1 && p[at] == "infer" && route(post)) return Infer(req, std::move(responder), model, version);
      }
      if (n == 3 && p[1] == "repository" && p[2] == "index" && route(post)) return responder.Send(RepositoryIndex());
      if (n == 5 && p[1] == "repository" && p[2] == "models" && (p[4] == "load" || p[4] == "unload") && route(post)) {
        if (const std::string why = RepositoryBodyError(req.body, p[4] == "load"); !why.empty())
          return responder.Send(Error(400, why));
        auto shared = std::make_shared<Responder>(std::move(responder));
        control.Post([this, shared, model = p[3], load = p[4] == "load"] {
          const Status st = load ? repo.Load(model) : repo.Unload(model);
          shared->Send(st.ok() ? Json(json::object()) : Error(st));
        });
        return;
      }
    } else if (n == 2 && p[0] == "v1" && p[1] == "forecast" && route(post)) {
      return Forecast(req, std::move(responder));
    } else if (n == 1 && p[0] == "metrics" && route(get)) {
      HttpResponse r;
      r.content_type = "text/plain; version=0.0.4; charset=utf-8";
      r.body = engine.PrometheusMetrics();
      // What clients saw, client errors included (the engine counts only the requests it got).
      r.body += "# HELP nhits_http_responses_total HTTP responses sent, by status code\n"
                "# TYPE nhits_http_responses_total counter\n";
      for (const auto& [code, count] : server->ResponsesByStatus())
        r.body += "nhits_http_responses_total{code=\"" + std::to_string(code) + "\"} " + std::to_string(count) + "\n";
      return responder.Send(std::move(r));
    }
    if (known_path) return responder.Send(Error(405, "method " + req.method + " is not allowed on " + req.path));
    responder.Send(Error(404, "no route for " + req.method + " " + req.path));
  }
};

HttpServer::HttpServer(Engine& engine, ModelRepository& repository, HttpOptions options)
    : impl_(std::make_unique<Impl>(engine, repository, std::move(options))) {
  const HttpOptions& o = impl_->options;
  EventLoopOptions e;
  e.host = o.host;
  e.port = o.port;
  e.loops = std::max(1, o.io_threads);
  e.max_connections = std::max(1, o.max_connections);
  e.max_body_bytes = o.max_body_bytes;
  e.read_timeout = std::chrono::milliseconds(static_cast<long long>(o.read_timeout_s * 1000));
  e.write_timeout = std::chrono::milliseconds(static_cast<long long>(o.write_timeout_s * 1000));
  e.keep_alive_timeout = std::chrono::milliseconds(static_cast<long long>(o.keep_alive_timeout_s * 1000));
  Impl* impl = impl_.get();
  impl_->server = std::make_unique<EventLoopServer>(e, [impl](HttpRequest& req, Responder responder) {
    // Unanswered Responders answer 500 themselves; this keeps the loop alive and leaves a trace
    // for the operator (the client only sees "not answered").
    try {
      impl->Handle(req, std::move(responder));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "nhits serve: internal error in %s %s: %s\n", req.method.c_str(), req.path.c_str(), e.what());
    } catch (...) {
      std::fprintf(stderr, "nhits serve: internal error in %s %s (unknown exception)\n", req.method.c_str(), req.path.c_str());
    }
  });
}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Listen(const std::function<void(int)>& on_bound) {
  if (Status s = impl_->server->Bind(); !s.ok()) return s;
  if (on_bound) on_bound(impl_->server->port());
  return impl_->server->Run();
}

void HttpServer::Stop() { impl_->server->Stop(); }

}  // namespace nhits::serve
