// A 128-bit hash of a byte string, for the forecast cache's keys. Two independent 64-bit lanes
// of multiply-rotate mixing over 8-byte words, finished with splitmix64's avalanche. Not
// cryptographic: the cache verifies the input bytes on every hit, so a collision costs a miss,
// never a wrong forecast.
#pragma once

#include <cstddef>
#include <cstdint>

namespace nhits::serve {

struct Hash128 {
  std::uint64_t lo = 0, hi = 0;
  bool operator==(const Hash128&) const = default;
};

Hash128 HashBytes(const void* data, std::size_t size);

}  // namespace nhits::serve
