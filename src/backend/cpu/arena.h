// A bump allocator over one block reserved up front, so a forecast in steady state takes all of
// its scratch memory without touching the heap. A counting arena (no block) measures what a
// sequence of Take calls needs; the same sequence then runs on a real arena of exactly that size.
// Thread safety: none; one arena per session.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>

namespace nhits::cpu {

class Arena {
 public:
  static constexpr std::size_t kAlign = 64;  // a cache line: no buffer shares one with another

  Arena() = default;  // counting: Take returns nullptr and only adds up sizes
  explicit Arena(std::size_t bytes) : capacity_(bytes) {
    if (bytes > 0) {
      base_.reset(static_cast<std::byte*>(std::aligned_alloc(kAlign, RoundUp(bytes))));
      if (!base_) throw std::bad_alloc();
    }
  }

  static std::size_t RoundUp(std::size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

  template <typename T>
  T* Take(std::size_t count) {
    const std::size_t bytes = RoundUp(count * sizeof(T));
    std::byte* p = nullptr;
    if (base_) {
      if (used_ + bytes > capacity_)
        throw std::length_error("arena of " + std::to_string(capacity_) + " bytes asked for " +
                                std::to_string(used_ + bytes) + " (sizing bug)");
      p = base_.get() + used_;
    }
    used_ += bytes;
    if (used_ > high_water_) high_water_ = used_;
    return reinterpret_cast<T*>(p);
  }
  void Reset() { used_ = 0; }

  bool counting() const { return !base_; }
  std::size_t capacity() const { return capacity_; }
  std::size_t used() const { return used_; }
  std::size_t high_water() const { return high_water_; }

 private:
  struct Free {
    void operator()(std::byte* p) const { std::free(p); }
  };
  std::unique_ptr<std::byte, Free> base_;
  std::size_t capacity_ = 0, used_ = 0, high_water_ = 0;
};

}  // namespace nhits::cpu
