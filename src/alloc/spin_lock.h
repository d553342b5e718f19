// SpinLock: a test-and-test-and-set lock for short critical sections on slow paths (segment
// lists, the heap pool, object pools). It allocates nothing and is constant-initialized, so it
// may guard state used before main() and inside a malloc replacement, where std::mutex's
// possible allocations or futex waits would not fit.
#pragma once

#include <atomic>
#include <thread>

namespace vmmem::alloc {

class SpinLock {
 public:
  void lock() {
    for (unsigned spins = 0;; ++spins) {
      if (!locked_.exchange(true, std::memory_order_acquire)) return;
      while (locked_.load(std::memory_order_relaxed)) {
        if (++spins > 64) {
          std::this_thread::yield();
          spins = 0;
        } else {
#if defined(__x86_64__) || defined(__i386__)
          __builtin_ia32_pause();
#endif
        }
      }
    }
  }
  bool try_lock() {
    return !locked_.exchange(true, std::memory_order_acquire);
  }
  void unlock() {
    locked_.store(false, std::memory_order_release);
  }

 private:
  std::atomic<bool> locked_{false};
};

}  // namespace vmmem::alloc
