#include "alloc/os_memory.h"

#include "alloc/sanitizer.h"

#include <sys/mman.h>

#include <cstdint>

namespace vmmem::alloc {

bool OsMemory::inject_failure() {
  uint32_t budget = fail_budget_.load(std::memory_order_relaxed);
  while (budget != 0) {
    if (fail_budget_.compare_exchange_weak(budget, budget - 1, std::memory_order_relaxed)) {
      failures_.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
  }
  return false;
}

void* OsMemory::map_aligned(size_t size, size_t alignment) {
  if (inject_failure()) return nullptr;
  // Over-reserve by the alignment, then trim both ends: one mmap and up to two munmaps, and the
  // result is exactly [aligned, aligned + size).
  const size_t reserve = size + alignment;
  if (reserve < size || size > map_limit_.load(std::memory_order_relaxed)) {
    failures_.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  void* raw = mmap(nullptr, reserve, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (raw == MAP_FAILED) {
    failures_.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  const uintptr_t start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = (start + alignment - 1) & ~(uintptr_t{alignment} - 1);
  const size_t head = aligned - start;
  const size_t tail = reserve - head - size;
  if (head != 0) munmap(raw, head);
  if (tail != 0) munmap(reinterpret_cast<void*>(aligned + size), tail);
  maps_.fetch_add(1, std::memory_order_relaxed);
  mapped_bytes_.fetch_add(size, std::memory_order_relaxed);
  // ASan keeps shadow state across munmap: whatever an earlier mapping here left poisoned
  // would still be poisoned in this fresh one.
  unpoison(reinterpret_cast<void*>(aligned), size);
  return reinterpret_cast<void*>(aligned);
}

bool OsMemory::unmap(void* p, size_t size) {
  if (inject_failure()) return false;
  if (munmap(p, size) != 0) {
    failures_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  // ASan's shadow outlives the mapping: left poisoned, the range would stay poisoned for
  // whatever maps there next, a thread's stack included.
  unpoison(p, size);
  unmaps_.fetch_add(1, std::memory_order_relaxed);
  mapped_bytes_.fetch_sub(size, std::memory_order_relaxed);
  return true;
}

bool OsMemory::purge(void* p, size_t size) {
  if (inject_failure()) return false;
  // MADV_DONTNEED on private anonymous memory: the pages go back to the kernel now and read as
  // zeros afterwards, which is what lets a purged span skip the memset of a zeroed allocation.
  if (madvise(p, size, MADV_DONTNEED) != 0) {
    failures_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  purges_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

OsCounters OsMemory::counters() const {
  return {.maps = maps_.load(std::memory_order_relaxed),
          .unmaps = unmaps_.load(std::memory_order_relaxed),
          .purges = purges_.load(std::memory_order_relaxed),
          .failures = failures_.load(std::memory_order_relaxed),
          .mapped_bytes = mapped_bytes_.load(std::memory_order_relaxed)};
}

}  // namespace vmmem::alloc
