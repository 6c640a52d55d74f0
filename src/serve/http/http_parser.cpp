#include "serve/http/http_parser.h"

#include <cctype>
#include <charconv>

namespace nhits::serve {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos))
      return false;
  return true;
}

// True if the comma-separated header value holds `token` (case-insensitive).
bool HasToken(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    const std::size_t comma = value.find(',');
    if (Lower(Trim(value.substr(0, comma))) == token) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

HeadParse Error(int status, std::string why) {
  HeadParse p;
  p.state = HeadParse::State::kError;
  p.error_status = status;
  p.error = std::move(why);
  return p;
}

}  // namespace

HeadParse ParseRequestHead(std::string_view buffer, std::size_t max_head_bytes, HttpRequest* request) {
  // Clients may send empty lines between requests (RFC 9112 2.2): skip them.
  std::size_t start = 0;
  while (start + 1 < buffer.size() && buffer[start] == '\r' && buffer[start + 1] == '\n') start += 2;
  const std::size_t end = buffer.find("\r\n\r\n", start);
  if (end == std::string_view::npos) {
    if (buffer.size() > max_head_bytes)
      return Error(431, "request head larger than " + std::to_string(max_head_bytes) + " bytes");
    return {};
  }
  if (end + 4 > max_head_bytes) return Error(431, "request head larger than " + std::to_string(max_head_bytes) + " bytes");
  std::string_view head = buffer.substr(start, end - start);

  const std::size_t line_end = head.find("\r\n");
  std::string_view line = head.substr(0, line_end);
  const std::size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) return Error(400, "malformed request line");
  const std::string_view method = line.substr(0, sp1), target = line.substr(sp1 + 1, sp2 - sp1 - 1),
                         version = line.substr(sp2 + 1);
  if (!IsToken(method)) return Error(400, "malformed request method");
  if (target.empty() || target.front() != '/') return Error(400, "request target must be an absolute path");
  if (version.size() != 8 || version.substr(0, 7) != "HTTP/1." || !std::isdigit(static_cast<unsigned char>(version[7])))
    return Error(505, "only HTTP/1.0 and HTTP/1.1 are served");

  request->method.assign(method);
  const std::size_t q = target.find('?');
  request->path.assign(target.substr(0, q));
  request->query.assign(q == std::string_view::npos ? std::string_view() : target.substr(q + 1));
  request->minor_version = version[7] - '0';
  request->headers.clear();
  request->body.clear();

  HeadParse out;
  out.keep_alive = request->minor_version >= 1;
  bool have_length = false;
  std::string_view rest = line_end == std::string_view::npos ? std::string_view() : head.substr(line_end + 2);
  while (!rest.empty()) {
    const std::size_t eol = rest.find("\r\n");
    const std::string_view field = rest.substr(0, eol);
    rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 2);
    const std::size_t colon = field.find(':');
    if (colon == std::string_view::npos || !IsToken(field.substr(0, colon)))
      return Error(400, "malformed header line '" + std::string(field.substr(0, 80)) + "'");
    std::string name = Lower(field.substr(0, colon));
    const std::string_view value = Trim(field.substr(colon + 1));
    if (name == "content-length") {
      std::size_t n = 0;
      const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || ptr != value.data() + value.size() || value.empty())
        return Error(400, "Content-Length '" + std::string(value.substr(0, 40)) + "' is not a number");
      if (have_length && n != out.content_length) return Error(400, "conflicting Content-Length headers");
      have_length = true;
      out.content_length = n;
    } else if (name == "transfer-encoding") {
      return Error(501, "Transfer-Encoding '" + std::string(value.substr(0, 40)) +
                            "' is not supported for requests; send the body with Content-Length");
    } else if (name == "content-encoding" && Lower(value) != "identity") {
      // tritonclient's request_compression_algorithm: say so rather than fail on a binary body.
      return Error(415, "Content-Encoding '" + std::string(value.substr(0, 40)) +
                            "' is not supported; send the body uncompressed (tritonclient: no request_compression_algorithm)");
    } else if (name == "connection") {
      if (HasToken(value, "close")) out.keep_alive = false;
      if (HasToken(value, "keep-alive")) out.keep_alive = true;
    } else if (name == "expect") {
      if (Lower(value) != "100-continue") return Error(417, "only 'Expect: 100-continue' is supported");
      out.expect_continue = request->minor_version >= 1;
    }
    request->headers.emplace_back(std::move(name), std::string(value));
  }
  out.state = HeadParse::State::kComplete;
  out.head_bytes = end + 4;
  return out;
}

bool PercentDecode(std::string_view in, std::string* out) {
  out->clear();
  out->reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out->push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    unsigned v = 0;  // unsigned: from_chars takes a '-' sign for int, so "%-1" would decode
    const auto [ptr, ec] = std::from_chars(in.data() + i + 1, in.data() + i + 3, v, 16);
    if (ec != std::errc() || ptr != in.data() + i + 3) return false;
    out->push_back(static_cast<char>(v));
    i += 2;
  }
  return true;
}

}  // namespace nhits::serve
