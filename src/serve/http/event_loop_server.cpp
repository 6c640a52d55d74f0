#include "serve/http/event_loop_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "serve/http/http_parser.h"

namespace nhits::serve {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::uint64_t kListenerTag = 0, kWakeTag = 1, kUrgentTag = 2, kFirstConnection = 3;
// Between chunks of this many ready connections the loop serves urgent connections and answers.
constexpr int kChunk = 8;
constexpr std::chrono::milliseconds kSweepEvery{50};
// After a response that closes the connection, unread request bytes are read and dropped for
// this long before closing, so the client sees the answer instead of a reset (a 413 arrives
// while the client is still sending its body).
constexpr std::chrono::milliseconds kLinger{2000}, kLingerStopping{300};

std::string JsonError(const std::string& message) { return nlohmann::json{{"error", message}}.dump(); }

HttpResponse ErrorResponse(int status, const std::string& message) {
  HttpResponse r;
  r.status = status;
  r.body = JsonError(message);
  return r;
}

// What a Responder posts: build the response on the loop thread, for `connection`.
struct Letter {
  std::uint64_t connection = 0;
  std::function<HttpResponse()> make;
};

}  // namespace

// A loop's inbox: answers posted from any thread, and an eventfd that wakes the loop. Shared
// with every Responder, so an answer that arrives after the loop is gone is dropped safely.
struct Mailbox {
  std::mutex mu;
  std::vector<Letter> letters;  // under mu
  bool closed = false;          // under mu
  std::atomic<bool> pending{false};  // letters may be waiting (checked without the lock)
  std::vector<Letter> local;    // posted on the loop's own thread: no lock, no wake-up
  int wake_fd = -1;

  ~Mailbox() {
    if (wake_fd >= 0) ::close(wake_fd);
  }
  void Post(Letter letter);
  void Wake() const {
    const std::uint64_t one = 1;
    (void)!::write(wake_fd, &one, sizeof one);
  }
};

namespace {
thread_local Mailbox* tls_mailbox = nullptr;
}  // namespace

void Mailbox::Post(Letter letter) {
  if (tls_mailbox == this) {
    local.push_back(std::move(letter));
    return;
  }
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (closed) return;
    wake = letters.empty();
    letters.push_back(std::move(letter));
    pending.store(true, std::memory_order_release);
  }
  if (wake) Wake();
}

class EventLoop {
 public:
  explicit EventLoop(EventLoopServer& server) : server_(server) {}
  ~EventLoop();
  Status Init();
  void Run();
  void Wake() const { mailbox_->Wake(); }

 private:
  struct Connection {
    int fd = -1;
    std::uint64_t id = 0;
    enum class State { kReading, kHandling, kLingering } state = State::kReading;
    bool closed = false, close_after_write = false, keep_alive = true, peer_eof = false, head_parsed = false;
    bool urgent = false;  // its last request was priority 1: watched by the urgent epoll set
    std::string in, out;
    std::size_t out_at = 0;
    HeadParse head;
    HttpRequest request;
    Clock::time_point request_started{}, last_activity{}, write_started{}, linger_until{};
  };

  void Accept();
  void OnEvent(Connection& c, std::uint32_t events);
  void Read(Connection& c);
  void Process(Connection& c);
  void Deliver(Letter& letter);
  void Respond(Connection& c, const HttpResponse& response, bool close);
  void Flush(Connection& c);
  void Close(Connection& c);
  void Sweep();
  void BeginStop();
  void Dispatch(const epoll_event& event);
  void TakeLetters();
  void DeliverLocal();
  void ServeUrgent();
  void SetUrgent(Connection& c, bool urgent);
  bool SetListening(bool on);

  EventLoopServer& server_;
  int epoll_fd_ = -1;
  int urgent_fd_ = -1;  // a second epoll set for urgent connections, itself watched by epoll_fd_
  int urgent_connections_ = 0;
  std::vector<Letter> letters_;  // scratch for TakeLetters/DeliverLocal
  std::shared_ptr<Mailbox> mailbox_ = std::make_shared<Mailbox>();
  std::unordered_map<std::uint64_t, std::unique_ptr<Connection>> connections_;
  std::vector<std::uint64_t> dead_;
  std::uint64_t next_id_ = kFirstConnection;
  bool listening_ = false, stopping_ = false;
  Clock::time_point now_ = Clock::now(), stop_deadline_{}, accept_paused_until_{};
};

EventLoop::~EventLoop() {
  for (auto& [id, c] : connections_)
    if (!c->closed) Close(*c);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
  if (urgent_fd_ >= 0) ::close(urgent_fd_);
}

Status EventLoop::Init() {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  mailbox_->wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || mailbox_->wake_fd < 0) return Status::IoError(std::string("epoll/eventfd: ") + std::strerror(errno));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeTag;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, mailbox_->wake_fd, &ev) != 0)
    return Status::IoError(std::string("epoll_ctl: ") + std::strerror(errno));
  urgent_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  ev.events = EPOLLIN;
  ev.data.u64 = kUrgentTag;
  if (urgent_fd_ < 0 || ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, urgent_fd_, &ev) != 0)
    return Status::IoError(std::string("epoll (urgent set): ") + std::strerror(errno));
  if (!SetListening(true)) return Status::IoError(std::string("epoll_ctl(listen): ") + std::strerror(errno));
  return Status::Ok();
}

// Priority on the I/O path: a request's priority is known only once parsed, so a connection is
// classed by its last request. Urgent connections live in their own epoll set, which the loop
// polls between every few ready connections of the main set: under a flood of low-priority
// requests a priority-1 request waits behind a handful of others, not behind every connection
// that became ready before it.
void EventLoop::SetUrgent(Connection& c, bool urgent) {
  if (c.closed || c.urgent == urgent) return;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.u64 = c.id;
  ::epoll_ctl(urgent ? epoll_fd_ : urgent_fd_, EPOLL_CTL_DEL, c.fd, &ev);
  if (::epoll_ctl(urgent ? urgent_fd_ : epoll_fd_, EPOLL_CTL_ADD, c.fd, &ev) != 0) return Close(c);
  c.urgent = urgent;
  urgent_connections_ += urgent ? 1 : -1;
}

void EventLoop::Dispatch(const epoll_event& event) {
  const std::uint64_t tag = event.data.u64;
  if (tag == kListenerTag) {
    Accept();
  } else if (tag == kWakeTag) {
    std::uint64_t count = 0;
    (void)!::read(mailbox_->wake_fd, &count, sizeof count);
    TakeLetters();
  } else if (tag == kUrgentTag) {
    ServeUrgent();
  } else if (auto it = connections_.find(tag); it != connections_.end() && !it->second->closed) {
    OnEvent(*it->second, event.events);
  }
}

// Answers posted by other threads (engine workers).
void EventLoop::TakeLetters() {
  {
    std::lock_guard<std::mutex> lock(mailbox_->mu);
    letters_.swap(mailbox_->letters);
    mailbox_->pending.store(false, std::memory_order_relaxed);
  }
  for (Letter& l : letters_) Deliver(l);
  letters_.clear();
}

// Answers given on this thread (errors, health, metrics, cache hits).
void EventLoop::DeliverLocal() {
  while (!mailbox_->local.empty()) {
    std::vector<Letter> batch;
    batch.swap(mailbox_->local);
    for (Letter& l : batch) Deliver(l);
  }
}

void EventLoop::ServeUrgent() {
  if (mailbox_->pending.load(std::memory_order_acquire)) TakeLetters();
  if (urgent_connections_ > 0) {
    epoll_event events[16];
    const int n = ::epoll_wait(urgent_fd_, events, 16, 0);
    for (int i = 0; i < n; ++i)
      if (auto it = connections_.find(events[i].data.u64); it != connections_.end() && !it->second->closed)
        OnEvent(*it->second, events[i].events);
  }
  DeliverLocal();
}

// Every loop watches the one listening socket; EPOLLEXCLUSIVE wakes one of them per connection.
bool EventLoop::SetListening(bool on) {
  if (on == listening_) return true;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLEXCLUSIVE;
  ev.data.u64 = kListenerTag;
  if (::epoll_ctl(epoll_fd_, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, server_.listen_fd_, &ev) != 0) return false;
  listening_ = on;
  return true;
}

void EventLoop::Run() {
  tls_mailbox = mailbox_.get();
  epoll_event events[256];
  Clock::time_point next_sweep = now_ + kSweepEvery;
  for (;;) {
    if (server_.stopping_.load() && !stopping_) BeginStop();
    if (stopping_ && (connections_.empty() || now_ >= stop_deadline_)) break;
    const int n = ::epoll_wait(epoll_fd_, events, 256, static_cast<int>(kSweepEvery.count()));
    now_ = Clock::now();
    for (int i = 0; i < n; ++i) {
      if (i > 0 && i % kChunk == 0) ServeUrgent();
      Dispatch(events[i]);
    }
    DeliverLocal();
    if (now_ >= next_sweep) {
      Sweep();
      next_sweep = now_ + kSweepEvery;
    }
    for (std::uint64_t id : dead_) connections_.erase(id);
    dead_.clear();
  }
  {
    std::lock_guard<std::mutex> lock(mailbox_->mu);
    mailbox_->closed = true;
    mailbox_->letters.clear();
  }
  for (auto& [id, c] : connections_)
    if (!c->closed) Close(*c);
  connections_.clear();
  tls_mailbox = nullptr;
}

void EventLoop::BeginStop() {
  stopping_ = true;
  stop_deadline_ = now_ + server_.options_.drain_timeout;
  SetListening(false);
  for (auto& [id, c] : connections_)
    if (!c->closed && c->state == Connection::State::kReading && c->in.empty() && c->out_at == c->out.size()) Close(*c);
}

void EventLoop::Accept() {
  if (stopping_) return;
  for (int i = 0; i < 64; ++i) {
    const int fd = ::accept4(server_.listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of descriptors: stop watching the listener for a moment instead of spinning on it.
        SetListening(false);
        accept_paused_until_ = now_ + std::chrono::milliseconds(100);
      }
      return;
    }
    if (server_.connections_.load() >= server_.options_.max_connections) {
      static const std::string busy = [] {
        const std::string body = JsonError("too many connections; retry later (nhits serve --max-connections)");
        return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: " +
               std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
      }();
      (void)!::send(fd, busy.data(), busy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      ::close(fd);
      continue;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // no 40 ms delayed-ACK stalls
    auto c = std::make_unique<Connection>();
    c->fd = fd;
    c->id = next_id_++;
    c->last_activity = now_;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.u64 = c->id;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      ::close(fd);
      continue;
    }
    server_.connections_.fetch_add(1);
    connections_.emplace(c->id, std::move(c));
  }
}

void EventLoop::OnEvent(Connection& c, std::uint32_t events) {
  if (events & EPOLLERR) return Close(c);
  if ((events & EPOLLOUT) && c.out_at < c.out.size()) {
    Flush(c);
    if (c.closed) return;
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) Read(c);
}

void EventLoop::Read(Connection& c) {
  char buf[64 << 10];
  // Bytes a connection may hold unprocessed: one full request plus pipelined heads.
  const std::size_t cap = server_.options_.max_head_bytes * 2 + server_.options_.max_body_bytes;
  bool got = false;
  for (;;) {
    const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
    if (n > 0) {
      got = true;
      if (c.state != Connection::State::kLingering) {
        c.in.append(buf, static_cast<std::size_t>(n));
        if (c.in.size() > cap && c.state == Connection::State::kHandling) return Close(c);
        if (c.in.size() > cap) break;  // Process answers 413/431 from what it has
      }
      // A short read emptied the socket; anything arriving later raises a new edge, so the
      // usual extra recv() that only returns EAGAIN is skipped (one syscall per request).
      if (static_cast<std::size_t>(n) < sizeof buf) break;
      continue;
    }
    if (n == 0) {
      c.peer_eof = true;
      break;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    return Close(c);
  }
  if (got) c.last_activity = now_;
  if (c.state == Connection::State::kReading) Process(c);
  if (c.closed) return;
  // The client hung up: finish what it asked for if anything is pending, else close now.
  if (c.peer_eof && c.state != Connection::State::kHandling && c.out_at == c.out.size()) Close(c);
}

void EventLoop::Process(Connection& c) {
  const EventLoopOptions& o = server_.options_;
  while (c.state == Connection::State::kReading && !c.closed) {
    if (c.in.empty()) {
      c.request_started = {};
      return;
    }
    if (c.request_started == Clock::time_point{}) c.request_started = now_;
    if (!c.head_parsed) {
      c.head = ParseRequestHead(c.in, o.max_head_bytes, &c.request);
      if (c.head.state == HeadParse::State::kIncomplete) return;
      if (c.head.state == HeadParse::State::kError) return Respond(c, ErrorResponse(c.head.error_status, c.head.error), true);
      c.head_parsed = true;
      if (c.head.content_length > o.max_body_bytes)
        return Respond(c,
                       ErrorResponse(413, "request body larger than the server's limit (" + std::to_string(c.head.content_length) +
                                              " > " + std::to_string(o.max_body_bytes) + " bytes; nhits serve --max-body-mb)"),
                       true);
      if (c.head.expect_continue && c.in.size() < c.head.head_bytes + c.head.content_length) {
        c.out += "HTTP/1.1 100 Continue\r\n\r\n";
        Flush(c);
        if (c.closed) return;
      }
    }
    const std::size_t total = c.head.head_bytes + c.head.content_length;
    if (c.in.size() < total) return;
    c.request.body.assign(c.in, c.head.head_bytes, c.head.content_length);
    c.in.erase(0, total);
    c.head_parsed = false;
    c.keep_alive = c.head.keep_alive;
    c.state = Connection::State::kHandling;
    c.request_started = c.in.empty() ? Clock::time_point{} : now_;
    c.request.priority = 0;
    try {
      server_.handler_(c.request, Responder(mailbox_, c.id));
    } catch (...) {
      // The Responder was destroyed unanswered on the way out: it posted a 500.
    }
    SetUrgent(c, c.request.priority == 1);
    return;
  }
}

void EventLoop::Deliver(Letter& letter) {
  auto it = connections_.find(letter.connection);
  if (it == connections_.end() || it->second->closed || it->second->state != Connection::State::kHandling) return;
  Connection& c = *it->second;
  HttpResponse response;
  try {
    response = letter.make();
  } catch (const std::exception& e) {
    response = ErrorResponse(500, std::string("internal error: ") + e.what());
  }
  Respond(c, response, !c.keep_alive || stopping_ || c.peer_eof);
  if (!c.closed && c.state == Connection::State::kReading && !c.in.empty()) Process(c);  // pipelined
}

void EventLoop::Respond(Connection& c, const HttpResponse& r, bool close) {
  if (r.status >= 100 && r.status < 600) server_.responses_[static_cast<std::size_t>(r.status)].fetch_add(1, std::memory_order_relaxed);
  std::string& o = c.out;
  o += "HTTP/1.1 ";
  o += std::to_string(r.status);
  o += ' ';
  o += ReasonPhrase(r.status);
  o += "\r\nContent-Type: ";
  o += r.content_type;
  o += "\r\nContent-Length: ";
  o += std::to_string(r.body.size());
  o += "\r\n";
  for (const auto& [k, v] : r.headers) {
    o += k;
    o += ": ";
    o += v;
    o += "\r\n";
  }
  o += close ? "Connection: close\r\n\r\n" : (c.request.minor_version == 0 ? "Connection: keep-alive\r\n\r\n" : "\r\n");
  o += r.body;
  c.close_after_write = close;
  c.state = close ? Connection::State::kLingering : Connection::State::kReading;
  if (close) {
    c.in.clear();
    c.linger_until = now_ + (stopping_ ? kLingerStopping : kLinger);
  }
  Flush(c);
}

void EventLoop::Flush(Connection& c) {
  while (c.out_at < c.out.size()) {
    const ssize_t n = ::send(c.fd, c.out.data() + c.out_at, c.out.size() - c.out_at, MSG_NOSIGNAL);
    if (n > 0) {
      c.out_at += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (c.write_started == Clock::time_point{}) c.write_started = now_;
      return;  // EPOLLOUT (edge-triggered) resumes it
    }
    return Close(c);
  }
  c.out.clear();
  c.out_at = 0;
  c.write_started = {};
  c.last_activity = now_;
  if (c.close_after_write) {
    if (c.peer_eof) return Close(c);
    ::shutdown(c.fd, SHUT_WR);  // the client sees the end of the answer; we drop what it still sends
  }
}

void EventLoop::Close(Connection& c) {
  if (c.closed) return;
  c.closed = true;
  if (c.urgent) --urgent_connections_;
  ::close(c.fd);  // also leaves the epoll set
  c.fd = -1;
  server_.connections_.fetch_sub(1);
  dead_.push_back(c.id);
}

void EventLoop::Sweep() {
  const EventLoopOptions& o = server_.options_;
  if (!listening_ && !stopping_ && now_ >= accept_paused_until_) SetListening(true);
  for (auto& [id, cp] : connections_) {
    Connection& c = *cp;
    if (c.closed) continue;
    const bool writing = c.out_at < c.out.size();
    if (writing && c.write_started != Clock::time_point{} && now_ - c.write_started > o.write_timeout) {
      Close(c);
    } else if (c.state == Connection::State::kLingering) {
      if (now_ >= c.linger_until || (c.peer_eof && !writing)) Close(c);
    } else if (c.state == Connection::State::kReading && !writing) {
      if (c.request_started != Clock::time_point{} && now_ - c.request_started > o.read_timeout) {
        Respond(c,
                ErrorResponse(408, "the request did not arrive within the read timeout (" +
                                       std::to_string(o.read_timeout.count()) + " ms; nhits serve --read-timeout-s)"),
                true);
      } else if (c.in.empty() && (stopping_ || now_ - c.last_activity > o.keep_alive_timeout)) {
        Close(c);
      }
    }
  }
}

// ---- Responder ----

Responder::~Responder() {
  if (mailbox_ != nullptr) Send(ErrorResponse(500, "internal error: the request was not answered"));
}

void Responder::Send(HttpResponse response) {
  SendLater([r = std::move(response)]() mutable { return std::move(r); });
}

void Responder::SendLater(std::function<HttpResponse()> make) {
  if (mailbox_ == nullptr) return;
  mailbox_->Post(Letter{connection_, std::move(make)});
  mailbox_.reset();
}

// ---- EventLoopServer ----

EventLoopServer::EventLoopServer(EventLoopOptions options, Handler handler)
    : options_(std::move(options)), handler_(std::move(handler)) {}

EventLoopServer::~EventLoopServer() {
  Stop();
  {
    std::lock_guard<std::mutex> lock(mu_);
    loops_.clear();
  }
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

std::vector<std::pair<int, std::uint64_t>> EventLoopServer::ResponsesByStatus() const {
  std::vector<std::pair<int, std::uint64_t>> out;
  for (std::size_t code = 100; code < responses_.size(); ++code)
    if (const std::uint64_t n = responses_[code].load(std::memory_order_relaxed)) out.emplace_back(static_cast<int>(code), n);
  return out;
}

Status EventLoopServer::Bind() {
  addrinfo hints{}, *found = nullptr;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  const std::string port = std::to_string(options_.port);
  if (const int rc = ::getaddrinfo(options_.host.c_str(), port.c_str(), &hints, &found); rc != 0)
    return Status::InvalidArgument("cannot resolve host '" + options_.host + "': " + ::gai_strerror(rc));
  std::string why;
  for (addrinfo* a = found; a != nullptr && listen_fd_ < 0; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, 4096) == 0) {
      listen_fd_ = fd;
    } else {
      why = std::strerror(errno);
      ::close(fd);
    }
  }
  ::freeaddrinfo(found);
  if (listen_fd_ < 0)
    return Status::IoError("cannot listen on " + options_.host + ":" + port + ": " + why +
                           (options_.port != 0 ? " (in use? choose another with --port, or 0 for any free port)" : ""));
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port
                                           : reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  std::lock_guard<std::mutex> lock(mu_);
  for (int i = 0; i < std::max(1, options_.loops); ++i) {
    auto loop = std::make_unique<EventLoop>(*this);
    if (Status s = loop->Init(); !s.ok()) return s;
    loops_.push_back(std::move(loop));
  }
  return Status::Ok();
}

Status EventLoopServer::Run() {
  if (listen_fd_ < 0) return Status::Internal("EventLoopServer::Run before a successful Bind");
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < loops_.size(); ++i) threads.emplace_back([loop = loops_[i].get()] { loop->Run(); });
  loops_[0]->Run();
  for (std::thread& t : threads) t.join();
  return Status::Ok();
}

void EventLoopServer::Stop() {
  stopping_ = true;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& loop : loops_) loop->Wake();
}

}  // namespace nhits::serve
