#include "nhits/status.h"

namespace nhits {

std::string Status::ToString() const {
  switch (code_) {
    case Code::kOk: return "OK";
    case Code::kInvalidArgument: return "invalid argument: " + message_;
    case Code::kNotFound: return "not found: " + message_;
    case Code::kCorruption: return "corrupt: " + message_;
    case Code::kIoError: return "I/O error: " + message_;
    case Code::kUnsupported: return "unsupported: " + message_;
    case Code::kInternal: return "internal error: " + message_;
    case Code::kUnavailable: return "unavailable: " + message_;
    case Code::kDeadlineExceeded: return "deadline exceeded: " + message_;
  }
  return message_;
}

}  // namespace nhits
