// HttpRequest / HttpResponse: what the event-loop front end hands to the route handlers and
// takes back. Header names are stored lower-cased (HTTP names are case-insensitive).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nhits::serve {

struct HttpRequest {
  std::string method;
  std::string path;   // the target without its query string, still percent-encoded
  std::string query;  // after '?', or empty
  int minor_version = 1;  // HTTP/1.<minor>
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Set by the handler once it knows (0: none): the event loop serves connections whose last
  // request had priority 1 ahead of the rest.
  int priority = 0;

  // The value of a header (name in lower case), or null.
  const std::string* Header(std::string_view lower_name) const {
    for (const auto& [k, v] : headers)
      if (k == lower_name) return &v;
    return nullptr;
  }
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // besides Content-Type/-Length/Connection
  std::string body;
};

// "OK", "Not Found", ... for the status line.
const char* ReasonPhrase(int status);

}  // namespace nhits::serve
