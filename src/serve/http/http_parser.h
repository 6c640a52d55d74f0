// Incremental HTTP/1.x request-head parsing for the event loop: called again as bytes arrive
// until the head (request line + headers + blank line) is complete. The body is then read by
// Content-Length; chunked request bodies are refused (every client we serve sends a length).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "serve/http/http_message.h"

namespace nhits::serve {

struct HeadParse {
  enum class State { kIncomplete, kComplete, kError } state = State::kIncomplete;
  std::size_t head_bytes = 0;      // kComplete: bytes up to and including the blank line
  std::size_t content_length = 0;  // kComplete
  bool keep_alive = true;          // kComplete: HTTP/1.1 default, "Connection: close", HTTP/1.0 rules
  bool expect_continue = false;    // kComplete: "Expect: 100-continue"
  int error_status = 0;            // kError: 400, 431, 501, 505
  std::string error;               // kError: why, for the client
};

// Parses the head at the start of `buffer` into `request` (method, path, query, version,
// headers). A head longer than max_head_bytes is an error (431) even while incomplete.
HeadParse ParseRequestHead(std::string_view buffer, std::size_t max_head_bytes, HttpRequest* request);

// Decodes %XX escapes in one path segment; false if an escape is malformed.
bool PercentDecode(std::string_view in, std::string* out);

}  // namespace nhits::serve
