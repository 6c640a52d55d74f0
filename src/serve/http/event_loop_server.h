// EventLoopServer: HTTP/1.1 over a few epoll event loops, each serving many keep-alive
// connections. It replaces a thread per connection: at concurrency 64 on two cores that design
// spent a quarter of the CPU on scheduling, and under overload no thread knew which request
// mattered. A handler runs on its loop's thread and answers through a Responder, at once or
// later from any thread (the engine's workers), so no thread waits for a forecast.
//
// Limits: a bound on open connections (503 beyond it), request heads and bodies (431 / 413),
// a read timeout from a request's first byte to its last (408: slow clients are cut off), a
// write timeout, an idle keep-alive timeout. Pipelined requests on one connection are answered
// in order. Stop() stops accepting, answers every request already read, then Run() returns.
// Thread safety: Run on one thread; Stop and Responder::Send from any thread.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "nhits/status.h"
#include "serve/http/http_message.h"

namespace nhits::serve {

class EventLoop;
struct Mailbox;

// Answers one request, once, from any thread. Dropping it unanswered answers 500 (a handler bug
// never leaves a client waiting).
class Responder {
 public:
  Responder() = default;
  Responder(std::shared_ptr<Mailbox> mailbox, std::uint64_t connection)
      : mailbox_(std::move(mailbox)), connection_(connection) {}
  Responder(Responder&&) noexcept = default;
  Responder& operator=(Responder&&) noexcept = default;
  Responder(const Responder&) = delete;
  Responder& operator=(const Responder&) = delete;
  ~Responder();

  void Send(HttpResponse response);
  // `make` runs later on the connection's loop thread (serialising JSON stays off the caller,
  // e.g. an engine worker). It must not block.
  void SendLater(std::function<HttpResponse()> make);

 private:
  std::shared_ptr<Mailbox> mailbox_;
  std::uint64_t connection_ = 0;
};

struct EventLoopOptions {
  std::string host = "127.0.0.1";
  int port = 8000;  // 0: any free port
  int loops = 2;
  int max_connections = 1024;
  std::size_t max_head_bytes = 64u << 10;
  std::size_t max_body_bytes = 16u << 20;
  std::chrono::milliseconds read_timeout{5000}, write_timeout{5000}, keep_alive_timeout{5000};
  std::chrono::milliseconds drain_timeout{10000};  // Stop(): longest wait for in-flight answers
};

class EventLoopServer {
 public:
  using Handler = std::function<void(HttpRequest& request, Responder responder)>;

  EventLoopServer(EventLoopOptions options, Handler handler);
  ~EventLoopServer();

  // Binds and listens; port() is then the real port.
  Status Bind();
  int port() const { return port_; }
  // Serves until Stop() and the drain; runs loop 0 on the calling thread.
  Status Run();
  void Stop();

  // Open connections across all loops.
  int Connections() const { return connections_.load(); }
  // Responses sent so far, by HTTP status code (codes with none left out), for /metrics.
  std::vector<std::pair<int, std::uint64_t>> ResponsesByStatus() const;

 private:
  friend class EventLoop;
  EventLoopOptions options_;
  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<int> connections_{0};
  std::array<std::atomic<std::uint64_t>, 600> responses_{};  // by status code
  std::atomic<bool> stopping_{false};
  std::mutex mu_;  // guards loops_ between Bind and Stop
  std::vector<std::unique_ptr<EventLoop>> loops_;
};

}  // namespace nhits::serve
