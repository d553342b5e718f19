// OsMemory: the allocator's only door to the operating system — reserving aligned address
// space, giving it back, and telling the kernel that a range's contents may be dropped.
//
// Every call is counted, and a test hook makes calls fail on demand (fail_next_calls), so the
// fuzz target and the tests drive every out-of-memory path of the allocator. A failed map
// leaves nothing mapped; a failed purge leaves the range as it was; a failed unmap leaves the
// range mapped (the caller keeps it).
//
// Thread safety: every function may be called from any thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace vmmem::alloc {

struct OsCounters {
  uint64_t maps = 0;          // successful map_aligned calls
  uint64_t unmaps = 0;        // successful unmap calls
  uint64_t purges = 0;        // successful purge calls
  uint64_t failures = 0;      // calls that failed, injected or real
  uint64_t mapped_bytes = 0;  // currently mapped through this object
  friend bool operator==(const OsCounters&, const OsCounters&) = default;
};

class OsMemory {
 public:
  OsMemory() = default;
  OsMemory(const OsMemory&) = delete;
  OsMemory& operator=(const OsMemory&) = delete;

  // `size` fresh zeroed bytes at an address aligned to `alignment`, or null.
  // REQUIRES: size and alignment are multiples of the OS page size, alignment a power of two.
  void* map_aligned(size_t size, size_t alignment);
  // Unmaps what map_aligned returned (the whole mapping). False when the OS refused.
  bool unmap(void* p, size_t size);
  // The kernel may drop the contents of [p, p + size); the range stays mapped and reads back as
  // zeros. False when the OS refused (the range then keeps its contents).
  bool purge(void* p, size_t size);

  // Test hook: the next `count` calls of any kind fail as if the OS had refused them.
  void fail_next_calls(uint32_t count) { fail_budget_.store(count, std::memory_order_relaxed); }
  // Calls still set to fail.
  uint32_t pending_failures() const { return fail_budget_.load(std::memory_order_relaxed); }
  // Test hook: maps larger than `bytes` fail, as under an address-space limit (RLIMIT_AS), so a
  // test can ask for any size without mapping gigabytes.
  void set_map_limit(size_t bytes) { map_limit_.store(bytes, std::memory_order_relaxed); }

  OsCounters counters() const;
  // In a fork() child: mappings a thread the child lacks had made (or was unmapping) and had
  // not yet published are out of every list; their bytes leave the count (they stay mapped,
  // unused, for the child's lifetime).
  void forget_mapped(int64_t bytes) {
    mapped_bytes_.fetch_sub(static_cast<uint64_t>(bytes), std::memory_order_relaxed);
  }

 private:
  // True when this call must fail because of the test hook (consumes one).
  bool inject_failure();

  std::atomic<uint32_t> fail_budget_{0};
  std::atomic<size_t> map_limit_{SIZE_MAX};
  std::atomic<uint64_t> maps_{0}, unmaps_{0}, purges_{0}, failures_{0}, mapped_bytes_{0};
};

}  // namespace vmmem::alloc
