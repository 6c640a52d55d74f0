#include "serve/hash128.h"

#include <cstring>

namespace nhits::serve {
namespace {

constexpr std::uint64_t Rotl(std::uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

constexpr std::uint64_t Avalanche(std::uint64_t x) {  // splitmix64's finaliser
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

Hash128 HashBytes(const void* data, std::size_t size) {
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint64_t a = 0x243f6a8885a308d3ULL ^ size, b = 0x13198a2e03707344ULL + size;
  std::size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, p + i, 8);
    a = Rotl((a ^ w) * 0x9e3779b97f4a7c15ULL, 29);
    b = Rotl(b + w * 0xc2b2ae3d27d4eb4fULL, 31) * 0x165667b19e3779f9ULL;
  }
  std::uint64_t tail = 0;
  std::memcpy(&tail, p + i, size - i);
  a = Rotl((a ^ tail) * 0x9e3779b97f4a7c15ULL, 29);
  b = Rotl(b + tail * 0xc2b2ae3d27d4eb4fULL, 31) * 0x165667b19e3779f9ULL;
  return {Avalanche(a ^ Rotl(b, 17)), Avalanche(b ^ Rotl(a, 43))};
}

}  // namespace nhits::serve
