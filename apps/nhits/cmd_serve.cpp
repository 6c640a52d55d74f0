// `nhits serve`: the engine behind the KServe v2 REST API. SIGINT/SIGTERM stop accepting
// connections, answer everything already accepted, and exit 0.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <thread>

#include "cli_common.h"
#include "commands.h"
#include "nhits/engine.h"
#include "nhits/hw.h"
#include "serve/http/http_server.h"
#include "serve/http/model_repository.h"

namespace nhits::cli {
namespace {
int g_signal_pipe[2] = {-1, -1};
}  // namespace

Action RegisterServe(CLI::App& app) {
  struct Args {
    std::string device = "cpu";
    std::string repository, profile = "balanced";
    std::vector<std::string> models;
    serve::HttpOptions http;
    int max_batch_size = 0, max_queue_delay_us = -1, workers = 0, threads = 0, priority_levels = 3,
        max_queue_size = 1024, shed_after_us = 0, worker_nice = 10, lane_rt_priority = 1;
    double cache_mb = -1, cache_ttl_s = 60, max_body_mb = 16;
    bool no_cache = false, no_priority_lane = false;
  };
  auto a = std::make_shared<Args>();
  app.add_option("--model-repository", a->repository,
                 "Triton-layout folder: DIR/<model>/<version>/model.safetensors (newest version served)");
  app.add_option("--model", a->models, "NAME=PATH: serve a single checkpoint as NAME version 1 (repeatable)");
  app.add_option("--host", a->http.host, "Address to listen on")->capture_default_str();
  app.add_option("--port", a->http.port, "Port (0: any free port, printed on start)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  app.add_option("--profile", a->profile,
                 "Runtime profile for batching, cache and threads: ultra-low-latency, low-latency, balanced, "
                 "high-throughput, memory-efficient, production or auto (see `nhits hw`)")
      ->transform(OneOf(ProfileNames(), "profile"))
      ->capture_default_str();
  app.add_option("--max-batch-size", a->max_batch_size,
                 "Largest dynamic batch in windows, 1..65536 (default: the profile's)")
      ->check(CLI::Range(1, 65536));
  app.add_option("--max-queue-delay-us", a->max_queue_delay_us,
                 "Longest wait for a batch to grow after its oldest request (default: the profile's)")
      ->check(AtLeast(0));
  app.add_option("--workers", a->workers,
                 "Workers per model, each running its own batches (default: the profile's; balanced: one per core)")
      ->check(AtLeast(1));
  app.add_option("--threads-per-worker", a->threads,
                 "Compute threads per worker while others are busy; a lone busy worker uses every core "
                 "(default: the profile's)")
      ->check(AtLeast(1));
  app.add_option("--priority-levels", a->priority_levels, "Priority levels (1 = highest)")
      ->check(AtLeast(1))
      ->capture_default_str();
  app.add_option("--default-priority", a->http.default_priority,
                 "Level of requests that give none (or 0, as Triton); 1, the default, shares the priority lane")
      ->check(AtLeast(1))
      ->capture_default_str();
  app.add_option("--max-queue-size", a->max_queue_size,
                 "Requests queued per level before 503 'queue full' (a /v2 infer call is one request; a /v1\n"
                 "call one per --max-batch-size series)")
      ->check(AtLeast(1))
      ->capture_default_str();
  app.add_option("--shed-after-us", a->shed_after_us,
                 "Under overload, reject requests below priority 1 at once (503 'shed') when the queued work at "
                 "their level and above would take longer than this (0: off)")
      ->check(AtLeast(0))
      ->capture_default_str();
  app.add_flag("--no-priority-lane", a->no_priority_lane,
               "No extra worker reserved for priority-1 requests while lower levels are busy (saves one session's memory)");
  app.add_option("--lane-rt-priority", a->lane_rt_priority,
                 "Run the priority lane under SCHED_FIFO at this real-time priority (1-99), so priority-1 requests "
                 "get a core at once under CPU saturation; needs root or CAP_SYS_NICE, else the lane keeps normal "
                 "scheduling and the start-up line says so (0: normal scheduling)")
      ->check(CLI::Range(0, 99))
      ->capture_default_str();
  app.add_option("--worker-nice", a->worker_nice,
                 "Batch workers lower their OS priority by this much, so I/O and the priority lane run first under "
                 "CPU saturation (0: off)")
      ->check(CLI::Range(0, 19))
      ->capture_default_str();
  auto* cache_mb = app.add_option("--cache-mb", a->cache_mb,
                                  "Forecast cache budget in MiB (default: the profile's; given, it turns the cache on "
                                  "under a profile without one)")
                       ->check(NonNegativeNumber() & CLI::Range(0.0, 1048576.0));
  auto* cache_ttl = app.add_option("--cache-ttl-s", a->cache_ttl_s, "Forecast cache time-to-live in seconds (at most 30 days)")
                        ->check(PositiveNumber() & CLI::Range(0.0, 30 * 86400.0))  // beyond, the clock overflows
                        ->capture_default_str();
  app.add_flag("--no-cache", a->no_cache, "Disable the forecast cache")->excludes(cache_mb)->excludes(cache_ttl);
  app.add_option("--io-threads", a->http.io_threads,
                 "HTTP event-loop threads (each serves many keep-alive connections; parsing happens here)")
      ->check(AtLeast(1))
      ->capture_default_str();
  app.add_option("--max-connections", a->http.max_connections, "Open connections allowed at once (503 beyond)")
      ->check(AtLeast(1))
      ->capture_default_str();
  app.add_option("--max-body-mb", a->max_body_mb, "Largest request body (413 above; at most 65536)")
      ->check(PositiveNumber() & CLI::Range(0.0, 65536.0))
      ->capture_default_str();
  app.add_option("--read-timeout-s", a->http.read_timeout_s, "Cut off clients that send slower than this")
      ->check(AtLeast(1))
      ->capture_default_str();
  app.add_option("--device", a->device,
                 "cpu, or cuda:N[:fp32|tf32|fp16|bf16] (automatic precision: BF16 on sm_80+, FP16 on sm_70/75 for a\n"
                 "model with a scaler_type, as raw windows can overflow FP16; else FP32)")
      ->capture_default_str();
  return [a] {
    if (a->repository.empty() && a->models.empty())
      UsageFail("give --model-repository DIR (DIR/<model>/<version>/model.safetensors) or --model NAME=PATH");
    const RuntimeProfile profile = Unwrap(ResolveProfile(a->profile, DetectCpu()));
    ModelOptions mo;
    mo.device = a->device;
    mo.max_batch_size = a->max_batch_size > 0 ? a->max_batch_size : profile.max_batch_size;
    mo.max_queue_delay_us = a->max_queue_delay_us >= 0 ? a->max_queue_delay_us : profile.max_queue_delay_us;
    mo.workers = a->workers > 0 ? a->workers : profile.workers;
    // An explicit --workers without --threads-per-worker splits the cores between them.
    mo.threads_per_worker = a->threads > 0 ? a->threads : a->workers > 0 ? 0 : profile.threads;
    mo.priority_levels = a->priority_levels;
    mo.max_queue_size = a->max_queue_size;
    mo.shed_after_us = a->shed_after_us;
    mo.caller_scales_series = true;  // /v1/forecast scales local_scaler_type series; /v2 refuses them
    mo.priority_lane = profile.priority_lane && !a->no_priority_lane;
    mo.worker_nice = a->worker_nice;  // ranges checked by the options
    mo.lane_realtime_priority = a->lane_rt_priority;
    // An explicit budget asks for a cache, whatever the profile's default.
    mo.cache = (profile.cache_enabled || a->cache_mb > 0) && !a->no_cache;
    mo.layout.small_batch_panels = profile.small_batch_panels;
    if (a->http.default_priority > mo.priority_levels)
      UsageFail("--default-priority " + std::to_string(a->http.default_priority) + " is outside 1.." +
           std::to_string(mo.priority_levels) + " (--priority-levels)");
    EngineOptions eo;
    eo.cache.max_bytes = a->cache_mb >= 0 ? static_cast<std::size_t>(a->cache_mb * (1 << 20)) : profile.cache_bytes;
    eo.cache.ttl = std::chrono::microseconds(static_cast<long long>(a->cache_ttl_s * 1e6));
    a->http.max_body_bytes = static_cast<std::size_t>(a->max_body_mb * (1 << 20));

    // SIGINT/SIGTERM may land on any thread (OpenBLAS starts its own before main), so the handler
    // only writes a byte to a pipe; a watcher thread reads it and stops the server.
    if (pipe(g_signal_pipe) != 0) Fail("cannot create the signal pipe");
    struct sigaction sa {};
    sa.sa_handler = [](int sig) {
      const char c = static_cast<char>(sig);
      (void)!write(g_signal_pipe[1], &c, 1);
    };
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);

    Engine engine(eo);
    serve::ModelRepository repo(engine, a->repository, mo);
    if (!a->repository.empty()) CheckOk(repo.LoadAll());
    for (const std::string& spec : a->models) {
      const auto eq = spec.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
        UsageFail("--model: '" + spec + "' is not NAME=PATH");
      CheckOk(repo.LoadFile(spec.substr(0, eq), spec.substr(eq + 1)));
    }
    serve::HttpServer server(engine, repo, a->http);
    std::thread stopper([&] {
      char sig = 0;
      if (read(g_signal_pipe[0], &sig, 1) == 1 && sig != 0) {
        std::fprintf(stderr, "nhits serve: signal %d, draining\n", sig);
        server.Stop();
      }
    });
    const Status st = server.Listen([&](int port) {
      std::string models, lane = "off";
      for (const ModelStatus& m : engine.Models()) {
        models += " " + m.name + "@" + std::to_string(m.version) + "[" + m.precision + "]";
        lane = m.lane;
      }
      char cache[64] = "off";
      if (mo.cache)
        std::snprintf(cache, sizeof cache, "%.3g MiB, ttl %g s", static_cast<double>(eo.cache.max_bytes) / (1 << 20),
                      a->cache_ttl_s);
      std::printf("nhits serve: listening on http://%s:%d (profile %s, %d worker(s) x %d thread(s), max batch %d, "
                  "delay %d us; priority lane: %s; cache: %s; models:%s)\n",
                  a->http.host.c_str(), port, profile.name.c_str(), mo.workers,
                  mo.threads_per_worker > 0 ? mo.threads_per_worker : std::max(1, UsableCores() / mo.workers),
                  mo.max_batch_size, mo.max_queue_delay_us, lane.c_str(), cache, models.c_str());
      std::fflush(stdout);
    });
    const char wake = 0;
    (void)!write(g_signal_pipe[1], &wake, 1);  // the server stopped on its own: release the watcher
    stopper.join();
    engine.Shutdown();
    CheckOk(st);
    const PerformanceStats ps = engine.GetPerformanceStats();
    std::uint64_t failed = 0;
    for (const auto& [reason, n] : ps.failures) failed += n;
    // Engine requests: a /v2 infer call is one, a /v1 call one per max_batch_size series.
    std::fprintf(stderr, "nhits serve: stopped after %llu forecast requests answered and %llu failed\n",
                 static_cast<unsigned long long>(ps.success), static_cast<unsigned long long>(failed));
  };
}

}  // namespace nhits::cli
