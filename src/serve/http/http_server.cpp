#include "serve/http/http_server.h"

#include <httplib.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

namespace nhits::serve {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kHeaderLength = "Inference-Header-Content-Length";

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

void Error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(json{{"error", message}}.dump(), "application/json");
}

void Error(httplib::Response& res, const Status& s) { Error(res, HttpStatusOf(s), s.ToString()); }

void Json(httplib::Response& res, const json& j, int status = 200) {
  res.status = status;
  res.set_content(j.dump(), "application/json");
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
  int priority = 1;
  std::optional<SteadyTime> deadline;
  bool binary_output = false;
};

ParsedInfer ParseInfer(const httplib::Request& req, int input_size) {
  std::size_t header_len = req.body.size();
  if (req.has_header(kHeaderLength)) {
    const std::string v = req.get_header_value(kHeaderLength);
    char* end = nullptr;
    const unsigned long long n = std::strtoull(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || n > req.body.size())
      throw BadRequest{std::string(kHeaderLength) + " '" + v + "' is not a length within the " +
                       std::to_string(req.body.size()) + "-byte body"};
    header_len = static_cast<std::size_t>(n);
  }
  json j;
  try {
    j = json::parse(req.body.begin(), req.body.begin() + static_cast<std::ptrdiff_t>(header_len));
  } catch (const json::parse_error& e) {
    throw BadRequest{std::string("malformed JSON: ") + e.what()};
  }
  if (!j.is_object()) throw BadRequest{"the request body must be a JSON object"};
  ParsedInfer p;
  if (j.contains("id")) p.id = j["id"].is_string() ? j["id"].get<std::string>() : j["id"].dump();
  if (j.contains("parameters")) {
    const json& params = j["parameters"];
    if (!params.is_object()) throw BadRequest{"'parameters' must be an object"};
    if (params.contains("priority")) {
      if (!params["priority"].is_number_integer()) throw BadRequest{"parameter 'priority' must be an integer"};
      p.priority = params["priority"].get<int>();
      if (p.priority == 0) p.priority = 1;  // Triton: 0 means the default level
    }
    if (params.contains("timeout")) {
      if (!params["timeout"].is_number_integer() || params["timeout"].get<long long>() < 0)
        throw BadRequest{"parameter 'timeout' must be a non-negative integer (microseconds)"};
      const long long us = params["timeout"].get<long long>();
      if (us > 0) p.deadline = Clock::now() + std::chrono::microseconds(us);
    }
    if (params.contains("binary_data_output") && params["binary_data_output"].is_boolean())
      p.binary_output = params["binary_data_output"].get<bool>();
  }
  if (!j.contains("inputs") || !j["inputs"].is_array() || j["inputs"].empty())
    throw BadRequest{"'inputs' must be a non-empty list (insample_y, optionally insample_mask)"};
  std::size_t binary_at = header_len;
  bool have_y = false, have_mask = false;
  std::vector<std::int64_t> y_shape;
  for (const json& in : j["inputs"]) {
    if (!in.is_object() || !in.contains("name") || !in["name"].is_string())
      throw BadRequest{"every input needs a string 'name'"};
    const std::string name = in["name"].get<std::string>();
    if (name != "insample_y" && name != "insample_mask")
      throw BadRequest{"unknown input '" + name + "' (expected insample_y and optionally insample_mask)"};
    if (!in.contains("datatype") || in["datatype"] != "FP32")
      throw BadRequest{"input '" + name + "' has datatype " + (in.contains("datatype") ? in["datatype"].dump() : "none") +
                       "; only FP32 is accepted"};
    if (!in.contains("shape") || !in["shape"].is_array() || in["shape"].size() != 2)
      throw BadRequest{"input '" + name + "' needs shape [batch, " + std::to_string(input_size) + "]"};
    std::vector<std::int64_t> shape;
    for (const json& d : in["shape"]) {
      if (!d.is_number_integer() || d.get<long long>() < 1) throw BadRequest{"input '" + name + "': shape " + in["shape"].dump() + " has a non-positive dimension"};
      shape.push_back(d.get<std::int64_t>());
    }
    if (shape[1] != input_size)
      throw BadRequest{"input '" + name + "' has shape " + in["shape"].dump() + "; this model needs [batch, " +
                       std::to_string(input_size) + "]"};
    if (shape[0] > 1'000'000) throw BadRequest{"input '" + name + "': batch " + std::to_string(shape[0]) + " is too large"};
    const std::size_t numel = static_cast<std::size_t>(shape[0] * shape[1]);
    std::vector<float>& dst = name == "insample_y" ? p.insample : p.mask;
    dst.clear();
    if (in.contains("parameters") && in["parameters"].is_object() && in["parameters"].contains("binary_data_size")) {
      const json& sz = in["parameters"]["binary_data_size"];
      if (!sz.is_number_integer() || sz.get<long long>() != static_cast<long long>(numel * sizeof(float)))
        throw BadRequest{"input '" + name + "': binary_data_size must be " + std::to_string(numel * sizeof(float)) +
                         " for shape " + in["shape"].dump() + " FP32"};
      if (binary_at + numel * sizeof(float) > req.body.size())
        throw BadRequest{"input '" + name + "': the body ends before its binary data"};
      dst.resize(numel);
      std::memcpy(dst.data(), req.body.data() + binary_at, numel * sizeof(float));
      binary_at += numel * sizeof(float);
    } else {
      if (!in.contains("data")) throw BadRequest{"input '" + name + "' has neither 'data' nor binary_data_size"};
      Flatten(in["data"], dst, name);
      if (dst.size() != numel)
        throw BadRequest{"input '" + name + "' has " + std::to_string(dst.size()) + " values for shape " +
                         in["shape"].dump() + " (" + std::to_string(numel) + ")"};
    }
    for (std::size_t i = 0; i < dst.size(); ++i)
      if (!std::isfinite(dst[i]))
        throw BadRequest{"input '" + name + "' value " + std::to_string(i) + " is not finite; mark missing points in insample_mask"};
    if (name == "insample_y") {
      have_y = true;
      y_shape = shape;
    } else {
      have_mask = true;
    }
  }
  if (!have_y) throw BadRequest{"input 'insample_y' is required"};
  if (have_mask && p.mask.size() != p.insample.size()) throw BadRequest{"insample_mask and insample_y differ in shape"};
  p.windows = static_cast<int>(y_shape[0]);
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
  return {{"name", m.name},
          {"versions", versions},
          {"platform", "nhits"},
          {"inputs",
           {{{"name", "insample_y"}, {"datatype", "FP32"}, {"shape", {-1, L}}},
            {{"name", "insample_mask"}, {"datatype", "FP32"}, {"shape", {-1, L}}}}},
          {"outputs", {{{"name", "forecast"}, {"datatype", "FP32"}, {"shape", {-1, H, Q}}}}},
          {"parameters",
           {{"h", H}, {"input_size", L}, {"output_names", m.config.output_names()}, {"precision", m.precision},
            {"max_batch_size", m.max_batch_size}, {"priority_levels", m.priority_levels}}}};
}

json PercentilesJson(const Percentiles& p) {
  return {{"count", p.count}, {"mean", p.mean}, {"p50", p.p50}, {"p95", p.p95},
          {"p99", p.p99},     {"p999", p.p999}, {"max", p.max}};
}

}  // namespace

struct HttpServer::Impl {
  Engine& engine;
  ModelRepository& repo;
  HttpOptions options;
  httplib::Server server;

  Impl(Engine& e, ModelRepository& r, HttpOptions o) : engine(e), repo(r), options(std::move(o)) {}

  // Runs one request's windows through the engine in chunks of at most max_batch_size.
  Result<std::vector<float>> Run(const ModelStatus& m, ParsedInfer& p) {
    const int L = m.config.input_size;
    const std::size_t HQ = static_cast<std::size_t>(m.config.h) * m.config.outputs_per_step();
    std::vector<std::future<ForecastResult>> parts;
    for (int b = 0; b < p.windows; b += m.max_batch_size) {
      const int n = std::min(m.max_batch_size, p.windows - b);
      ForecastRequest r;
      r.model = m.name;
      r.version = m.version;
      r.windows = n;
      r.priority = p.priority;
      r.deadline = p.deadline;
      const std::size_t at = static_cast<std::size_t>(b) * L, len = static_cast<std::size_t>(n) * L;
      r.insample.assign(p.insample.begin() + static_cast<std::ptrdiff_t>(at), p.insample.begin() + static_cast<std::ptrdiff_t>(at + len));
      if (!p.mask.empty())
        r.mask.assign(p.mask.begin() + static_cast<std::ptrdiff_t>(at), p.mask.begin() + static_cast<std::ptrdiff_t>(at + len));
      parts.push_back(engine.Submit(std::move(r)));
    }
    std::vector<float> out;
    out.reserve(static_cast<std::size_t>(p.windows) * HQ);
    Status first_error;
    for (auto& f : parts) {
      ForecastResult r = f.get();
      if (!r.status.ok() && first_error.ok()) first_error = r.status;
      out.insert(out.end(), r.forecast.begin(), r.forecast.end());
    }
    if (!first_error.ok()) return first_error;
    return out;
  }

  void Infer(const httplib::Request& req, httplib::Response& res) {
    const std::string name = req.matches[1];
    const int version = req.matches[2].matched ? std::stoi(req.matches[2]) : 0;
    Result<ModelStatus> m = engine.FindModel(name, version);
    if (!m.ok()) return Error(res, m.status());
    ParsedInfer p;
    try {
      p = ParseInfer(req, m->config.input_size);
    } catch (const BadRequest& e) {
      return Error(res, 400, e.message);
    }
    Result<std::vector<float>> out = Run(*m, p);
    if (!out.ok()) return Error(res, out.status());
    json output = {{"name", "forecast"}, {"datatype", "FP32"}, {"shape", {p.windows, m->config.h, m->config.outputs_per_step()}}};
    json body = {{"model_name", m->name}, {"model_version", std::to_string(m->version)}};
    if (!p.id.empty()) body["id"] = p.id;
    if (!p.binary_output) {
      output["data"] = *out;
      body["outputs"] = json::array({output});
      return Json(res, body);
    }
    output["parameters"] = {{"binary_data_size", out->size() * sizeof(float)}};
    body["outputs"] = json::array({output});
    std::string text = body.dump();
    const std::size_t header = text.size();
    text.append(reinterpret_cast<const char*>(out->data()), out->size() * sizeof(float));
    res.set_header(kHeaderLength, std::to_string(header));
    res.set_content(text, "application/octet-stream");
  }

  // {"model": "...", "series": [{"id": "...", "values": [...]}], "priority": 1, "timeout_us": 0}
  void Forecast(const httplib::Request& req, httplib::Response& res) {
    json j;
    try {
      j = json::parse(req.body);
    } catch (const json::parse_error& e) {
      return Error(res, 400, std::string("malformed JSON: ") + e.what());
    }
    if (!j.is_object() || !j.contains("series") || !j["series"].is_array() || j["series"].empty())
      return Error(res, 400, "expected {\"series\": [{\"id\": ..., \"values\": [...]}, ...]}");
    const std::string name = j.value("model", std::string());
    const int version = j.value("version", 0);
    Result<ModelStatus> m = name.empty() && engine.Models().size() == 1 ? engine.FindModel(engine.Models()[0].name, version)
                                                                        : engine.FindModel(name, version);
    if (!m.ok()) return Error(res, m.status());
    const int L = m->config.input_size;
    std::vector<std::future<ForecastResult>> futures;
    std::vector<std::string> ids;
    for (const json& s : j["series"]) {
      if (!s.is_object() || !s.contains("values") || !s["values"].is_array() || s["values"].empty())
        return Error(res, 400, "every series needs a non-empty 'values' list");
      const std::string id = s.contains("id") ? (s["id"].is_string() ? s["id"].get<std::string>() : s["id"].dump()) : std::to_string(ids.size());
      std::vector<float> values;
      try {
        Flatten(s["values"], values, "series " + id);
      } catch (const BadRequest& e) {
        return Error(res, 400, e.message);
      }
      ForecastRequest r;
      r.model = m->name;
      r.version = m->version;
      r.series_id = id;
      r.priority = j.value("priority", 1);
      const long long timeout = j.value("timeout_us", 0LL);
      if (timeout > 0) r.deadline = Clock::now() + std::chrono::microseconds(timeout);
      // The last input_size values; shorter series are left-padded and masked, as neuralforecast does.
      const int n = static_cast<int>(values.size());
      r.insample.assign(static_cast<std::size_t>(L), 0.0f);
      r.mask.assign(static_cast<std::size_t>(L), 0.0f);
      for (int t = 0; t < L; ++t) {
        const int src = n - L + t;
        if (src >= 0) r.insample[static_cast<std::size_t>(t)] = values[static_cast<std::size_t>(src)], r.mask[static_cast<std::size_t>(t)] = 1.0f;
      }
      ids.push_back(id);
      futures.push_back(engine.Submit(std::move(r)));
    }
    nlohmann::ordered_json forecasts = nlohmann::ordered_json::array();  // columns in output order
    const auto names = m->config.output_names();
    const int H = m->config.h, Q = m->config.outputs_per_step();
    for (std::size_t i = 0; i < futures.size(); ++i) {
      ForecastResult r = futures[i].get();
      if (!r.status.ok()) return Error(res, HttpStatusOf(r.status), "series '" + ids[i] + "': " + r.status.ToString());
      nlohmann::ordered_json f = {{"id", ids[i]}, {"cache_hit", r.cache_hit}};
      for (int q = 0; q < Q; ++q) {
        std::vector<float> col(static_cast<std::size_t>(H));
        for (int h = 0; h < H; ++h) col[static_cast<std::size_t>(h)] = r.forecast[static_cast<std::size_t>(h * Q + q)];
        f["NHITS" + names[static_cast<std::size_t>(q)]] = col;
      }
      forecasts.push_back(f);
    }
    const nlohmann::ordered_json body = {{"model", m->name}, {"version", m->version}, {"h", H}, {"forecasts", forecasts}};
    res.set_content(body.dump(), "application/json");
  }

  void Stats(httplib::Response& res) {
    const PerformanceStats st = engine.GetPerformanceStats();
    json alerts = json::array();
    for (const auto& a : st.alerts) alerts.push_back({{"name", a.name}, {"value", a.value}, {"level", a.level}});
    json batches = json::object();
    for (const auto& [size, n] : st.batch_sizes) batches[std::to_string(size)] = n;
    Json(res, {{"success", st.success},
               {"failures", st.failures},
               {"queue_us", PercentilesJson(st.queue_us)},
               {"compute_us", PercentilesJson(st.compute_us)},
               {"end_to_end_us", PercentilesJson(st.end_to_end_us)},
               {"batch_sizes", batches},
               {"cache", {{"hits", st.cache_hits}, {"misses", st.cache_misses}, {"evictions", st.cache_evictions},
                          {"expired", st.cache_expired}, {"bytes", st.cache_bytes}, {"entries", st.cache_entries}}},
               {"queue_depth", st.queue_depth},
               {"memory_bytes", st.memory_bytes},
               {"utilisation", st.utilisation},
               {"alerts", alerts},
               {"scaling", {{"recommendation", st.scaling}, {"reason", st.scaling_reason}}}});
  }

  void Routes() {
    auto& s = server;
    s.Get("/v2/health/live", [this](const httplib::Request&, httplib::Response& res) {
      Json(res, {{"live", engine.Live()}}, engine.Live() ? 200 : 503);
    });
    s.Get("/v2/health/ready", [this](const httplib::Request&, httplib::Response& res) {
      Json(res, {{"ready", engine.Ready()}}, engine.Ready() ? 200 : 503);
    });
    s.Get("/v2", [](const httplib::Request&, httplib::Response& res) {
      Json(res, {{"name", "nhits-engine"},
                 {"version", "0.1.0"},
                 {"extensions", {"binary_tensor_data", "model_repository", "statistics"}}});
    });
    s.Get(R"(/v2/models/([^/]+)(?:/versions/([0-9]+))?)", [this](const httplib::Request& req, httplib::Response& res) {
      Result<ModelStatus> m = engine.FindModel(req.matches[1], req.matches[2].matched ? std::stoi(req.matches[2]) : 0);
      if (!m.ok()) return Error(res, m.status());
      Json(res, ModelMetadata(engine, *m));
    });
    s.Get(R"(/v2/models/([^/]+)(?:/versions/([0-9]+))?/ready)", [this](const httplib::Request& req, httplib::Response& res) {
      const bool ready = engine.ModelReady(req.matches[1], req.matches[2].matched ? std::stoi(req.matches[2]) : 0);
      Json(res, {{"name", std::string(req.matches[1])}, {"ready", ready}}, ready ? 200 : 503);
    });
    s.Post(R"(/v2/models/([^/]+)(?:/versions/([0-9]+))?/infer)",
           [this](const httplib::Request& req, httplib::Response& res) { Infer(req, res); });
    s.Post("/v1/forecast", [this](const httplib::Request& req, httplib::Response& res) { Forecast(req, res); });
    s.Get("/v2/stats", [this](const httplib::Request&, httplib::Response& res) { Stats(res); });
    s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(engine.PrometheusMetrics(), "text/plain; version=0.0.4; charset=utf-8");
    });
    s.Post("/v2/repository/index", [this](const httplib::Request&, httplib::Response& res) {
      json out = json::array();
      for (const ModelStatus& m : engine.Models())
        out.push_back({{"name", m.name}, {"version", std::to_string(m.version)}, {"state", m.ready ? "READY" : "UNAVAILABLE"}});
      for (const std::string& n : repo.Index()) {
        bool loaded = false;
        for (const auto& e : out) loaded = loaded || e["name"] == n;
        if (!loaded) out.push_back({{"name", n}, {"state", "UNAVAILABLE"}, {"reason", "unloaded"}});
      }
      Json(res, out);
    });
    s.Post(R"(/v2/repository/models/([^/]+)/load)", [this](const httplib::Request& req, httplib::Response& res) {
      const Status st = repo.Load(req.matches[1]);
      if (!st.ok()) return Error(res, st);
      Json(res, json::object());
    });
    s.Post(R"(/v2/repository/models/([^/]+)/unload)", [this](const httplib::Request& req, httplib::Response& res) {
      const Status st = repo.Unload(req.matches[1]);
      if (!st.ok()) return Error(res, st);
      Json(res, json::object());
    });
    s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return;
      const std::string why = res.status == 413   ? "request body larger than the server's limit"
                              : res.status == 404 ? "no route for " + req.method + " " + req.path
                                                  : "HTTP " + std::to_string(res.status);
      res.set_content(json{{"error", why}}.dump(), "application/json");
    });
    s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
      std::string what = "unknown error";
      try {
        std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      Error(res, 500, "internal error: " + what);
    });
  }
};

HttpServer::HttpServer(Engine& engine, ModelRepository& repository, HttpOptions options)
    : impl_(std::make_unique<Impl>(engine, repository, std::move(options))) {
  auto& s = impl_->server;
  const int threads = std::max(1, impl_->options.io_threads);
  s.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<std::size_t>(threads)); };
  s.set_payload_max_length(impl_->options.max_body_bytes);
  s.set_read_timeout(impl_->options.read_timeout_s, 0);
  s.set_write_timeout(impl_->options.write_timeout_s, 0);
  s.set_keep_alive_timeout(impl_->options.keep_alive_timeout_s);
  s.set_keep_alive_max_count(100000);
  s.set_tcp_nodelay(true);  // small responses must not wait for delayed ACKs (40 ms)
  impl_->Routes();
}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Listen(const std::function<void(int)>& on_bound) {
  auto& s = impl_->server;
  int port = impl_->options.port;
  if (port == 0) {
    port = s.bind_to_any_port(impl_->options.host);
    if (port < 0) return Status::IoError("cannot bind " + impl_->options.host + " to any port");
  } else if (!s.bind_to_port(impl_->options.host, port)) {
    return Status::IoError("cannot bind " + impl_->options.host + ":" + std::to_string(port) +
                           " (in use? choose another with --port, or 0 for any free port)");
  }
  if (on_bound) on_bound(port);
  if (!s.listen_after_bind() && s.is_running()) return Status::IoError("the HTTP server stopped unexpectedly");
  return Status::Ok();
}

void HttpServer::Stop() { impl_->server.stop(); }

}  // namespace nhits::serve
