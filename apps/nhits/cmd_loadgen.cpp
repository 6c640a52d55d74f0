// `nhits loadgen`: load for the engine, in-process or over HTTP (KServe v2 infer, JSON or binary
// tensors). Closed loop (--concurrency clients, each sending its next request when the last one
// returns) or open loop (--rate requests/s spread over the clients, whatever the latency).
// Reports throughput, p50/p95/p99/max latency and errors by kind. Open-loop latency counts from
// each request's scheduled time, so a server that falls behind shows its queueing (coordinated
// omission would hide it).
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "commands.h"
#include "nhits/engine.h"
#include "nhits/hw.h"

namespace nhits::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct Tally {
  std::mutex mu;
  std::vector<double> latency_us;
  std::map<std::string, int> errors;
  void Add(double us, const std::string& error) {
    std::lock_guard<std::mutex> lock(mu);
    if (error.empty()) {
      latency_us.push_back(us);
    } else {
      ++errors[error];
    }
  }
};

double Pct(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  const std::size_t i = std::min(v.size() - 1, static_cast<std::size_t>(std::ceil(p * v.size())) - 1);
  return v[i];
}

// Distinct windows so the forecast cache does not answer (unless --repeat).
std::vector<float> Window(std::mt19937& rng, int L) {
  std::normal_distribution<float> nd(0, 1);
  std::vector<float> w(static_cast<std::size_t>(L));
  float level = 100 + 10 * nd(rng);
  for (auto& v : w) v = level += nd(rng);
  return w;
}

// The window length a server's model takes: its insample_y input's [batch, L] shape, checked
// (a dynamic or missing length, or a body that is no model metadata, is named, not crashed on).
int WindowLengthFromMetadata(const std::string& body, const std::string& where) {
  const nlohmann::json meta = nlohmann::json::parse(body, nullptr, false);
  if (!meta.is_object() || !meta.contains("inputs") || !meta["inputs"].is_array())
    Fail(where + " is not KServe v2 model metadata (no \"inputs\" list): " + body.substr(0, 200));
  int L = 0;
  for (const auto& in : meta["inputs"]) {
    const std::string name = in.is_object() && in.contains("name") && in["name"].is_string() ? in["name"].get<std::string>() : "";
    if (name != "insample_y" && name != "insample_mask")
      Fail(where + ": the model takes input '" + name + "', which loadgen's requests (insample_y only) do not carry");
    if (name != "insample_y") continue;
    const auto& shape = in.contains("shape") ? in["shape"] : nlohmann::json();
    if (!shape.is_array() || shape.size() != 2 || !shape[1].is_number_integer() || shape[1].get<long long>() < 1 ||
        shape[1].get<long long>() > (1 << 24))
      Fail(where + ": insample_y's shape " + shape.dump() + " gives no fixed window length [batch, L]");
    L = shape[1].get<int>();
  }
  if (L == 0) Fail(where + ": the model has no insample_y input");
  return L;
}

}  // namespace

Action RegisterLoadgen(CLI::App& app) {
  struct Args {
    std::string url, model, checkpoint, mode = "binary";
    int concurrency = 8, input_size = 0, priority = 1, max_batch_size = 64, max_queue_delay_us = 200, threads = -1;
    double seconds = 10, rate = 0;
    bool repeat = false;
  };
  auto a = std::make_shared<Args>();
  app.add_option("--url", a->url, "Server, e.g. http://127.0.0.1:8000 (omit for in-process with --checkpoint)");
  app.add_option("--checkpoint", a->checkpoint, "In-process: load this checkpoint into an engine in this process");
  app.add_option("--model", a->model, "Model name (HTTP: required; in-process: default 'm')");
  auto* mode = app.add_option("--mode", a->mode, "HTTP body: binary (Triton's binary tensors) or json")->capture_default_str();
  app.add_option("--concurrency", a->concurrency, "Clients (closed loop) or senders (open loop), 1..4096")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  app.add_option("--rate", a->rate, "Open loop: requests per second in total (0: closed loop)")
      ->check(NonNegativeNumber())
      ->capture_default_str();
  app.add_option("--seconds", a->seconds, "Duration (at most a day)")
      ->check(PositiveNumber() & CLI::Range(0.0, 86400.0))
      ->capture_default_str();
  app.add_option("--priority", a->priority, "Request priority (1 = highest; the in-process engine has 3 levels)")
      ->check(AtLeast(1))
      ->capture_default_str();
  app.add_flag("--repeat", a->repeat, "Send one window over and over (cache hits) instead of distinct ones");
  // In-process engine settings: a server has its own (`nhits serve` flags), so --url refuses them.
  const std::vector<CLI::Option*> engine_flags = {
      app.add_option("--max-batch-size", a->max_batch_size, "In-process engine: dynamic batch limit (1..65536)")
          ->check(CLI::Range(1, 65536))
          ->capture_default_str(),
      app.add_option("--max-queue-delay-us", a->max_queue_delay_us, "In-process engine: batching delay")
          ->check(AtLeast(0))
          ->capture_default_str(),
      app.add_option("--threads", a->threads,
                     "In-process engine: compute threads per worker (default: the workers and threads of `nhits serve`'s\n"
                     "balanced profile, so the numbers compare with a server's; 0: all cores for one worker)")
          ->check(AtLeast(0))};
  return [a, mode, engine_flags] {
    if (!a->url.empty())
      for (const CLI::Option* f : engine_flags)
        if (f->count() > 0)
          UsageFail(f->get_name() + " sets up the in-process engine (--checkpoint); a server over --url has its own "
                                    "(`nhits serve` flags)");
    if (a->url.empty() && a->checkpoint.empty()) UsageFail("give --url (a running server, over HTTP) or --checkpoint (in-process)");
    if (!a->url.empty() && !a->checkpoint.empty())
      UsageFail("--url and --checkpoint load-test different things (a server over HTTP, or the engine in-process): give one");
    if (!a->checkpoint.empty() && mode->count() > 0) UsageFail("--mode is the HTTP body format; an in-process run (--checkpoint) has none");
    if (a->mode != "binary" && a->mode != "json") UsageFail("--mode: binary or json");
    std::unique_ptr<Engine> engine;
    int L = 0;
    std::string model = a->model;
    if (!a->checkpoint.empty()) {
      engine = std::make_unique<Engine>();
      ModelOptions o;
      o.max_batch_size = a->max_batch_size;
      o.max_queue_delay_us = a->max_queue_delay_us;
      // As `nhits serve` runs by default: on a small machine one thread per worker, as a batch of
      // one window gains nothing from waking a second core and can lose milliseconds to it.
      if (a->threads < 0) {
        const RuntimeProfile profile = Unwrap(ResolveProfile("balanced", DetectCpu()));
        o.workers = profile.workers;
        o.threads_per_worker = profile.threads;
      } else {
        o.threads_per_worker = a->threads;
      }
      o.cache = a->repeat;
      if (model.empty()) model = "m";
      if (a->priority > o.priority_levels)
        UsageFail("--priority " + std::to_string(a->priority) + " is outside 1.." + std::to_string(o.priority_levels));
      CheckOk(engine->LoadModel(model, 1, a->checkpoint, o));
      L = engine->Models().front().config.input_size;
      if (engine->Models().front().config.has_exog())
        Fail(a->checkpoint + ": the model takes exogenous inputs, which loadgen's requests (insample_y only) do not carry");
    } else {
      if (model.empty()) UsageFail("--model: name the model to load-test");
      httplib::Client probe(a->url);
      auto res = probe.Get("/v2/models/" + model);
      if (!res)  // httplib's own text for a refused connection is the single word "Connection"
        Fail("cannot reach " + a->url + ": " +
             (res.error() == httplib::Error::Connection ? std::string("connection refused or host unreachable (is `nhits serve` "
                                                                      "listening there?)")
                                                        : httplib::to_string(res.error())));
      if (res->status != 200) Fail(a->url + "/v2/models/" + model + " answered " + std::to_string(res->status) + ": " + res->body);
      L = WindowLengthFromMetadata(res->body, a->url + "/v2/models/" + model);
    }
    Tally tally;
    std::atomic<bool> stop{false};
    const auto start = Clock::now();
    const auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(a->seconds));
    const double per_client_interval = a->rate > 0 ? a->concurrency / a->rate : 0;
    const auto as_duration = [](double s) { return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s)); };
    auto client = [&](int id) {
      std::mt19937 rng(static_cast<unsigned>(id) + 1);
      std::unique_ptr<httplib::Client> http;
      if (!a->url.empty()) {
        http = std::make_unique<httplib::Client>(a->url);
        http->set_keep_alive(true);
        http->set_tcp_nodelay(true);
      }
      const std::vector<float> fixed = Window(rng, L);
      // Open loop: sender i starts i / rate after the others, so the requests arrive evenly spaced
      // instead of in bursts of --concurrency.
      auto next = start + (per_client_interval > 0 ? as_duration(id / a->rate) : Clock::duration::zero());
      while (!stop && Clock::now() < end) {
        if (per_client_interval > 0) {
          if (next >= end) break;
          std::this_thread::sleep_until(next);
        }
        const std::vector<float> w = a->repeat ? fixed : Window(rng, L);
        // Open loop: from the scheduled time, which includes any wait the sender itself fell behind by.
        const auto t0 = per_client_interval > 0 ? next : Clock::now();
        if (per_client_interval > 0) next += as_duration(per_client_interval);
        std::string error;
        if (engine) {
          ForecastRequest r;
          r.model = model;
          r.insample = w;
          r.priority = a->priority;
          const ForecastResult f = engine->Predict(std::move(r));
          if (!f.status.ok()) error = f.status.ToString();
        } else {
          nlohmann::json in = {{"name", "insample_y"}, {"datatype", "FP32"}, {"shape", {1, L}}};
          nlohmann::json req = {{"parameters", {{"priority", a->priority}}}};
          httplib::Headers headers;
          std::string body;
          if (a->mode == "json") {
            in["data"] = w;
            req["inputs"] = nlohmann::json::array({in});
            body = req.dump();
          } else {
            in["parameters"] = {{"binary_data_size", L * 4}};
            req["inputs"] = nlohmann::json::array({in});
            req["outputs"] = {{{"name", "forecast"}, {"parameters", {{"binary_data", true}}}}};
            body = req.dump();
            headers.emplace("Inference-Header-Content-Length", std::to_string(body.size()));
            body.append(reinterpret_cast<const char*>(w.data()), w.size() * sizeof(float));
          }
          auto res = http->Post("/v2/models/" + model + "/infer", headers, body,
                                a->mode == "json" ? "application/json" : "application/octet-stream");
          if (!res) {
            error = "connection: " + httplib::to_string(res.error());
          } else if (res->status != 200) {
            error = "HTTP " + std::to_string(res->status);
          }
        }
        tally.Add(std::chrono::duration<double, std::micro>(Clock::now() - t0).count(), error);
      }
    };
    std::vector<std::thread> clients;
    try {
      for (int i = 0; i < a->concurrency; ++i) clients.emplace_back(client, i);
    } catch (const std::exception& e) {  // a process or memory limit: stop the ones started, then say so
      stop = true;
      for (auto& t : clients) t.join();
      Fail("could start only " + std::to_string(clients.size()) + " of " + std::to_string(a->concurrency) +
           " client threads (" + e.what() + "): use a smaller --concurrency");
    }
    for (auto& t : clients) t.join();
    // Open loop: the rate is over the run's --seconds, even when the last request was scheduled early.
    const double wall = std::max(std::chrono::duration<double>(Clock::now() - start).count(), a->rate > 0 ? a->seconds : 0.0);
    std::sort(tally.latency_us.begin(), tally.latency_us.end());
    int errors = 0;
    for (const auto& [k, n] : tally.errors) errors += n;
    char target[64] = ", closed loop";
    if (a->rate > 0) std::snprintf(target, sizeof target, ", open loop %g/s", a->rate);
    std::printf("%s, %s, concurrency %d%s, %.1f s\n", a->url.empty() ? "in-process" : ("HTTP " + a->mode).c_str(),
                model.c_str(), a->concurrency, target, wall);
    const double sent = static_cast<double>(tally.latency_us.size() + static_cast<std::size_t>(errors));
    std::printf("requests %zu ok, %d errors; %.0f forecasts/s\n", tally.latency_us.size(), errors,
                tally.latency_us.size() / wall);
    if (a->rate > 0 && sent < 0.9 * a->rate * a->seconds)
      std::printf("note: sent %.0f of the %.0f requests the rate asks for: the %d senders could not keep up (each waits "
                  "for its answer); latency counts from the scheduled times, so it includes that wait. Raise "
                  "--concurrency to offer the full rate\n",
                  sent, a->rate * a->seconds, a->concurrency);
    std::printf("latency us: p50 %.0f  p95 %.0f  p99 %.0f  max %.0f\n", Pct(tally.latency_us, 0.5),
                Pct(tally.latency_us, 0.95), Pct(tally.latency_us, 0.99), Pct(tally.latency_us, 1.0));
    for (const auto& [k, n] : tally.errors) std::printf("  %8d x error: %s\n", n, k.c_str());
    if (engine) {
      const PerformanceStats st = engine->GetPerformanceStats();
      // Cache hits never reach a batch: the mean counts the computed windows only.
      std::uint64_t computed = 0, batches = 0;
      for (const auto& [size, n] : st.batch_sizes) computed += static_cast<std::uint64_t>(size) * n, batches += n;
      std::printf("engine: queue p50 %.0f us, compute p50 %.0f us per batch, mean batch %.1f windows, cache hits %llu\n",
                  st.queue_us.p50, st.compute_us.p50, batches ? static_cast<double>(computed) / batches : 0.0,
                  static_cast<unsigned long long>(st.cache_hits));
    }
    if (errors > 0 && tally.latency_us.empty()) Fail("every request failed (first reason above)");
  };
}

}  // namespace nhits::cli
