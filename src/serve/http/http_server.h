// HttpServer: the KServe v2 / Open Inference Protocol REST API (with Triton's binary tensor
// extension and model repository endpoints), a convenience /v1/forecast, /v2/stats (JSON) and
// Prometheus /metrics, over an Engine, on the epoll front end (EventLoopServer). JSON is parsed
// here, on the I/O threads; the engine only sees ForecastRequests, and answers through a
// callback, so no thread waits for a forecast.
// Thread safety: Listen blocks the calling thread; Stop may be called from any thread.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "nhits/engine.h"
#include "serve/http/model_repository.h"

namespace nhits::serve {

struct HttpOptions {
  std::string host = "127.0.0.1";
  int port = 8000;                         // 0: any free port (printed on start)
  int io_threads = 2;                      // event loops; each serves many connections
  int max_connections = 1024;              // more get 503 at once
  std::size_t max_body_bytes = 16u << 20;  // larger requests get 413
  int read_timeout_s = 5, write_timeout_s = 5;  // slow clients are cut off
  int keep_alive_timeout_s = 5;
  // The level of a request that names none, or 0 (Triton's "the default"); 1 is the highest.
  int default_priority = 1;
};

class HttpServer {
 public:
  HttpServer(Engine& engine, ModelRepository& repository, HttpOptions options);
  ~HttpServer();

  // Binds (port 0: any free port), then serves until Stop(). `on_bound` gets the port first.
  Status Listen(const std::function<void(int port)>& on_bound = nullptr);
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nhits::serve
