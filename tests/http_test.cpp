// The event-loop HTTP layer on its own: the incremental request-head parser (every refusal with
// its status), and an EventLoopServer on a loopback port answering from another thread, keeping
// pipelined answers in order, and cutting off a slow client.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "serve/http/event_loop_server.h"
#include "serve/http/http_parser.h"

namespace nhits::serve {
namespace {

using State = HeadParse::State;

TEST(HttpParser, ParsesAHeadOnlyOnceItIsComplete) {
  HttpRequest r;
  const std::string full =
      "POST /v2/models/m%20x/infer?a=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nX-Y:  v \r\n\r\nhello";
  for (std::size_t cut = 0; cut < full.find("\r\n\r\n") + 3; ++cut)
    EXPECT_EQ(ParseRequestHead(full.substr(0, cut), 1 << 16, &r).state, State::kIncomplete) << cut;
  const HeadParse p = ParseRequestHead(full, 1 << 16, &r);
  ASSERT_EQ(p.state, State::kComplete);
  EXPECT_EQ(p.head_bytes, full.size() - 5);
  EXPECT_EQ(p.content_length, 5u);
  EXPECT_TRUE(p.keep_alive);
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.path, "/v2/models/m%20x/infer");
  EXPECT_EQ(r.query, "a=1");
  ASSERT_NE(r.Header("x-y"), nullptr);
  EXPECT_EQ(*r.Header("x-y"), "v");
  std::string decoded;
  ASSERT_TRUE(PercentDecode("m%20x", &decoded));
  EXPECT_EQ(decoded, "m x");
  EXPECT_FALSE(PercentDecode("bad%2", &decoded));
  EXPECT_FALSE(PercentDecode("bad%zz", &decoded));
  EXPECT_FALSE(PercentDecode("bad%-1", &decoded)) << "a sign is not a hex digit";
  EXPECT_FALSE(PercentDecode("bad%+1", &decoded));
}

TEST(HttpParser, ConnectionRulesFollowTheVersion) {
  HttpRequest r;
  EXPECT_FALSE(ParseRequestHead("GET / HTTP/1.0\r\n\r\n", 1024, &r).keep_alive);
  EXPECT_TRUE(ParseRequestHead("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 1024, &r).keep_alive);
  EXPECT_FALSE(ParseRequestHead("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n", 1024, &r).keep_alive);
  EXPECT_TRUE(ParseRequestHead("GET / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n", 1024, &r).expect_continue);
}

TEST(HttpParser, RefusesWhatItDoesNotServeWithTheRightStatus) {
  HttpRequest r;
  struct Case {
    std::string head;
    int status;
  };
  for (const Case& c : {Case{"GARBAGE\r\n\r\n", 400}, Case{"GET nothing HTTP/1.1\r\n\r\n", 400},
                        Case{"GET / HTTP/2.0\r\n\r\n", 505}, Case{"GET / HTTP/1.1\r\nbad header\r\n\r\n", 400},
                        Case{"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n", 400},
                        Case{"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400},
                        Case{"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 501},
                        Case{"GET / HTTP/1.1\r\nExpect: magic\r\n\r\n", 417}}) {
    const HeadParse p = ParseRequestHead(c.head, 1024, &r);
    EXPECT_EQ(p.state, State::kError) << c.head;
    EXPECT_EQ(p.error_status, c.status) << c.head;
    EXPECT_FALSE(p.error.empty());
  }
  // Too long a head is refused before it is complete.
  const HeadParse p = ParseRequestHead("GET / HTTP/1.1\r\nX: " + std::string(2000, 'a'), 1024, &r);
  EXPECT_EQ(p.error_status, 431);
}

int Connect(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  return fd;
}

// Reads until `count` responses (by their Content-Length) or EOF.
std::string ReadResponses(int fd, int count) {
  std::string in;
  char buf[4096];
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  auto complete = [&] {
    std::size_t at = 0;
    for (int i = 0; i < count; ++i) {
      const std::size_t end = in.find("\r\n\r\n", at);
      if (end == std::string::npos) return false;
      const std::size_t cl = in.find("Content-Length: ", at);
      const std::size_t len = std::stoul(in.substr(cl + 16));
      if (in.size() < end + 4 + len) return false;
      at = end + 4 + len;
    }
    return true;
  };
  while (!complete()) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    in.append(buf, static_cast<std::size_t>(n));
  }
  return in;
}

TEST(EventLoopServer, AnswersFromAnotherThreadInOrderAndCutsOffSlowClients) {
  EventLoopOptions o;
  o.port = 0;
  o.loops = 2;
  o.read_timeout = std::chrono::milliseconds(300);
  // "/slow/N" is answered N ms later from a detached thread; anything else at once.
  EventLoopServer server(o, [](HttpRequest& req, Responder responder) {
    HttpResponse r;
    r.content_type = "text/plain";
    r.body = req.path + ":" + req.body;
    if (req.path.rfind("/slow/", 0) == 0) {
      const int ms = std::stoi(req.path.substr(6));
      std::thread([ms, r, responder = std::move(responder)]() mutable {
        std::this_thread::sleep_for(std::chrono::milliseconds(ms));
        responder.SendLater([r] { return r; });
      }).detach();
      return;
    }
    responder.Send(r);
  });
  ASSERT_TRUE(server.Bind().ok());
  std::thread loop([&] { EXPECT_TRUE(server.Run().ok()); });

  // Pipelined: the slow first answer still comes first.
  int fd = Connect(server.port());
  const std::string reqs = "POST /slow/50 HTTP/1.1\r\nContent-Length: 1\r\n\r\nA"
                           "GET /fast HTTP/1.1\r\n\r\n";
  ASSERT_EQ(::send(fd, reqs.data(), reqs.size(), 0), static_cast<ssize_t>(reqs.size()));
  const std::string out = ReadResponses(fd, 2);
  const std::size_t slow = out.find("/slow/50:A"), fast = out.find("/fast:");
  ASSERT_NE(slow, std::string::npos) << out;
  ASSERT_NE(fast, std::string::npos) << out;
  EXPECT_LT(slow, fast);
  EXPECT_EQ(server.Connections(), 1);
  ::close(fd);

  // A client that stops mid-request gets 408 after the read timeout, then the connection closes.
  fd = Connect(server.port());
  const std::string partial = "POST /x HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc";
  ::send(fd, partial.data(), partial.size(), 0);
  const auto t0 = std::chrono::steady_clock::now();
  const std::string cut = ReadResponses(fd, 1);
  EXPECT_EQ(cut.rfind("HTTP/1.1 408", 0), 0u) << cut;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
  ::close(fd);

  server.Stop();
  loop.join();
}

}  // namespace
}  // namespace nhits::serve
