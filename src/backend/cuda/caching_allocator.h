// A caching device-memory allocator: blocks freed by the engine go back to a per-stream pool and
// are reused for the next request of the same size class, so steady-state forecasts never call
// cudaMalloc/cudaFree (each costs a device synchronisation). Size classes: multiples of 512 B
// below 1 MiB, of 2 MiB above. A memory limit is enforced before asking the device: the pools
// are emptied first, and if the request still does not fit the answer is a clear error, never an
// over-allocation. The raw allocator is an interface so the policy is tested on the host.
// Thread safety: all methods lock one mutex.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <unordered_map>

#include "nhits/status.h"

namespace nhits::cuda {

// Where the bytes come from: cudaMalloc/cudaFree on a device, malloc/free in host tests.
class RawDeviceMemory {
 public:
  virtual ~RawDeviceMemory() = default;
  virtual void* Allocate(std::size_t bytes) = 0;  // nullptr when out of memory
  virtual void Free(void* p) = 0;
};

struct AllocatorStats {
  std::size_t reserved = 0;        // bytes obtained from the raw allocator and not returned
  std::size_t in_use = 0;          // bytes of blocks handed out (size-class rounded)
  std::size_t requested = 0;       // bytes asked for by the blocks handed out
  std::size_t high_water_in_use = 0, high_water_reserved = 0;
  std::size_t cached = 0;          // reserved - in_use: free blocks kept for reuse
  std::uint64_t raw_allocations = 0, raw_frees = 0, hits = 0, misses = 0;
  double efficiency() const { return in_use ? static_cast<double>(requested) / in_use : 1.0; }
  // 1 - largest free block / all free bytes: 0 when the cache is one block (or empty).
  double fragmentation = 0;
};

using StreamId = std::uintptr_t;  // a cudaStream_t's value; 0 = the default stream

class CachingAllocator {
 public:
  CachingAllocator(RawDeviceMemory& raw, std::size_t limit_bytes) : raw_(raw), limit_(limit_bytes) {}
  ~CachingAllocator();  // returns everything to the raw allocator

  static std::size_t RoundUp(std::size_t bytes);

  // Unavailable("device memory limit ...") when the block cannot fit under the limit even after
  // emptying the cache, or when the device itself is out of memory.
  Result<void*> Allocate(std::size_t bytes, StreamId stream = 0);
  void Free(void* p);        // back to its stream's pool
  void EmptyCache();         // return every free block to the raw allocator
  AllocatorStats stats() const;

 private:
  struct Block {
    std::size_t size = 0, requested = 0;
    StreamId stream = 0;
  };
  void EmptyCacheLocked();

  RawDeviceMemory& raw_;
  std::size_t limit_;
  mutable std::mutex mu_;
  std::unordered_map<void*, Block> live_;                              // handed out
  std::map<std::pair<StreamId, std::size_t>, std::multimap<int, void*>> free_;  // (stream, size) -> blocks
  std::unordered_map<void*, Block> free_blocks_;
  AllocatorStats stats_;
};

}  // namespace nhits::cuda
